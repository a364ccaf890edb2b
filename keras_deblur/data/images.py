"""Decoding and writing PNG images: the edge where bytes become float pixels and back.

Inside the package pixels are float32 RGB in [0, 1]. How other PNGs are converted:
- 16-bit PNGs keep their precision: every PNG is decoded at 16 bits and divided by 65535 (an 8-bit
  value v becomes v * 257 / 65535 = v / 255 exactly).
- Grayscale becomes RGB by repeating the gray value in the three channels.
- An alpha channel is dropped (the colour values are kept as stored, not composited).
- Palette images are expanded to their RGB colours.
"""

import json
import os

import numpy as np
import tensorflow as tf

from keras_deblur import temp_files


def decode_png_uint16(png_bytes):
    """Encoded PNG bytes (a scalar string tensor) to uint16 [H, W, 3], 8-bit values scaled by 257."""
    return tf.io.decode_png(png_bytes, channels=3, dtype=tf.uint16)


def decode_png(png_bytes):
    """Encoded PNG bytes (a scalar string tensor) to float32 [H, W, 3] in [0, 1]."""
    return tf.cast(decode_png_uint16(png_bytes), tf.float32) / 65535.0


def read_png(path):
    """Reads a PNG file to a float32 NumPy array [H, W, 3] in [0, 1] (any tf.io.gfile path)."""
    return decode_png(tf.io.read_file(path)).numpy()


def to_uint8(pixels):
    """Float pixels in [0, 1] to uint8, clipped and rounded to the nearest level."""
    return np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_png(path, pixels_uint8):
    """Writes an [H, W, 3] uint8 image as PNG, atomically on local disks.

    The bytes go to a temporary file in the same folder that is then renamed, so a killed process
    never leaves a half-written PNG under the final name. (On object stores such as gs://, a
    single-object upload is atomic already.)
    """
    write_bytes(path, tf.io.encode_png(np.asarray(pixels_uint8, np.uint8)).numpy())


def write_bytes(path, data):
    """Writes `data` to `path` atomically: a temporary file in the same folder, then a rename.

    A write that fails (a full disk) removes its temporary; one killed leaves it for
    `temp_files.remove_dead_leftovers`, and readers skip it (`temp_files.is_temporary`).
    """
    folder = os.path.dirname(path)
    if folder:
        tf.io.gfile.makedirs(folder)
    with temp_files.atomic_path(path) as temporary, tf.io.gfile.GFile(temporary, "wb") as f:
        f.write(data)


def read_json(path):
    """The JSON document in `path` (any tf.io.gfile path), or None if there is no such file."""
    if not tf.io.gfile.exists(path):
        return None
    return json.loads(tf.io.gfile.GFile(path).read())


def write_text(path, text):
    """Writes a small text file atomically (temporary file, then rename), like `write_png`."""
    write_bytes(path, text.encode("utf-8"))
