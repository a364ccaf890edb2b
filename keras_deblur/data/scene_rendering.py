"""Procedurally rendered high-speed scenes: the embedded dataset for machines without GOPRO.

A scene is a textured background seen by a shaking camera, with a few textured objects that move on
their own, rendered as M consecutive sharp frames of a fast video (8-bit, as a camera stores them)
and blurred by exactly the paper's synthesis (`blur_math.synthesize_blur`). The sharp target is
the middle frame. Because objects move differently from the camera, the blur is non-uniform, as in
the dynamic scenes of GOPRO.

Backgrounds are fractal value noise in random palettes with hard-edged shapes on top (edges are what
blur destroys), or a photograph that matplotlib installs with itself (its sample data), cropped and
scaled at random. Everything is NumPy and seeded: the same seed gives the same pixels.
"""

import dataclasses
import math
import os
from typing import Optional

import numpy as np

from keras_deblur.data.blur_math import (
    DEFAULT_GAMMA,
    check_optics_blur,
    middle_index,
    odd_frame_counts,
    synthesize_blur,
)

_PHOTO_NAMES = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")

# The version of the pixels that a seed and a SceneConfig give, here and in photo_blur.py: bump it
# whenever they change (tests/data/test_scenes.py pins them). data.scenes records it in a dataset's
# settings, so that a render by another version is never resumed into the same folder, and so that
# a recorded command says which renderer made it. 1: up to commit 7edf4f0 (sharp targets half a
# pixel off the photos' pixels); 2: a91ba64 (the middle frame at the canvas's own pixels); 3: from
# c693cd9 (a photo pair's moving layers centred on whole pixels too).
RENDERER_VERSION = 3


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """How scenes are rendered. Motion lengths are in fractions of the image side."""

    size: int = 256
    min_frames: int = 7
    max_frames: int = 13
    gamma: float = DEFAULT_GAMMA
    camera_motion: tuple = (0.015, 0.07)  # camera travel during the exposure
    camera_rotation: float = 0.03  # radians, at most, during the exposure
    object_motion: tuple = (0.03, 0.12)  # each object's own travel during the exposure
    num_objects: tuple = (1, 3)
    object_size: tuple = (0.12, 0.28)  # half-extent of an object
    photo_probability: float = 0.3  # of a procedural scene's background being a photo
    # Of a pair being a photo blurred by simulated camera shake (photo_blur.py, scenes.py), from
    # --photos_dir or, when empty, the photos installed packages ship (photo_sources.py).
    photo_blur_probability: float = 0.6
    photos_dir: str = ""
    # The longest camera path of those photo pairs, a fraction of the side; None: PhotoBlurConfig's.
    photo_max_blur: Optional[float] = None
    # How those paths' lengths are skewed towards the shortest (PhotoBlurConfig.length_skew; 1 is
    # uniform); None: PhotoBlurConfig's.
    photo_blur_skew: Optional[float] = None
    # How many foreground layers move over a photo pair, (fewest, most), and their half-extent as
    # (smallest, largest) fractions of the side: many small ones make a crowd or foliage in the
    # wind, each blurred its own way. None: PhotoBlurConfig's.
    photo_num_objects: Optional[tuple] = None
    photo_object_size: Optional[tuple] = None
    # How many camera frames a photo pair's exposure spans, (fewest, most); None: PhotoBlurConfig's
    # (an instantaneous shutter). BUILD.md, stage 4 try h, measures what it does.
    photo_camera_frames: Optional[tuple] = None
    # LOW,HIGH standard deviation in pixels of the lens's and sensor's softness on a photo pair's
    # frames (PhotoBlurConfig.optics_blur); None: PhotoBlurConfig's (none).
    photo_optics_blur: Optional[tuple] = None

    def __post_init__(self):
        for name in ("photo_probability", "photo_blur_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.photo_camera_frames is not None:
            odd_frame_counts(self.photo_camera_frames, "photo_camera_frames")
        if self.photo_optics_blur is not None:
            check_optics_blur(self.photo_optics_blur, "photo_optics_blur")
        if (
            self.photo_num_objects is not None
            and not 0 <= self.photo_num_objects[0] <= self.photo_num_objects[1]
        ):
            raise ValueError(
                f"photo_num_objects must be 0 <= fewest <= most, got {self.photo_num_objects}"
            )
        if (
            self.photo_object_size is not None
            and not 0 < self.photo_object_size[0] <= self.photo_object_size[1] <= 0.5
        ):
            raise ValueError(
                "photo_object_size must be 0 < smallest <= largest <= 0.5, got "
                f"{self.photo_object_size}"
            )
        if self.photo_blur_skew is not None and not self.photo_blur_skew > 0:
            raise ValueError(f"photo_blur_skew must be > 0, got {self.photo_blur_skew}")
        if self.photo_max_blur is not None and not 0 < self.photo_max_blur <= 0.5:
            raise ValueError(f"photo_max_blur must be in (0, 0.5], got {self.photo_max_blur}")
        if self.size < 16:
            raise ValueError(f"size must be >= 16 pixels, got {self.size}")
        if not 0 < self.gamma < math.inf:  # before anything is rendered or written
            raise ValueError(f"gamma must be > 0, got {self.gamma}")
        if not 1 <= self.min_frames <= self.max_frames:
            raise ValueError(
                "need 1 <= min_frames <= max_frames, got "
                f"min_frames={self.min_frames}, max_frames={self.max_frames}"
            )


@dataclasses.dataclass(frozen=True)
class RenderedPair:
    sharp: np.ndarray  # [H, W, 3] uint8, the middle frame
    blur: np.ndarray  # linear average of the frames (gamma = 1), uint8
    blur_gamma: np.ndarray  # the paper's average with the camera response, uint8
    num_frames: int
    object_fraction: float  # share of pixels that some moving object covers during the exposure


def sample_bilinear(texture, ys, xs):
    """Samples an [H, W, C] texture at float pixel coordinates, clamping at the border."""
    height, width = texture.shape[:2]
    ys = np.clip(ys, 0.0, height - 1.0)
    xs = np.clip(xs, 0.0, width - 1.0)
    y0 = np.minimum(np.floor(ys).astype(np.int32), height - 2 if height > 1 else 0)
    x0 = np.minimum(np.floor(xs).astype(np.int32), width - 2 if width > 1 else 0)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    top = texture[y0, x0] * (1 - fx) + texture[y0, x1] * fx
    bottom = texture[y1, x0] * (1 - fx) + texture[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _value_noise(rng, height, width, octaves=5):
    """Fractal value noise in [0, 1]: smooth random grids of doubling detail, halving weight."""
    noise = np.zeros((height, width), np.float32)
    total = 0.0
    for octave in range(octaves):
        cells = 3 * 2**octave
        grid = rng.random((cells + 1, cells + 1)).astype(np.float32)[..., None]
        ys = np.linspace(0, cells, height, dtype=np.float32)[:, None] * np.ones(
            (1, width), np.float32
        )
        xs = np.linspace(0, cells, width, dtype=np.float32)[None, :] * np.ones(
            (height, 1), np.float32
        )
        # Smoothstep the fractional positions so the noise has no visible grid creases.
        fy, fx = ys - np.floor(ys), xs - np.floor(xs)
        ys = np.floor(ys) + fy * fy * (3 - 2 * fy)
        xs = np.floor(xs) + fx * fx * (3 - 2 * fx)
        weight = 0.5**octave
        noise += weight * sample_bilinear(grid, ys, xs)[..., 0]
        total += weight
    return noise / total


def _palette_texture(rng, height, width):
    """Colour noise: noise values mapped through a random three-colour palette, shaded by more
    noise."""
    colours = rng.random((3, 3)).astype(np.float32)
    t = _value_noise(rng, height, width)[..., None]
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    low = colours[0] * (1 - 2 * t) + colours[1] * (2 * t)
    high = colours[1] * (2 - 2 * t) + colours[2] * (2 * t - 1)
    texture = np.where(t < 0.5, low, high)
    shade = 0.6 + 0.4 * _value_noise(rng, height, width, octaves=3)[..., None]
    return texture * shade


def _draw_shapes(rng, texture, count):
    """Draws hard-edged rectangles, discs and stripes: the edges that motion blur smears."""
    height, width = texture.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for _ in range(count):
        colour = rng.random(3).astype(np.float32)
        cy, cx = rng.random() * height, rng.random() * width
        extent = (0.02 + 0.12 * rng.random()) * min(height, width)
        kind = rng.integers(3)
        if kind == 0:
            aspect = 0.3 + 1.4 * rng.random()
            mask = (np.abs(ys - cy) < extent * aspect) & (np.abs(xs - cx) < extent)
        elif kind == 1:
            mask = (ys - cy) ** 2 + (xs - cx) ** 2 < extent**2
        else:
            angle = rng.random() * np.pi
            along = (xs - cx) * np.cos(angle) + (ys - cy) * np.sin(angle)
            across = -(xs - cx) * np.sin(angle) + (ys - cy) * np.cos(angle)
            mask = (np.abs(across) < extent * 0.15) & (np.abs(along) < extent * 3)
        texture[mask] = 0.5 * texture[mask] + 0.5 * colour
    return texture


def _photo(rng, side):
    """A random square crop of one of matplotlib's bundled photographs, scaled to side x side."""
    import matplotlib  # Imported here: only this background needs it.

    sample_dir = os.path.join(matplotlib.get_data_path(), "sample_data")
    paths = [os.path.join(sample_dir, name) for name in _PHOTO_NAMES]
    paths = [path for path in paths if os.path.exists(path)]
    if not paths:
        return None
    import matplotlib.image

    photo = matplotlib.image.imread(paths[rng.integers(len(paths))])
    if photo.dtype == np.uint8:
        photo = photo.astype(np.float32) / 255.0
    photo = np.asarray(photo, np.float32)[..., :3]
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=-1)
    crop = int(min(photo.shape[:2]) * (0.5 + 0.5 * rng.random()))
    top = rng.integers(photo.shape[0] - crop + 1)
    left = rng.integers(photo.shape[1] - crop + 1)
    grid = np.linspace(0, crop - 1, side, dtype=np.float32)
    return sample_bilinear(
        photo, top + grid[:, None] + 0 * grid[None, :], left + grid[None, :] + 0 * grid[:, None]
    )


def _background(rng, side, config):
    if rng.random() < config.photo_probability:
        photo = _photo(rng, side)
        if photo is not None:
            return photo
    return _draw_shapes(rng, _palette_texture(rng, side, side), count=int(rng.integers(20, 60)))


def _unit(rng):
    angle = rng.random() * 2 * np.pi
    return np.array([np.sin(angle), np.cos(angle)], np.float32)


@dataclasses.dataclass(frozen=True)
class _Object:
    texture: np.ndarray
    half_extent: np.ndarray  # (half height, half width) in pixels
    exponent: float  # 2: ellipse; larger: towards a rectangle
    centre: np.ndarray  # (y, x) at mid-exposure
    velocity: np.ndarray  # pixels over the whole exposure
    angle: float
    spin: float  # radians over the whole exposure

    def alpha_and_colour(self, ys, xs, t):
        """Anti-aliased coverage and colour of the object at exposure time t in [-0.5, 0.5]."""
        cy, cx = self.centre + self.velocity * t
        angle = self.angle + self.spin * t
        cos, sin = np.cos(angle), np.sin(angle)
        local_y = cos * (ys - cy) + sin * (xs - cx)
        local_x = -sin * (ys - cy) + cos * (xs - cx)
        radius = (
            np.abs(local_y / self.half_extent[0]) ** self.exponent
            + np.abs(local_x / self.half_extent[1]) ** self.exponent
        ) ** (1 / self.exponent)
        # (radius - 1) * extent approximates the signed distance to the outline, in pixels.
        alpha = np.clip(0.5 - (radius - 1.0) * float(self.half_extent.min()), 0.0, 1.0)[..., None]
        colour = sample_bilinear(
            self.texture, local_y + self.half_extent[0], local_x + self.half_extent[1]
        )
        return alpha, colour


def _objects(rng, config):
    side = config.size
    objects = []
    for _ in range(int(rng.integers(config.num_objects[0], config.num_objects[1] + 1))):
        half = side * (
            config.object_size[0] + (config.object_size[1] - config.object_size[0]) * rng.random(2)
        )
        half = half.astype(np.float32)
        texture = _draw_shapes(
            rng,
            _palette_texture(rng, int(2 * half[0]) + 2, int(2 * half[1]) + 2),
            count=int(rng.integers(4, 12)),
        )
        travel = side * rng.uniform(*config.object_motion)
        objects.append(
            _Object(
                texture=texture,
                half_extent=half,
                exponent=float(rng.choice([2.0, 6.0])),
                centre=(rng.random(2) * side).astype(np.float32),
                velocity=travel * _unit(rng),
                angle=float(rng.random() * np.pi),
                spin=float(rng.uniform(-0.2, 0.2)),
            )
        )
    return objects


def render_pair(rng, config=SceneConfig()):
    """Renders one scene and blurs it; see the module docstring. Returns a RenderedPair."""
    side = config.size
    num_frames = int(rng.integers(config.min_frames, config.max_frames + 1))
    margin = int(np.ceil(side * (config.camera_motion[1] + config.camera_rotation))) + 4
    canvas = _background(rng, side + 2 * margin, config)
    objects = _objects(rng, config)

    # Camera shake: a curved path (velocity plus a perpendicular bend) and a small rotation.
    travel = side * rng.uniform(*config.camera_motion)
    direction = _unit(rng)
    bend = np.array([-direction[1], direction[0]]) * travel * rng.uniform(-0.5, 0.5)
    spin = rng.uniform(-config.camera_rotation, config.camera_rotation)

    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
    centred_y, centred_x = ys - side / 2, xs - side / 2
    covered = np.zeros((side, side), bool)

    def camera_shift(t):
        return travel * direction * t + bend * (4 * t * t - 1 / 3)

    # The camera's pose relative to the middle frame's, so that the sharp target samples the
    # canvas at its own pixels (a fractional offset would soften it by bilinear interpolation).
    middle_t = middle_index(num_frames) / max(num_frames - 1, 1) - 0.5
    frames = []
    for index in range(num_frames):
        t = index / max(num_frames - 1, 1) - 0.5
        shift = camera_shift(t) - camera_shift(middle_t)
        cos, sin = np.cos(spin * (t - middle_t)), np.sin(spin * (t - middle_t))
        frame = sample_bilinear(
            canvas,
            cos * centred_y - sin * centred_x + side / 2 + margin + shift[0],
            sin * centred_y + cos * centred_x + side / 2 + margin + shift[1],
        )
        for obj in objects:
            alpha, colour = obj.alpha_and_colour(ys, xs, t)
            frame = frame * (1 - alpha) + colour * alpha
            covered |= alpha[..., 0] > 0.5
        frames.append(np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8))

    frames = np.stack(frames)
    return RenderedPair(
        sharp=frames[middle_index(num_frames)],
        blur=synthesize_blur(frames, gamma=1.0),
        blur_gamma=synthesize_blur(frames, gamma=config.gamma),
        num_frames=num_frames,
        object_fraction=float(covered.mean()),
    )
