"""Decoding and writing PNG images: the edge where bytes become float pixels and back.

Inside the package pixels are float32 RGB in [0, 1]. How other PNGs are converted:
- 16-bit PNGs keep their precision: every PNG is decoded at 16 bits and divided by 65535 (an 8-bit
  value v becomes v * 257 / 65535 = v / 255 exactly).
- Grayscale becomes RGB by repeating the gray value in the three channels.
- An alpha channel is dropped (the colour values are kept as stored, not composited).
- Palette images are expanded to their RGB colours.
"""

import numpy as np
import tensorflow as tf

from keras_deblur import file_io


def decode_png_uint16(png_bytes):
    """Encoded PNG bytes (a scalar string tensor) to uint16 [H, W, 3], 8-bit values scaled by
    257."""
    return tf.io.decode_png(png_bytes, channels=3, dtype=tf.uint16)


def widen_to_uint16(pixels_uint8):
    """8-bit pixels as the 16-bit values that decoding the same PNG at 16 bits gives: v * 257."""
    return tf.cast(pixels_uint8, tf.uint16) * 257


def decode_raw_uint8(data, raw_shape, name):
    """Raw 8-bit pixels of an encoded pair's image (`raw_shape` [height, width, 8]) to uint8
    [H, W, 3], unscaled; bytes that do not fill that shape fail naming the pair `name`."""
    return _raw_pixels(data, raw_shape, name, tf.uint8)


def _raw_pixels(data, raw_shape, name, dtype):
    height, width, depth = raw_shape[0], raw_shape[1], raw_shape[2]
    expected = height * width * 3 * (depth // 8)
    check = tf.debugging.Assert(
        tf.equal(tf.cast(tf.strings.length(data), tf.int64), expected),
        ["raw pixels of pair", name, "do not fill [height, width, bit depth]", raw_shape],
    )
    with tf.control_dependencies([check]):
        return tf.reshape(tf.io.decode_raw(data, dtype), (height, width, 3))


def decode_uint16(data, raw_shape, name):
    """Either image of an encoded pair (`tfrecords.parse_pair`, `input_pipeline.encoded_pairs`) to
    uint16 [H, W, 3]: PNG bytes when `raw_shape` is zeros, else raw pixels of shape
    [height, width, bit depth] (8-bit values scaled by 257, as `decode_png_uint16` does). Bytes that
    do not fill that shape, or no bytes at all, fail naming the pair `name`."""

    def raw():
        return tf.cond(
            raw_shape[2] == 16,
            lambda: _raw_pixels(data, raw_shape, name, tf.uint16),
            lambda: widen_to_uint16(decode_raw_uint8(data, raw_shape, name)),
        )

    def png():
        check = tf.debugging.Assert(
            tf.strings.length(data) > 0, ["pair", name, "holds neither PNG bytes nor raw pixels"]
        )
        with tf.control_dependencies([check]):
            return decode_png_uint16(data)

    return tf.cond(raw_shape[0] > 0, raw, png)


def to_float(pixels_uint16):
    """uint16 pixels to float32 in [0, 1]."""
    return tf.cast(pixels_uint16, tf.float32) / 65535.0


def decode_png(png_bytes):
    """Encoded PNG bytes (a scalar string tensor) to float32 [H, W, 3] in [0, 1]."""
    return to_float(decode_png_uint16(png_bytes))


def read_png(path):
    """Reads a PNG file to a float32 NumPy array [H, W, 3] in [0, 1] (any tf.io.gfile path)."""
    return decode_png(tf.io.read_file(path)).numpy()


def write_png(path, pixels_uint8):
    """Writes an [H, W, 3] uint8 image as PNG, atomically (`file_io.write_bytes`)."""
    file_io.write_bytes(path, tf.io.encode_png(np.asarray(pixels_uint8, np.uint8)).numpy())
