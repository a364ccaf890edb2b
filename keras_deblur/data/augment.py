"""Paired, stateless augmentation of training crops (paper section 3.2), in TensorFlow.

One seed per crop drives every random choice, and the geometry (crop position, rotation, flips) is
applied once to the blurry and sharp images stacked along the channels, so the two stay aligned by
construction. Colour changes (channel permutation, saturation) use the same draw for both; only the
noise touches the blurry image alone. The same seed gives the same crop, on any machine and in any
order. Augmentation never runs inside the model, so the serving graph stays clean.
"""

import dataclasses
import math

import tensorflow as tf

ROTATIONS = ("none", "right_angles", "any")
AUGMENTATIONS = ("flip_horizontal", "flip_vertical", "channel_permutation", "saturation", "noise")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run, and how strong they are.

    Attributes:
      crop_size: side of the square training crops (256 in the paper).
      rotation: "none", "right_angles" (multiples of 90 degrees, the authors' later code) or "any"
        (a uniform angle, as the paper says: a larger window is cropped, rotated and centre-cropped,
        so no padded border shows).
      augmentations: the ones of AUGMENTATIONS that run; leave one out to switch it off.
      saturation_range: the HSV saturation is multiplied by U[low, high].
      noise_sigma: the blurry image gets Gaussian noise whose standard deviation is drawn per image
        as |N(0, noise_sigma^2)| (the paper: sigma ~ N(0, (2/255)^2)).
    """

    crop_size: int = 256
    rotation: str = "any"
    augmentations: tuple = AUGMENTATIONS
    saturation_range: tuple = (0.5, 1.5)
    noise_sigma: float = 2.0 / 255.0

    def __post_init__(self):
        if self.crop_size < 1:
            raise ValueError(f"--crop_size must be >= 1, got {self.crop_size}")
        if self.rotation not in ROTATIONS:
            raise ValueError(f"--rotation must be one of {ROTATIONS}, got {self.rotation!r}")
        unknown = sorted(set(self.augmentations) - set(AUGMENTATIONS))
        if unknown:
            raise ValueError(f"--augmentations has unknown names {unknown}; known: {AUGMENTATIONS}")

    @property
    def window_size(self):
        """Side of the window cut from the image before rotating: the crop fits at any angle."""
        if self.rotation == "any":
            return math.ceil(self.crop_size * math.sqrt(2.0)) + 2
        return self.crop_size


def _uniform(seed, minval=0.0, maxval=1.0, shape=(), dtype=tf.float32):
    return tf.random.stateless_uniform(shape, seed, minval=minval, maxval=maxval, dtype=dtype)


def _rotate(image, angle):
    """Rotates [S, S, C] about its centre by `angle` radians (bilinear), keeping the size."""
    size = tf.cast(tf.shape(image)[0], tf.float32)
    centre = (size - 1.0) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Maps each output pixel (x, y) to the input point it reads: R(angle) about the centre.
    transform = tf.stack([
        cos, -sin, centre - cos * centre + sin * centre,
        sin, cos, centre - sin * centre - cos * centre,
        0.0, 0.0,
    ])[None]
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform, output_shape=tf.shape(image)[:2],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    return rotated[0]


def _geometry(pair, seeds, config):
    """Crop, rotation and flips, applied once to the stacked [H, W, 6] pair."""
    window = config.window_size
    height, width = tf.shape(pair)[0], tf.shape(pair)[1]
    top = _uniform(seeds[0], 0, height - window + 1, dtype=tf.int32)
    left = _uniform(seeds[1], 0, width - window + 1, dtype=tf.int32)
    pair = pair[top : top + window, left : left + window]
    if config.rotation == "right_angles":
        pair = tf.image.rot90(pair, _uniform(seeds[2], 0, 4, dtype=tf.int32))
    elif config.rotation == "any":
        pair = _rotate(pair, _uniform(seeds[2], 0.0, 2.0 * math.pi))
        offset = (window - config.crop_size) // 2
        pair = pair[offset : offset + config.crop_size, offset : offset + config.crop_size]
    if "flip_horizontal" in config.augmentations:
        pair = tf.where(_uniform(seeds[3]) < 0.5, tf.reverse(pair, [1]), pair)
    if "flip_vertical" in config.augmentations:
        pair = tf.where(_uniform(seeds[4]) < 0.5, tf.reverse(pair, [0]), pair)
    return pair


def augment_pair(blurry, sharp, seed, config):
    """One augmented training crop of a pair.

    Args:
      blurry, sharp: float32 [H, W, 3] in [0, 1], the same size, each side >= config.window_size.
      seed: int tensor [2], the stateless seed of this crop.
      config: an AugmentConfig.

    Returns:
      (blurry, sharp), float32 [crop_size, crop_size, 3] in [0, 1].
    """
    seeds = tf.random.experimental.stateless_split(seed, num=8)
    pair = _geometry(tf.concat([blurry, sharp], axis=-1), seeds, config)
    blurry, sharp = pair[..., :3], pair[..., 3:]
    if "channel_permutation" in config.augmentations:
        order = tf.argsort(_uniform(seeds[5], shape=(3,)))
        blurry, sharp = tf.gather(blurry, order, axis=-1), tf.gather(sharp, order, axis=-1)
    if "saturation" in config.augmentations:
        low, high = config.saturation_range
        factor = _uniform(seeds[6], low, high)
        blurry = tf.image.adjust_saturation(blurry, factor)
        sharp = tf.image.adjust_saturation(sharp, factor)
    if "noise" in config.augmentations:
        noise_seeds = tf.random.experimental.stateless_split(seeds[7], num=2)
        sigma = tf.abs(tf.random.stateless_normal((), noise_seeds[0])) * config.noise_sigma
        blurry = blurry + sigma * tf.random.stateless_normal(tf.shape(blurry), noise_seeds[1])
    crop = (config.crop_size, config.crop_size, 3)
    blurry = tf.ensure_shape(tf.clip_by_value(blurry, 0.0, 1.0), crop)
    sharp = tf.ensure_shape(tf.clip_by_value(sharp, 0.0, 1.0), crop)
    return blurry, sharp
