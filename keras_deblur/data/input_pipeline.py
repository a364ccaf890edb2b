"""tf.data input: training batches of augmented crops, and ordered full-resolution evaluation pairs.

Training follows one fixed order (STYLE.md):
  list -> shuffle -> repeat -> decode -> paired crops + augmentation -> shuffle -> batch -> prefetch

- Files (or TFRecord shards) are shuffled before `repeat`, so every epoch sees every pair once.
- Several crops are cut from each decoded image (`crops_per_image`): decoding a 1280x720 PNG costs
  more than augmenting a 256x256 crop. The crops are shuffled again so one image does not fill a
  batch.
- Randomness is stateless: crop j of the n-th decoded image gets a seed derived from
  (seed, n, j), so the same seed gives the same batches (with the deterministic map order used
  here).

A source is either a sequence of `pairs.Pair` (a PNG tree) or a list of TFRecord files/patterns.
"""

import dataclasses

import tensorflow as tf

from keras_deblur.data import images, tfrecords
from keras_deblur.data.augment import augment_pair
from keras_deblur.data.augment_config import AugmentConfig
from keras_deblur.data.pairs import Pair
from keras_deblur.errors import DATA_CHECK, DataError


@dataclasses.dataclass(frozen=True)
class InputConfig:
    """How training batches are made."""

    batch_size: int = 4  # what this dataset yields: the global batch, or one worker's share of it
    crops_per_image: int = 4
    shuffle_buffer: int = 64  # crops
    seed: int = 0
    augment: AugmentConfig = AugmentConfig()

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"--global_batch_size must be >= 1, got {self.batch_size}")
        if self.crops_per_image < 1:
            raise ValueError(f"--crops_per_image must be >= 1, got {self.crops_per_image}")
        if self.shuffle_buffer < 1:
            raise ValueError(
                f"--shuffle_buffer must be >= 1 (1: no shuffling of crops), got "
                f"{self.shuffle_buffer}"
            )


def _is_png_tree(source):
    return len(source) > 0 and all(isinstance(item, Pair) for item in source)


def _check_crop_fits(pairs, config):
    window = config.augment.window_size
    for pair in pairs:
        if min(pair.height, pair.width) < window:
            raise DataError(
                f"--crop_size={config.augment.crop_size} with --rotation={config.augment.rotation} "
                f"needs images of at least {window}x{window}, but {pair.blurry} is "
                f"{pair.width}x{pair.height}"
            )


def encoded_pairs(source, shuffle_seed=None):
    """Encoded pairs {"blurry", "sharp", "name", "raw_shape"} (`tfrecords.parse_pair`), shuffled
    (then repeated) if a seed is given."""
    if _is_png_tree(source):
        ds = tf.data.Dataset.from_tensor_slices(
            {
                "blurry": [p.blurry for p in source],
                "sharp": [p.sharp for p in source],
                "name": [p.name for p in source],
                "raw_shape": tf.zeros((len(source), 3), tf.int64),  # PNG bytes, not raw pixels
            }
        )
        if shuffle_seed is not None:
            ds = ds.shuffle(len(source), seed=shuffle_seed, reshuffle_each_iteration=True).repeat()
        return ds.map(
            lambda p: {
                **p,
                "blurry": tf.io.read_file(p["blurry"]),
                "sharp": tf.io.read_file(p["sharp"]),
            },
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    files = tfrecords.tfrecord_files(list(source))
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_seed is None:
        return tf.data.TFRecordDataset(ds).map(tfrecords.parse_pair)
    ds = ds.shuffle(len(files), seed=shuffle_seed, reshuffle_each_iteration=True).repeat()
    # Read several shards at once so consecutive pairs come from different shards.
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return ds.map(tfrecords.parse_pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _same_size(blurry, sharp, name):
    """(blurry, sharp) once their sizes are checked equal; a mismatch fails naming the pair."""
    same_size = tf.reduce_all(tf.equal(tf.shape(blurry), tf.shape(sharp)))
    message = ["blurry and sharp sizes differ for pair", name, tf.shape(blurry), tf.shape(sharp)]
    with tf.control_dependencies([tf.debugging.Assert(same_size, message)]):
        return tf.identity(blurry), tf.identity(sharp)


def decode_pair(encoded):
    """Decodes an encoded pair to {"blurry", "sharp", "name"}: float32 in [0, 1]; a size mismatch
    fails naming the pair."""
    blurry, sharp = (
        images.to_float(images.decode_uint16(encoded[key], encoded["raw_shape"], encoded["name"]))
        for key in ("blurry", "sharp")
    )
    blurry, sharp = _same_size(blurry, sharp, encoded["name"])
    return {"blurry": blurry, "sharp": sharp, "name": encoded["name"]}


def _crops(index, encoded, config):
    """`crops_per_image` augmented crops of one decoded pair, stacked: ([n, c, c, 3], [n, c, c,
    3]).

    The images stay integers until augment_pair cuts the crop windows. Raw 8-bit pixels (what
    ingest writes for training) stay 8-bit: widening a whole 1280x720 pair to 16 bits first took
    ~5.4 ms of one core, more than a crop's augmentation; augment_pair widens the windows alone
    (`images.widen_to_uint16`).
    """

    def crops(decode):
        blurry, sharp = (
            decode(encoded[key], encoded["raw_shape"], encoded["name"])
            for key in ("blurry", "sharp")
        )
        blurry, sharp = _same_size(blurry, sharp, encoded["name"])
        with tf.control_dependencies([_fits_check(blurry, encoded["name"], config)]):
            pairs = [
                augment_pair(blurry, sharp, seeds[j], config.augment)
                for j in range(config.crops_per_image)
            ]
        return tf.stack([p[0] for p in pairs]), tf.stack([p[1] for p in pairs])

    seeds = tf.random.experimental.stateless_split(
        tf.stack([tf.cast(config.seed, tf.int64), index]), num=config.crops_per_image
    )
    raw_8_bit = tf.logical_and(encoded["raw_shape"][0] > 0, encoded["raw_shape"][2] == 8)
    return tf.cond(
        raw_8_bit, lambda: crops(images.decode_raw_uint8), lambda: crops(images.decode_uint16)
    )


def _fits_check(image, name, config):
    """An assertion that `image` is at least the augmentation's window on both sides."""
    window = config.augment.window_size
    size = tf.shape(image)
    return tf.debugging.Assert(
        tf.reduce_all(size[:2] >= window),
        [
            f"{DATA_CHECK}--crop_size={config.augment.crop_size} (--rotation="
            f"{config.augment.rotation}) needs images of at least {window}x{window}, but",
            tf.strings.join(
                [name, " is ", tf.strings.as_string(size[1]), "x", tf.strings.as_string(size[0])]
            ),
        ],
    )


def training_dataset(source, config=InputConfig()):
    """Endless batches (blurry, sharp) of [batch_size, crop, crop, 3] float32 crops.

    Args:
      source: a sequence of pairs.Pair, or TFRecord file patterns.
      config: an InputConfig.
    """
    if _is_png_tree(source):
        _check_crop_fits(source, config)
    ds = encoded_pairs(source, shuffle_seed=config.seed)
    ds = ds.enumerate()  # the n of the n-th decoded image, for its crops' seeds
    ds = ds.map(
        lambda n, encoded: _crops(n, encoded, config),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.unbatch()
    ds = ds.shuffle(config.shuffle_buffer, seed=config.seed + 1)
    ds = ds.batch(config.batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(source):
    """Full-resolution pairs in a fixed order, unaugmented: {"blurry", "sharp", "name"} per pair."""
    return encoded_pairs(source).map(
        decode_pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
