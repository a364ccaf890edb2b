"""Paired, stateless augmentation of training crops (paper section 3.2), in TensorFlow.

One seed per crop drives every random choice, drawn once per pair (`_draws`): the blurry and sharp
images get the same crop position, rotation, flips, channel permutation and saturation, so they stay
aligned by construction; only the noise touches the blurry image alone. The same seed gives the same
crop in any order; across CPUs, the same up to float rounding in the saturation (its pixel work is
compiled by XLA for the CPU it runs on). Augmentation never runs inside the model, so the serving
graph stays clean.
"""

import functools
import math

import numpy as np
import tensorflow as tf

from keras_deblur.data import images


def _uniform(seed, minval=0.0, maxval=1.0, shape=(), dtype=tf.float32):
    return tf.random.stateless_uniform(shape, seed, minval=minval, maxval=maxval, dtype=dtype)


def _rotate_and_crop(window, angle, crop_size):
    """The centre crop_size x crop_size of [S, S, C] float `window` rotated by `angle` (bilinear).

    Only the output crop is computed: each of its pixels reads the window point it maps to under
    the rotation about the window's centre, input = R(angle) (output - crop_centre) +
    window_centre, blending the four pixels around it (a neighbour outside the window counts as 0,
    as tf.raw_ops.ImageProjectiveTransformV3 fills; the window is large enough that none is used).
    Written as gathers so that XLA compiles it with the rest of `_pixel_work`: 3-4 ms per 256^2
    pair on an Ice Lake core, against 10-11 ms for ImageProjectiveTransformV3, which it matches
    within 7e-5 (a last-bit difference in a coordinate near 366 is 3e-5 of a pixel).
    """
    side = window.shape[0]
    window_centre = (side - 1.0) / 2.0
    crop_centre = (crop_size - 1.0) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    grid = tf.range(crop_size, dtype=tf.float32)
    x, y = grid[None, :], grid[:, None]
    in_x = cos * x - sin * y + (window_centre - cos * crop_centre + sin * crop_centre)
    in_y = sin * x + cos * y + (window_centre - sin * crop_centre - cos * crop_centre)
    left, top = tf.floor(in_x), tf.floor(in_y)
    pixels = tf.reshape(window, [side * side, -1])

    def read(row, column):  # [crop, crop, C]: the window's pixels there, 0 outside it
        inside = (row >= 0) & (row <= side - 1) & (column >= 0) & (column <= side - 1)
        row, column = tf.clip_by_value(row, 0, side - 1), tf.clip_by_value(column, 0, side - 1)
        values = tf.gather(pixels, tf.cast(row * side + column, tf.int32))
        return tf.where(inside[..., None], values, 0.0)

    right_weight, bottom_weight = (in_x - left)[..., None], (in_y - top)[..., None]
    upper = (1.0 - right_weight) * read(top, left) + right_weight * read(top, left + 1)
    lower = (1.0 - right_weight) * read(top + 1, left) + right_weight * read(top + 1, left + 1)
    return (1.0 - bottom_weight) * upper + bottom_weight * lower


def _to_float(image):
    """uint8 / uint16 pixels to float32 in [0, 1]; float images pass through.

    8-bit values are widened to 16 bits first, as PNG decoding widens them
    (`images.widen_to_uint16`), so raw 8-bit shards and their PNGs give the same crops bit for
    bit: v * 257 / 65535 and v / 255 differ in the last bit for 134 of the 256 values.
    """
    if image.dtype == tf.uint8:
        image = images.widen_to_uint16(image)
    return tf.image.convert_image_dtype(image, tf.float32) if image.dtype.is_integer else image


def _windows(blurry, sharp, seeds, config):
    """The windows of both images at one random position, in the images' own dtype.

    The window is cut from each full image before anything else, so everything after it touches
    only window-sized data (a full 1280x720 pair is ~20x larger).
    """
    window = config.window_size
    height, width = tf.shape(blurry)[0], tf.shape(blurry)[1]
    top = _uniform(seeds[0], 0, height - window + 1, dtype=tf.int32)
    left = _uniform(seeds[1], 0, width - window + 1, dtype=tf.int32)
    return tuple(tf.slice(x, [top, left, 0], [window, window, 3]) for x in (blurry, sharp))


def _orient(image, quarter_turns=None, flip_horizontal=None, flip_vertical=None):
    """`image` [S, S, C] turned counter-clockwise by `quarter_turns` (0-3), then mirrored left to
    right and top to bottom where those booleans are true; None leaves a step out. tf.switch_case
    and tf.cond, not tf.where: only the branch taken is computed."""
    if quarter_turns is not None:

        def turned(k):  # tf.image.rot90's k, written as transposes and reverses
            return lambda: {
                0: image,
                1: tf.reverse(tf.transpose(image, [1, 0, 2]), [0]),
                2: tf.reverse(image, [0, 1]),
                3: tf.reverse(tf.transpose(image, [1, 0, 2]), [1]),
            }[k]

        image = tf.switch_case(quarter_turns, [turned(k) for k in range(4)])
    if flip_horizontal is not None:
        image = tf.cond(flip_horizontal, lambda: tf.reverse(image, [1]), lambda: image)
    if flip_vertical is not None:
        image = tf.cond(flip_vertical, lambda: tf.reverse(image, [0]), lambda: image)
    return image


def _scale_saturation(rgb, factor):
    """HSV saturation times `factor`, capped at 1, hue and value kept: what
    tf.image.adjust_saturation computes, written per pixel as V - (V - c) * min(f, V / (V - min))
    (each channel c moves along the line to the pixel's value V; grey pixels stay as they are).
    Within 6e-7 of adjust_saturation, and fused by XLA into one pass with the other colour work.
    """
    red, green, blue = rgb[..., 0:1], rgb[..., 1:2], rgb[..., 2:3]
    value = tf.maximum(tf.maximum(red, green), blue)
    low = tf.minimum(tf.minimum(red, green), blue)
    return value - (value - rgb) * tf.minimum(factor, tf.math.divide_no_nan(value, value - low))


@functools.lru_cache(maxsize=None)
def _pixel_work(config):
    """All per-pixel work on a pair of windows, as one XLA-compiled function for `config`: rotation
    (by right angles, or by any angle and cropped), flips, conversion to float, channel
    permutation, saturation, noise, clip.

    Op by op, TensorFlow passed over the crop a dozen times (10 ms per 256^2 pair on one core of an
    Ice Lake Xeon); compiled, the passes fuse (BUILD.md, "Training input"). The random draws stay
    outside, in TensorFlow's own stateless ops, so they are the same numbers with or without XLA.
    The turn and flips move the integer pixels, before conversion: half the bytes of float32.
    """

    @tf.function(jit_compile=True)
    def pixel_work(blurry, sharp, draws):
        def colour(window):
            if "angle" in draws:
                window = _rotate_and_crop(_to_float(window), draws["angle"], config.crop_size)
            window = _to_float(
                _orient(
                    window,
                    draws.get("quarter_turns"),
                    draws.get("flip_horizontal"),
                    draws.get("flip_vertical"),
                )
            )
            if "channel_permutation" in draws:
                window = tf.gather(window, draws["channel_permutation"], axis=-1)
            if "saturation" in draws:
                window = _scale_saturation(window, draws["saturation"])
            return window

        blurry, sharp = colour(blurry), colour(sharp)
        if "noise_sigma" in draws:
            noise = _orient(
                draws["noise"],
                draws["noise_orientation"] % 4,
                flip_vertical=draws["noise_orientation"] >= 4,
            )
            blurry = blurry + draws["noise_sigma"] * noise
        return tf.clip_by_value(blurry, 0.0, 1.0), tf.clip_by_value(sharp, 0.0, 1.0)

    return pixel_work


NOISE_TABLE_SIDE = 1024
NOISE_TABLE_SEED = 20170721  # fixed: the table is part of the augmentation's definition


@functools.lru_cache(maxsize=1)
def _noise_table():
    """[1024, 1024, 3] standard normal samples, the same on every machine: the source of every
    crop's noise (`_noise_window`). Made once, eagerly, and captured by every graph using it."""
    # RandomState: its stream is frozen across NumPy versions (NEP 19), default_rng's is not.
    table = np.random.RandomState(NOISE_TABLE_SEED).standard_normal(
        (NOISE_TABLE_SIDE, NOISE_TABLE_SIDE, 3)
    )
    table = table.astype(np.float32)
    with tf.init_scope():
        return tf.constant(table)


def _noise_window(seed, crop_size):
    """([crop, crop, 3] i.i.d. standard normal noise, orientation 0-7) for one crop: a window of a
    fixed table of normal samples at a random offset, to be turned by orientation % 4 quarter turns
    and flipped top to bottom when orientation >= 4 (`_orient`, in `_pixel_work`).

    Drawing 196,608 normals per 256^2 crop cost 2.4 ms on one core (Philox and Box-Muller), a third
    of all augmentation; a window of the table costs ~0.3 ms. Within a crop the noise is i.i.d.
    Gaussian as the paper's; across crops, windows overlap, but 769^2 offsets (256^2 crops) x 8
    orientations, times a random strength per crop, give no pattern a network could learn. Crops
    larger than the table draw their noise directly (orientation 0).
    """
    if crop_size > NOISE_TABLE_SIDE:
        return tf.random.stateless_normal((crop_size, crop_size, 3), seed), tf.constant(0)
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    offset = _uniform(seeds[0], 0, NOISE_TABLE_SIDE - crop_size + 1, shape=(2,), dtype=tf.int32)
    window = tf.slice(_noise_table(), [offset[0], offset[1], 0], [crop_size, crop_size, 3])
    return window, _uniform(seeds[1], 0, 8, dtype=tf.int32)


def _draws(seeds, config):
    """Every random choice for one crop after its position: the inputs of `_pixel_work`, one entry
    per augmentation that runs."""
    draws = {}
    if config.rotation == "right_angles":
        draws["quarter_turns"] = _uniform(seeds[2], 0, 4, dtype=tf.int32)
    elif config.rotation == "any":
        draws["angle"] = _uniform(seeds[2], 0.0, 2.0 * math.pi)
    for name, seed in (("flip_horizontal", seeds[3]), ("flip_vertical", seeds[4])):
        if name in config.augmentations:
            draws[name] = _uniform(seed) < 0.5
    if "channel_permutation" in config.augmentations:
        draws["channel_permutation"] = tf.argsort(_uniform(seeds[5], shape=(3,)))
    if "saturation" in config.augmentations:
        draws["saturation"] = _uniform(seeds[6], *config.saturation_range)
    if "noise" in config.augmentations:
        noise_seeds = tf.random.experimental.stateless_split(seeds[7], num=2)
        sigma = tf.abs(tf.random.stateless_normal((), noise_seeds[0])) * config.noise_sigma
        draws["noise_sigma"] = sigma
        draws["noise"], draws["noise_orientation"] = _noise_window(noise_seeds[1], config.crop_size)
    return draws


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
    blurry, sharp = _windows(blurry, sharp, seeds, config)
    return _pixel_work(config)(blurry, sharp, _draws(seeds, config))
