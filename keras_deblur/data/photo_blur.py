"""Motion blur synthesised from one sharp photograph, in the spirit of how GOPRO was made.

GOPRO (paper section 2) averages 7-13 consecutive frames of a 240 fps video in linear light and
re-applies the camera response; the sharp target is the middle frame. Here the frames are
simulated, finely enough that a long blur is a smooth streak rather than a few ghosts:

1. Camera shake: a smooth random hand-held trajectory — translation, in-plane rotation about the
   image centre and a little zoom — sampled at `num_subframes(...)` instants, centred on the middle
   one. Rotation and zoom make the blur vary across the frame. Path lengths are drawn from
   `blur_length` (fractions of the image side: from nearly sharp to tens of pixels, as in GOPRO).
   By default each instant is a camera frame (an instantaneous shutter) and the sharp target is
   the middle instant. With `camera_frames`, the instants are grouped into N consecutive camera
   frames (N odd, e.g. GOPRO's 7-13), each integrating its share of the exposure, as the paper
   describes its data: averaging 15 frames "simulates a photo taken at 1/16 shutter speed, while
   corresponding sharp image shutter speed is 1/240" (section 2). The sharp target is then the
   middle camera frame and keeps 1/N of the blur. (Measured on real GOPRO frames, such targets
   teach a model to deblur less than it should: BUILD.md, stage 4 try h.)
2. Dynamic scene: 0-2 foreground layers (a patch of another photo, or of the same one, with a soft
   irregular matte) moving on their own trajectory over the camera's view, composited per instant,
   so occlusions change during the exposure.
3. Light: the photo is taken to linear light (x ** gamma), optionally softened as a lens and a
   demosaicing sensor soften every frame (`optics_blur`), multiplied by an exposure gain so that
   highlights exceed the sensor's range, averaged over the instants, and only then clipped — a
   bright light moving leaves a saturated streak, as in real blur. Then shot and read noise, the
   camera response (x ** (1 / gamma)), 8-bit quantisation and, sometimes, JPEG compression.

`blur_gamma` is that realistic frame; `blur` averages the camera-response-encoded camera frames
instead (GOPRO's plain average); both get the same noise and compression. Everything is NumPy and
seeded.
"""

import dataclasses
import io
from typing import Optional

import numpy as np
import scipy.ndimage
from PIL import Image

from keras_deblur.data.blur_math import (
    DEFAULT_GAMMA,
    check_optics_blur,
    odd_frame_counts,
    to_uint8,
)
from keras_deblur.data.scene_rendering import RenderedPair, sample_bilinear

MAX_STEP_PX = 0.5  # at most this far between consecutive instants, so streaks are smooth


@dataclasses.dataclass(frozen=True)
class PhotoBlurConfig:
    """How a photograph is blurred. Lengths are fractions of the output side."""

    size: int = 256
    gamma: float = DEFAULT_GAMMA
    # The camera's path during the exposure, drawn as low + (high - low) * u^length_skew (u
    # uniform): most photos a little blurred, some a lot. (Uniform lengths up to 0.15 made the main
    # job's model 0.23 dB worse on the real-dev frames: BUILD.md.)
    blur_length: tuple = (0.005, 0.12)
    length_skew: float = 2.0
    rotation: float = 0.02  # radians, at most, over the exposure
    zoom: float = 0.02  # relative change of scale, at most, over the exposure
    num_objects: tuple = (0, 2)
    object_motion: tuple = (0.02, 0.12)
    object_size: tuple = (0.12, 0.3)  # half-extent of a foreground layer
    photo_scale: tuple = (0.35, 1.0)  # the photo is resized by this before cropping
    exposure: tuple = (1.0, 1.8)  # linear gain: above 1, highlights saturate
    read_noise: tuple = (0.0, 0.004)  # standard deviation in linear light
    shot_noise: tuple = (0.0, 0.0004)  # variance per unit of linear signal
    # The lens and the sensor's demosaicing soften every frame a camera records, the sharp one too:
    # a Gaussian of this standard deviation in output pixels, drawn per pair, applied to the photo
    # in linear light before the motion (it commutes with the camera's shifts and turns). (0, 0):
    # the photo's own pixels, the default: with 0.3-0.7 px, 1,552 pairs taught a model more for
    # one real GOPRO frame, but the main job's model gained 0.25 dB less on another and 0.03 dB
    # less on the real frames' mean, in two runs (BUILD.md, stage 4 try l and "The main job").
    optics_blur: tuple = (0.0, 0.0)
    jpeg_probability: float = 0.3
    jpeg_quality: tuple = (80, 95)
    max_subframes: int = 160
    # How many camera frames the exposure spans, (fewest, most); odd counts between them are drawn,
    # so that there is a middle frame (the sharp target); each frame then integrates an odd number
    # of instants, which may take the count a little past max_subframes. None: a camera with an
    # instantaneous shutter, whose frames are the instants themselves (no blur in the target).
    camera_frames: Optional[tuple] = None

    def __post_init__(self):
        if self.size < 16:
            raise ValueError(f"size must be >= 16 pixels, got {self.size}")
        if not 0 <= self.blur_length[0] <= self.blur_length[1]:
            raise ValueError(f"blur_length must be 0 <= low <= high, got {self.blur_length}")
        if self.camera_frames is not None:
            odd_frame_counts(self.camera_frames, "camera_frames")
        check_optics_blur(self.optics_blur, "optics_blur")


def _uniform(rng, bounds):
    return float(rng.uniform(*bounds))


def smooth_path(rng, count):
    """A smooth random 2-D path of `count` points, centred on its middle point, of length 1.

    A random walk whose velocity turns slowly (hand shake has momentum), so the path curves rather
    than zig-zags; straight-ish and curved paths both occur.
    """
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.normal(0.0, rng.uniform(0.0, 0.25), count)
    angles = heading + np.cumsum(turn)
    steps = np.stack([np.cos(angles), np.sin(angles)], axis=-1) * rng.uniform(0.5, 1.0, (count, 1))
    path = np.concatenate([np.zeros((1, 2)), np.cumsum(steps[:-1], axis=0)])
    length = np.sum(np.linalg.norm(np.diff(path, axis=0), axis=-1))
    path = path / max(length, 1e-9)
    return path - path[count // 2]


def num_subframes(largest_travel_px, config):
    """Instants to average: enough that nothing moves more than MAX_STEP_PX between two."""
    return int(np.clip(np.ceil(largest_travel_px / MAX_STEP_PX) + 1, 7, config.max_subframes)) | 1


def _soft_matte(rng, side):
    """[side, side] alpha of an irregular blob with a feathered edge (1 inside, 0 outside)."""
    grid = (np.arange(side) + 0.5) / side * 2 - 1
    ys, xs = np.meshgrid(grid, grid, indexing="ij")
    angle = np.arctan2(ys, xs)
    radius = np.hypot(ys * rng.uniform(0.7, 1.3), xs)
    wobble = sum(
        rng.uniform(0, 0.12) * np.cos(k * angle + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5)
    )
    edge = 0.85 + wobble
    feather = rng.uniform(0.03, 0.12)
    return np.clip((edge - radius) / feather, 0.0, 1.0).astype(np.float32)


class _Layer:
    """A foreground patch (linear light) with its matte, moving over the frame."""

    def __init__(self, rng, linear_photo, config, travel_px, count):
        side = config.size
        half = max(4, int(_uniform(rng, config.object_size) * side))
        height, width = linear_photo.shape[:2]
        top = rng.integers(0, max(height - 2 * half, 1))
        left = rng.integers(0, max(width - 2 * half, 1))
        self.patch = linear_photo[top : top + 2 * half, left : left + 2 * half]
        self.alpha = _soft_matte(rng, self.patch.shape[0])[
            : self.patch.shape[0], : self.patch.shape[1]
        ]
        # On a whole pixel, so that at the middle instant (no travel, no spin) the layer too is
        # its patch's own pixels in the sharp target.
        self.centre = np.round(rng.uniform(0.15, 0.85, 2) * side)
        self.path = smooth_path(rng, count) * travel_px
        self.spin = np.linspace(-0.5, 0.5, count) * rng.uniform(-0.3, 0.3)

    def over(self, frame, moved, instant, ys, xs):
        """Composites the layer at `instant` over `frame` (linear light), in place, and marks in
        `moved` the pixels it covers.

        Only the box the rotated patch can reach is sampled: outside it alpha is exactly 0, so the
        frame is the same, and a small layer costs its own area rather than the frame's."""
        cy, cx = self.centre + self.path[instant]
        cos, sin = np.cos(self.spin[instant]), np.sin(self.spin[instant])
        half_h, half_w = self.patch.shape[0] / 2, self.patch.shape[1] / 2
        reach = np.hypot(half_h, half_w) + 1
        rows = slice(max(0, int(cy - reach)), max(0, int(np.ceil(cy + reach)) + 1))
        cols = slice(max(0, int(cx - reach)), max(0, int(np.ceil(cx + reach)) + 1))
        ys, xs = ys[rows, cols], xs[rows, cols]
        if ys.size == 0:
            return
        local_y = cos * (ys - cy) + sin * (xs - cx) + half_h
        local_x = -sin * (ys - cy) + cos * (xs - cx) + half_w
        inside = (
            (local_y >= 0)
            & (local_y <= 2 * half_h - 1)
            & (local_x >= 0)
            & (local_x <= 2 * half_w - 1)
        )
        alpha = sample_bilinear(self.alpha[..., None], local_y, local_x) * inside[..., None]
        colour = sample_bilinear(self.patch, local_y, local_x)
        box = frame[rows, cols]
        box *= 1 - alpha
        box += alpha * colour
        moved[rows, cols] |= alpha[..., 0] > 0.01


def _scaled(photo, scale):
    height, width = photo.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(photo).resize(size, Image.LANCZOS))


def _jpeg(pixels, quality):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(buffer).convert("RGB"))


def render_photo_pair(rng, photo, config=PhotoBlurConfig(), layer_photo=None):
    """Blurs a crop of `photo` ([H, W, 3] uint8, sharp) by simulated camera shake and moving layers.

    `layer_photo` is where foreground layers are cut from (default: `photo`). The photo must be at
    least `config.size` pixels on its shorter side after scaling; smaller ones are scaled up.
    Returns a `scene_rendering.RenderedPair` (num_frames: the instants averaged).
    """
    side = config.size
    low, high = config.blur_length
    length = (low + (high - low) * rng.random() ** config.length_skew) * side
    rotation = rng.uniform(-1, 1) * config.rotation
    zoom = rng.uniform(-1, 1) * config.zoom
    # How far the frame's corners travel bounds the margin the crop needs around it.
    camera_travel = length + abs(rotation) * side * 0.71 + abs(zoom) * side * 0.71
    margin = int(np.ceil(camera_travel)) + 2
    scale = _uniform(rng, config.photo_scale)
    scale = max(scale, (side + 2 * margin) / min(photo.shape[:2]))
    source = _scaled(photo, scale)
    if rng.random() < 0.5:
        source = source[:, ::-1]
    linear = (source.astype(np.float32) / 255.0) ** config.gamma
    height, width = linear.shape[:2]
    top = rng.integers(0, height - side - 2 * margin + 1)
    left = rng.integers(0, width - side - 2 * margin + 1)
    # The crop's centre in the photo's pixel coordinates (integers are pixel centres, as in
    # sample_bilinear), so that the middle instant samples the photo's own pixels: half a pixel
    # off, bilinear sampling would average 2x2 pixels and soften every sharp target.
    centre = np.array([top + margin + (side - 1) / 2, left + margin + (side - 1) / 2])

    if layer_photo is None:
        layers_source = linear
    else:
        layer_scale = _uniform(rng, config.photo_scale)
        layers_source = (
            _scaled(layer_photo, layer_scale).astype(np.float32) / 255.0
        ) ** config.gamma
    if config.optics_blur[1] > 0:  # no draw when off, so that other settings keep their pixels
        sigma = _uniform(rng, config.optics_blur)
        soften = lambda image: scipy.ndimage.gaussian_filter(image, (sigma, sigma, 0))  # noqa: E731
        # Layers cut from the photo itself share its softened copy instead of filtering it again.
        shares_photo = layers_source is linear
        linear = soften(linear)
        layers_source = linear if shares_photo else soften(layers_source)
    num_layers = int(rng.integers(config.num_objects[0], config.num_objects[1] + 1))
    travels = [_uniform(rng, config.object_motion) * side for _ in range(num_layers)]
    # Each camera frame integrates an odd number of instants, so the middle frame is centred on
    # the middle instant.
    count = num_subframes(max([camera_travel, *travels]), config)
    if config.camera_frames is None:
        frames, per_frame = count, 1
    else:
        frames = int(rng.choice(odd_frame_counts(config.camera_frames, "camera_frames")))
        per_frame = max(1, -(-count // frames)) | 1
        count = frames * per_frame
    layers = [_Layer(rng, layers_source, config, travel, count) for travel in travels]
    path = smooth_path(rng, count) * length
    t = np.linspace(-0.5, 0.5, count)
    angles, scales = rotation * t, 1.0 + zoom * t

    grid = np.arange(side, dtype=np.float32) - (side - 1) / 2
    ys, xs = np.meshgrid(grid, grid, indexing="ij")
    out_ys, out_xs = ys + (side - 1) / 2, xs + (side - 1) / 2
    exposure = _uniform(rng, config.exposure)
    encode = lambda linear_light: linear_light ** (1.0 / config.gamma)  # noqa: E731 (the camera response)
    linear_sum = np.zeros((side, side, 3), np.float64)
    frame_sum = np.zeros((side, side, 3), np.float64)
    encoded_sum = np.zeros((side, side, 3), np.float64)
    moved = np.zeros((side, side), bool)
    for instant in range(count):
        cos, sin = np.cos(angles[instant]), np.sin(angles[instant])
        src_y = centre[0] + path[instant, 0] + scales[instant] * (cos * ys - sin * xs)
        src_x = centre[1] + path[instant, 1] + scales[instant] * (sin * ys + cos * xs)
        frame = sample_bilinear(linear, src_y, src_x)
        for layer in layers:
            layer.over(frame, moved, instant, out_ys, out_xs)
        frame_sum += frame * exposure
        if instant % per_frame == per_frame - 1:
            # One camera frame, as the sensor records it: integrated, then clipped.
            linear_sum += frame_sum
            camera_frame = np.clip(frame_sum / per_frame, 0.0, 1.0)
            encoded_sum += encode(camera_frame)
            if instant // per_frame == frames // 2:
                sharp_linear = camera_frame
            frame_sum[:] = 0.0
    # Clipped after averaging: a highlight above the sensor's range stays saturated in its streak.
    blur_linear = np.clip(linear_sum / count, 0.0, 1.0)
    read, shot = _uniform(rng, config.read_noise), _uniform(rng, config.shot_noise)
    noise = rng.standard_normal(blur_linear.shape)
    noisy = np.clip(blur_linear + noise * np.sqrt(read**2 + shot * blur_linear), 0.0, 1.0)
    blur_gamma = to_uint8(encode(noisy))
    # The same noise, as it shows after the camera response, on GOPRO's plain average.
    blur = to_uint8(encoded_sum / frames + encode(noisy) - encode(blur_linear))
    if rng.random() < config.jpeg_probability:
        quality = rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1)
        blur_gamma, blur = _jpeg(blur_gamma, quality), _jpeg(blur, quality)
    sharp = to_uint8(encode(sharp_linear))
    return RenderedPair(sharp, blur, blur_gamma, count, float(moved.mean()))
