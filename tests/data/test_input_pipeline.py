import numpy as np
import pytest

from keras_deblur.data import images
from keras_deblur.data.augment_config import AugmentConfig
from keras_deblur.data.input_pipeline import InputConfig, evaluation_dataset, training_dataset
from keras_deblur.data.pairs import discover_pairs
from keras_deblur.data.tfrecords import write_tfrecord
from keras_deblur.errors import DataError


def _config(seed=0, rotation="any", crop=24):
    return InputConfig(
        batch_size=3,
        crops_per_image=2,
        shuffle_buffer=8,
        seed=seed,
        augment=AugmentConfig(crop_size=crop, rotation=rotation),
    )


def _batches(source, config, count=3):
    ds = training_dataset(source, config)
    return [(b.numpy(), s.numpy()) for b, s in ds.take(count)]


def test_batches_have_the_crop_shape_and_range(gopro_tree):
    pairs = discover_pairs(gopro_tree, "train").pairs
    for blurry, sharp in _batches(pairs, _config()):
        assert blurry.shape == sharp.shape == (3, 24, 24, 3)
        assert blurry.dtype == np.float32
        assert 0.0 <= blurry.min() and blurry.max() <= 1.0


def test_same_seed_same_batches_other_seed_other_batches(gopro_tree):
    pairs = discover_pairs(gopro_tree, "train").pairs
    first, again, other = (
        _batches(pairs, _config(1)),
        _batches(pairs, _config(1)),
        _batches(pairs, _config(2)),
    )
    for (b1, s1), (b2, s2) in zip(first, again):
        np.testing.assert_array_equal(b1, b2)
        np.testing.assert_array_equal(s1, s2)
    assert not np.array_equal(first[0][0], other[0][0])


def test_epochs_visit_every_image(gopro_tree):
    """Files are shuffled before repeat: over one epoch's worth of crops, each image is used."""
    pairs = discover_pairs(gopro_tree, "train").pairs
    config = InputConfig(
        batch_size=1,
        crops_per_image=1,
        shuffle_buffer=1,
        seed=0,
        augment=AugmentConfig(crop_size=40, rotation="none", augmentations=()),
    )
    sharp_images = [images.read_png(p.sharp) for p in pairs]

    def source(crop):
        # A 40 x 56 image gives a 40 x 40 crop at one of 17 columns.
        return [
            i
            for i, image in enumerate(sharp_images)
            if any(np.allclose(crop, image[:, left : left + 40], atol=1e-6) for left in range(17))
        ]

    sources = [source(s[0]) for _, s in _batches(pairs, config, count=len(pairs))]
    assert sorted(sum(sources, [])) == list(range(len(pairs)))


def test_evaluation_is_ordered_full_resolution_and_unaugmented(gopro_tree):
    pairs = discover_pairs(gopro_tree, "train").pairs
    got = list(evaluation_dataset(pairs))
    assert [g["name"].numpy().decode() for g in got] == [p.name for p in pairs]
    for element, pair in zip(got, pairs):
        np.testing.assert_array_equal(element["blurry"].numpy(), images.read_png(pair.blurry))
        np.testing.assert_array_equal(element["sharp"].numpy(), images.read_png(pair.sharp))


def _write_shards(folder, pairs, pixels):
    folder.mkdir()
    shards = [str(folder / "train-0.tfrecord"), str(folder / "train-1.tfrecord")]
    write_tfrecord(shards[0], pairs[:4], pixels)
    write_tfrecord(shards[1], pairs[4:], pixels)
    return shards


@pytest.mark.parametrize("pixels", ["png", "raw"])
def test_tfrecords_give_the_same_pairs_as_the_png_tree(gopro_tree, tmp_path, pixels):
    pairs = discover_pairs(gopro_tree, "train").pairs
    shard_a, shard_b = _write_shards(tmp_path / pixels, pairs, pixels)
    from_png = list(evaluation_dataset(pairs))
    from_records = list(evaluation_dataset([shard_a, shard_b]))
    assert [e["name"].numpy() for e in from_records] == [e["name"].numpy() for e in from_png]
    for a, b in zip(from_png, from_records):
        np.testing.assert_array_equal(a["blurry"].numpy(), b["blurry"].numpy())
        np.testing.assert_array_equal(a["sharp"].numpy(), b["sharp"].numpy())
    blurry, sharp = _batches([shard_a, shard_b], _config())[0]
    assert blurry.shape == (3, 24, 24, 3)


def test_raw_and_png_shards_give_the_same_pairs_and_batches(gopro_tree, tmp_path):
    import tensorflow as tf
    from PIL import Image

    pairs = discover_pairs(gopro_tree, "train").pairs
    # A 16-bit pair (raw shards must keep 16-bit values exactly, as PNG decoding does), a grey PNG
    # and a palette PNG (stored raw as the RGB that PNG decoding gives).
    deep = images.read_png(pairs[0].blurry)
    deep16 = np.round(deep * 65535.0 + np.linspace(0, 200, deep.shape[1])[None, :, None])
    tf.io.write_file(
        pairs[0].blurry, tf.io.encode_png(tf.constant(np.clip(deep16, 0, 65535), tf.uint16))
    )
    Image.open(pairs[1].sharp).convert("L").save(pairs[1].sharp)
    Image.open(pairs[2].blurry).convert("P").save(pairs[2].blurry)
    png_shards = _write_shards(tmp_path / "png", pairs, "png")
    raw_shards = _write_shards(tmp_path / "raw", pairs, "raw")
    from_png = list(evaluation_dataset(png_shards))
    from_raw = list(evaluation_dataset(raw_shards))
    assert [e["name"].numpy() for e in from_raw] == [e["name"].numpy() for e in from_png]
    for a, b in zip(from_png, from_raw, strict=True):
        np.testing.assert_array_equal(a["blurry"].numpy(), b["blurry"].numpy())
        np.testing.assert_array_equal(a["sharp"].numpy(), b["sharp"].numpy())
    assert len(np.unique(from_raw[0]["blurry"].numpy() * 65535 % 257)) > 1  # not 8-bit values
    for (b1, s1), (b2, s2) in zip(_batches(png_shards, _config()), _batches(raw_shards, _config())):
        np.testing.assert_array_equal(b1, b2)
        np.testing.assert_array_equal(s1, s2)


def test_bad_raw_records_are_named(gopro_tree, tmp_path):
    import tensorflow as tf

    from keras_deblur.data import tfrecords
    from keras_deblur.data.pairs import Pair

    pairs = discover_pairs(gopro_tree, "train").pairs
    swapped = Pair(pairs[0].blurry, pairs[0].sharp, pairs[0].name, pairs[0].width, pairs[0].height)
    with pytest.raises(DataError, match=r"000000.png is 56x40, but its pair is 40x56"):
        write_tfrecord(str(tmp_path / "swapped.tfrecord"), [swapped], "raw")
    assert not list(tmp_path.glob("swapped*"))
    short = tfrecords.pair_example(b"\0" * 30, b"\0" * 30, "seq/short.png", 40, 56, 8)
    empty = tf.train.Example(
        features=tf.train.Features(
            feature={
                "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"seq/empty.png"])),
                "height": tf.train.Feature(int64_list=tf.train.Int64List(value=[4])),
                "width": tf.train.Feature(int64_list=tf.train.Int64List(value=[4])),
            }
        )
    ).SerializeToString()
    for name, record in (("short", short), ("empty", empty)):
        path = str(tmp_path / f"{name}.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            writer.write(record)
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"seq/{name}.png"):
            list(evaluation_dataset([path]))


def test_crop_larger_than_the_images_is_named(gopro_tree):
    pairs = discover_pairs(gopro_tree, "train", "blur").pairs
    with pytest.raises(
        DataError,
        match=r"--crop_size=32 with --rotation=any needs images of at least 48x48, "
        r"but .*seqA/blur/000000.png is 56x40",
    ):
        training_dataset(pairs, _config(crop=32))


def test_missing_tfrecords_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TFRecord files match .*nothing-\\*.tfrecord"):
        training_dataset([str(tmp_path / "nothing-*.tfrecord")], _config())


def test_bad_batch_config_is_named():
    with pytest.raises(ValueError, match="--global_batch_size must be >= 1, got 0"):
        InputConfig(batch_size=0)
    with pytest.raises(ValueError, match="--crops_per_image must be >= 1, got 0"):
        InputConfig(crops_per_image=0)
    with pytest.raises(ValueError, match="--shuffle_buffer must be >= 1"):
        InputConfig(shuffle_buffer=0)


def test_shards_that_hold_no_pairs_are_named_before_the_pipeline(tmp_path):
    """An empty shard made repeat() loop forever; the others were tracebacks from inside tf.data."""
    import tensorflow as tf

    (tmp_path / "empty.tfrecord").write_bytes(b"")
    (tmp_path / "garbage.tfrecord").write_bytes(b"not a record at all, just some bytes")
    with tf.io.TFRecordWriter(str(tmp_path / "other.tfrecord")) as writer:
        other = {"label": tf.train.Feature(int64_list=tf.train.Int64List(value=[1]))}
        writer.write(
            tf.train.Example(features=tf.train.Features(feature=other)).SerializeToString()
        )
    for name, message in [
        ("empty", "holds no pairs"),
        ("garbage", "is not a TFRecord file"),
        ("other", "holds records of another kind.*height"),
    ]:
        path = str(tmp_path / f"{name}.tfrecord")
        with pytest.raises(DataError, match=f"{name}.tfrecord {message}"):
            training_dataset([path], _config())


def test_tfrecord_images_smaller_than_the_crop_are_one_error_line(gopro_tree, tmp_path, capsys):
    """Checked in the graph (a shard's sizes are not read ahead): it reached the user as a
    traceback; the command line now says what the check says."""
    from keras_deblur import cli

    path = str(tmp_path / "train.tfrecord")
    write_tfrecord(path, discover_pairs(gopro_tree, "train", "blur").pairs, "raw")
    dataset = training_dataset([path], _config(crop=32))
    assert cli.call_reporting_errors(lambda argv: next(iter(dataset)), []) == 1
    said = capsys.readouterr().err.strip().splitlines()
    assert said == [
        "error: --crop_size=32 (--rotation=any) needs images of at least 48x48, but "
        "seqA/000000.png is 56x40"
    ]
