"""Paired, stateless augmentation of training crops (paper section 3.2), in TensorFlow.

One seed per crop drives every random choice, and the geometry (crop position, rotation, flips) is
applied once to the blurry and sharp images stacked along the channels, so the two stay aligned by
construction. Colour changes (channel permutation, saturation) use the same draw for both; only the
noise touches the blurry image alone. The same seed gives the same crop, on any machine and in any
order. Augmentation never runs inside the model, so the serving graph stays clean.
"""

import functools
import math

import numpy as np
import tensorflow as tf


def _uniform(seed, minval=0.0, maxval=1.0, shape=(), dtype=tf.float32):
    return tf.random.stateless_uniform(shape, seed, minval=minval, maxval=maxval, dtype=dtype)


def _rotate_and_crop(window, angle, crop_size):
    """The centre crop_size x crop_size of [S, S, C] `window` rotated by `angle` (bilinear).

    Only the output crop is computed: each of its pixels reads the window point it maps to under
    the rotation about the window's centre. The window is large enough that no point falls outside.
    """
    window_centre = (tf.cast(tf.shape(window)[0], tf.float32) - 1.0) / 2.0
    crop_centre = (crop_size - 1.0) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # input = R(angle) (output - crop_centre) + window_centre, for x and y.
    transform = tf.stack(
        [
            cos,
            -sin,
            window_centre - cos * crop_centre + sin * crop_centre,
            sin,
            cos,
            window_centre - sin * crop_centre - cos * crop_centre,
            0.0,
            0.0,
        ]
    )[None]
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=window[None],
        transforms=transform,
        output_shape=[crop_size, crop_size],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return rotated[0]


def _to_float(image):
    """uint8 / uint16 pixels to float32 in [0, 1]; float images pass through."""
    return tf.image.convert_image_dtype(image, tf.float32) if image.dtype.is_integer else image


def _geometry(blurry, sharp, seeds, config):
    """Crop, rotation and flips, applied once to the pair stacked as [S, S, 6] float32.

    The window is cut from each full image before anything else, so converting to float and
    stacking touch only window-sized data (a full 1280x720 pair is ~20x larger).
    """
    window = config.window_size
    height, width = tf.shape(blurry)[0], tf.shape(blurry)[1]
    top = _uniform(seeds[0], 0, height - window + 1, dtype=tf.int32)
    left = _uniform(seeds[1], 0, width - window + 1, dtype=tf.int32)
    pair = tf.concat(
        [
            _to_float(blurry[top : top + window, left : left + window]),
            _to_float(sharp[top : top + window, left : left + window]),
        ],
        axis=-1,
    )
    if config.rotation == "right_angles":
        pair = tf.image.rot90(pair, _uniform(seeds[2], 0, 4, dtype=tf.int32))
    elif config.rotation == "any":
        pair = _rotate_and_crop(pair, _uniform(seeds[2], 0.0, 2.0 * math.pi), config.crop_size)
    # tf.cond rather than tf.where: only the branch taken is computed.
    if "flip_horizontal" in config.augmentations:
        pair = tf.cond(_uniform(seeds[3]) < 0.5, lambda: tf.reverse(pair, [1]), lambda: pair)
    if "flip_vertical" in config.augmentations:
        pair = tf.cond(_uniform(seeds[4]) < 0.5, lambda: tf.reverse(pair, [0]), lambda: pair)
    return pair


NOISE_TABLE_SIDE = 1024
NOISE_TABLE_SEED = 20170721  # fixed: the table is part of the augmentation's definition


@functools.lru_cache(maxsize=1)
def _noise_table():
    """[1024, 1024, 3] standard normal samples, the same on every machine: the source of every
    crop's noise (`_standard_noise`). Made once, eagerly, and captured by every graph using it."""
    # RandomState: its stream is frozen across NumPy versions (NEP 19), default_rng's is not.
    table = np.random.RandomState(NOISE_TABLE_SEED).standard_normal(
        (NOISE_TABLE_SIDE, NOISE_TABLE_SIDE, 3)
    )
    table = table.astype(np.float32)
    with tf.init_scope():
        return tf.constant(table)


def _standard_noise(seed, crop_size):
    """[crop, crop, 3] i.i.d. standard normal noise for one crop: a window of a fixed table of
    normal samples at a random offset, in one of the 8 orientations.

    Drawing 196,608 normals per 256^2 crop cost 2.4 ms on one core (Philox and Box-Muller), a third
    of all augmentation; a window of the table costs ~0.3 ms. Within a crop the noise is i.i.d.
    Gaussian as the paper's; across crops, windows overlap, but 769^2 offsets (256^2 crops) x 8
    orientations, times a random strength per crop, give no pattern a network could learn. Crops
    larger than the table draw their noise directly.
    """
    if crop_size > NOISE_TABLE_SIDE:
        return tf.random.stateless_normal((crop_size, crop_size, 3), seed)
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    offset = _uniform(seeds[0], 0, NOISE_TABLE_SIDE - crop_size + 1, shape=(2,), dtype=tf.int32)
    window = _noise_table()[offset[0] : offset[0] + crop_size, offset[1] : offset[1] + crop_size]
    orientation = _uniform(seeds[1], 0, 8, dtype=tf.int32)
    window = tf.image.rot90(window, orientation % 4)
    return tf.cond(orientation >= 4, lambda: tf.reverse(window, [0]), lambda: window)


def augment_pair(blurry, sharp, seed, config):
    """One augmented training crop of a pair.

    Args:
      blurry, sharp: [H, W, 3] images of the same size, each side >= config.window_size: float32
        in [0, 1], or uint8 / uint16 as decoded (only the crop window is converted to float).
      seed: int tensor [2], the stateless seed of this crop.
      config: an AugmentConfig.

    Returns:
      (blurry, sharp), float32 [crop_size, crop_size, 3] in [0, 1].
    """
    seeds = tf.random.experimental.stateless_split(seed, num=8)
    pair = _geometry(blurry, sharp, seeds, config)
    if "channel_permutation" in config.augmentations:
        # The same permutation for both images, as one [6 x 6] block-diagonal matrix product
        # (a gather along the channel axis is several times slower on CPU).
        order = tf.argsort(_uniform(seeds[5], shape=(3,)))
        select = tf.transpose(tf.one_hot(tf.concat([order, order + 3], axis=0), 6))
        pair = tf.reshape(tf.reshape(pair, (-1, 6)) @ select, tf.shape(pair))
    if "saturation" in config.augmentations:
        low, high = config.saturation_range
        size = tf.shape(pair)[:2]
        both = tf.reshape(pair, tf.concat([size, [2, 3]], 0))  # [S, S, image, RGB]
        # One fused kernel for both images (it takes any shape whose last axis is RGB). The same
        # scaling written on channel planes, V - (V - c) * min(f, V / (V - min)), is exact and 2.2x
        # faster alone, but slower inside tf.data (BUILD.md, "Training input"): not used.
        both = tf.image.adjust_saturation(both, _uniform(seeds[6], low, high))
        pair = tf.reshape(both, tf.concat([size, [6]], 0))
    blurry, sharp = pair[..., :3], pair[..., 3:]
    if "noise" in config.augmentations:
        noise_seeds = tf.random.experimental.stateless_split(seeds[7], num=2)
        sigma = tf.abs(tf.random.stateless_normal((), noise_seeds[0])) * config.noise_sigma
        blurry = blurry + sigma * _standard_noise(noise_seeds[1], config.crop_size)
    crop = (config.crop_size, config.crop_size, 3)
    blurry = tf.ensure_shape(tf.clip_by_value(blurry, 0.0, 1.0), crop)
    sharp = tf.ensure_shape(tf.clip_by_value(sharp, 0.0, 1.0), crop)
    return blurry, sharp
