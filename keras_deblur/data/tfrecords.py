"""The TFRecord pair format: one `tf.train.Example` per pair, its images as PNG bytes or as raw
pixels.

Features:
  blurry_png, sharp_png  bytes   the encoded PNG files, unchanged (no re-encoding, no loss), or
  blurry_raw, sharp_raw  bytes   their decoded RGB pixels, row-major [height, width, 3]: uint8, or
                                 uint16 little-endian when raw_bit_depth is 16
  raw_bit_depth          int64   8 or 16 with raw pixels; absent with PNG bytes
  name                   bytes   "<sequence>/<frame>.png", unique within a split
  height, width          int64   the image size, checked to be the same for both images

PNG bytes make shards as small as the PNG tree, and an evaluation's fingerprint of them equals the
tree's. Raw pixels are ~1.5-2x larger but need no decoding: decoding a 1280x720 PNG pair took ~28
ms on one core, ~70% of what one core spends per augmented crop of it (BUILD.md, "bench input"), so
the ingest stage writes the training split, read every epoch, raw. Writing shards at scale is the
pipeline's ingest stage; `write_tfrecord` here writes one file.
"""

import tensorflow as tf

from keras_deblur import file_io
from keras_deblur.data.png_info import read_png_info
from keras_deblur.errors import DataError, op_message

PIXELS = ("png", "raw")

FEATURES = {
    "blurry_png": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "sharp_png": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "blurry_raw": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "sharp_raw": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "raw_bit_depth": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "name": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
}


def _bytes_feature(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int_feature(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def pair_example(blurry, sharp, name, height, width, raw_bit_depth=0):
    """A serialised tf.train.Example of one pair: PNG bytes, or with `raw_bit_depth` 8 or 16 the
    raw RGB pixels (uint8, or uint16 little-endian) of an image `height` x `width`."""
    kind = "raw" if raw_bit_depth else "png"
    feature = {
        f"blurry_{kind}": _bytes_feature(blurry),
        f"sharp_{kind}": _bytes_feature(sharp),
        "name": _bytes_feature(name.encode("utf-8")),
        "height": _int_feature(height),
        "width": _int_feature(width),
    }
    if raw_bit_depth:
        feature["raw_bit_depth"] = _int_feature(raw_bit_depth)
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _raw_pixels(path, bit_depth, height, width):
    """A PNG's RGB pixels as raw bytes: uint8 for PNGs of <= 8 bits, uint16 little-endian for 16.
    A PNG whose size is not the pair's is a DataError naming it (raw bytes carry no size)."""
    dtype = tf.uint16 if bit_depth == 16 else tf.uint8
    pixels = tf.io.decode_png(tf.io.read_file(path), channels=3, dtype=dtype).numpy()
    if pixels.shape[:2] != (height, width):
        raise DataError(
            f"{path} is {pixels.shape[1]}x{pixels.shape[0]}, but its pair is {width}x{height}"
        )
    return pixels.astype("<u2").tobytes() if bit_depth == 16 else pixels.tobytes()


def write_tfrecord(path, pairs, pixels="png"):
    """Writes `pairs` (data.pairs.Pair) to one TFRecord file, atomically: temporary name, then
    rename. `pixels`: "png" keeps the files' bytes, "raw" stores decoded pixels (module docstring).
    """
    if pixels not in PIXELS:
        raise ValueError(f"pixels must be one of {PIXELS}, got {pixels!r}")
    with file_io.atomic_path(path) as temporary, tf.io.TFRecordWriter(temporary) as writer:
        for pair in pairs:
            if pixels == "raw":
                depths = {read_png_info(pair.blurry).bit_depth, read_png_info(pair.sharp).bit_depth}
                depth = 16 if 16 in depths else 8
                blurry, sharp = (
                    _raw_pixels(path, depth, pair.height, pair.width)
                    for path in (pair.blurry, pair.sharp)
                )
            else:
                depth = 0
                blurry = tf.io.gfile.GFile(pair.blurry, "rb").read()
                sharp = tf.io.gfile.GFile(pair.sharp, "rb").read()
            writer.write(pair_example(blurry, sharp, pair.name, pair.height, pair.width, depth))


def parse_pair(serialized):
    """A serialised Example to {"blurry", "sharp": bytes still to decode, "name", "raw_shape"}:
    raw_shape is [height, width, bit depth] for raw pixels and zeros for PNG bytes
    (`images.decode_uint16` takes both)."""
    features = tf.io.parse_single_example(serialized, FEATURES)
    depth = features["raw_bit_depth"]
    raw = depth > 0

    def pick(key):  # tf.cond passes the chosen string through; tf.where would copy megabytes
        return tf.cond(raw, lambda: features[f"{key}_raw"], lambda: features[f"{key}_png"])

    return {
        "blurry": pick("blurry"),
        "sharp": pick("sharp"),
        "name": features["name"],
        "raw_shape": tf.where(
            raw, tf.stack([features["height"], features["width"], depth]), tf.zeros(3, tf.int64)
        ),
    }


def tfrecord_files(file_patterns):
    """Expands glob patterns to a sorted list of files; an empty match is an error naming the
    pattern, and a file that is not a shard of pairs one naming the file (`check_shard`)."""
    files = []
    for pattern in file_patterns:
        matched = tf.io.gfile.glob(pattern)
        if not matched:
            raise FileNotFoundError(f"no TFRecord files match {pattern}")
        files.extend(matched)
    files = sorted(set(files))
    for path in files:
        check_shard(path)
    return files


def check_shard(path):
    """A DataError naming `path` unless its first record is a pair of this format. Read before the
    input pipeline starts, where an empty shard made `repeat()` loop forever and any other
    problem was a traceback from inside it. (One record: a shard's size is not read ahead.)"""
    try:
        first = next(iter(tf.data.TFRecordDataset(path).take(1)), None)
        if first is None:
            raise DataError(f"{path} holds no pairs (an empty TFRecord file)")
        tf.io.parse_single_example(first, FEATURES)
    except tf.errors.DataLossError:
        raise DataError(f"{path} is not a TFRecord file (or is damaged)") from None
    except tf.errors.InvalidArgumentError as error:
        raise DataError(
            f"{path} holds records of another kind, not this project's pairs: "
            f"{op_message(error.message)}"
        ) from None
