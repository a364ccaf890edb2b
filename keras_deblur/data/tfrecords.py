"""The TFRecord pair format: one `tf.train.Example` per pair, the PNG bytes kept as they are.

Features:
  blurry_png, sharp_png  bytes   the encoded PNG files, unchanged (no re-encoding, no loss)
  name                   bytes   "<sequence>/<frame>.png", unique within a split
  height, width          int64   the image size, checked to be the same for both images

Keeping the PNG bytes makes shards as small as the PNG tree and lets one decoder
(`images.decode_png`) serve both sources. Writing shards at scale is the pipeline's ingest stage;
`write_tfrecord` here writes one file.
"""

import tensorflow as tf

from keras_deblur import file_io

FEATURES = {
    "blurry_png": tf.io.FixedLenFeature([], tf.string),
    "sharp_png": tf.io.FixedLenFeature([], tf.string),
    "name": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
}


def pair_example(blurry_png, sharp_png, name, height, width):
    """A serialised tf.train.Example of one pair."""

    def bytes_feature(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def int_feature(value):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    return tf.train.Example(
        features=tf.train.Features(
            feature={
                "blurry_png": bytes_feature(blurry_png),
                "sharp_png": bytes_feature(sharp_png),
                "name": bytes_feature(name.encode("utf-8")),
                "height": int_feature(height),
                "width": int_feature(width),
            }
        )
    ).SerializeToString()


def write_tfrecord(path, pairs):
    """Writes `pairs` (data.pairs.Pair) to one TFRecord file, atomically: temporary name, then
    rename."""
    with file_io.atomic_path(path) as temporary, tf.io.TFRecordWriter(temporary) as writer:
        for pair in pairs:
            writer.write(
                pair_example(
                    tf.io.gfile.GFile(pair.blurry, "rb").read(),
                    tf.io.gfile.GFile(pair.sharp, "rb").read(),
                    pair.name,
                    pair.height,
                    pair.width,
                )
            )


def parse_pair(serialized):
    """A serialised Example to {"blurry": bytes, "sharp": bytes, "name": string} (still encoded)."""
    features = tf.io.parse_single_example(serialized, FEATURES)
    return {
        "blurry": features["blurry_png"],
        "sharp": features["sharp_png"],
        "name": features["name"],
    }


def tfrecord_files(file_patterns):
    """Expands glob patterns to a sorted list of files; an empty match is an error naming the
    pattern."""
    files = []
    for pattern in file_patterns:
        matched = tf.io.gfile.glob(pattern)
        if not matched:
            raise FileNotFoundError(f"no TFRecord files match {pattern}")
        files.extend(matched)
    return sorted(set(files))
