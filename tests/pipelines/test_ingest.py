import glob
import json
import os
import posixpath
import shutil

import pytest

from keras_deblur.data import images
from keras_deblur.data.blur_math import to_uint8
from keras_deblur.errors import DataError
from keras_deblur.evaluation.dataset import load_test_set
from pipelines.ingest import ingest, shard_pattern


def test_ingest_writes_shards_that_hold_the_same_pairs(scenes_dir, tmp_path):
    manifest = ingest(scenes_dir, str(tmp_path / "ingest"), blur_key="blur", num_shards=4)
    assert manifest["splits"]["train"]["pairs"] == 6 and manifest["splits"]["test"]["pairs"] == 2
    assert manifest["splits"]["test"]["sizes"] == ["48x48"]
    assert 15 < manifest["splits"]["test"]["mean_blurry_psnr"] < 40
    assert json.loads((tmp_path / "ingest" / "manifest.json").read_text()) == manifest
    assert len(os.listdir(tmp_path / "ingest")) == 7  # 4 + 2 shards (2 test pairs) and the manifest
    from_shards = load_test_set(test_tfrecords=[shard_pattern(str(tmp_path / "ingest"), "test")])
    assert from_shards.fingerprint() == load_test_set(scenes_dir, blur_key="blur").fingerprint()
    # Training reads its split every epoch, as raw pixels; the test split keeps the PNG bytes.
    kinds = {
        split: {
            _pixels_kind(path) for path in glob.glob(shard_pattern(str(tmp_path / "ingest"), split))
        }
        for split in ("train", "test")
    }
    assert kinds == {"train": {"raw"}, "test": {"png"}}

    # The same data and settings give the same bytes, so the stages after ingest are reused.
    ingest(scenes_dir, str(tmp_path / "again"), blur_key="blur", num_shards=4)
    for name in os.listdir(tmp_path / "ingest"):
        assert (tmp_path / "again" / name).read_bytes() == (
            tmp_path / "ingest" / name
        ).read_bytes(), name


def test_training_from_shards_mixes_the_sequences(tmp_path):
    """Two videos of 12 frames: the first 8 pairs that training reads come from both (in name
    order per shard, they were all the first video's consecutive frames)."""
    import numpy as np
    from PIL import Image

    from keras_deblur.data.input_pipeline import encoded_pairs

    rng = np.random.default_rng(0)
    for sequence in ("video_a", "video_b"):
        for frame in range(12):
            for key in ("blur", "sharp"):
                folder = tmp_path / "tree" / "train" / sequence / key
                folder.mkdir(parents=True, exist_ok=True)
                pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{frame:06d}.png")
    ingest(str(tmp_path / "tree"), str(tmp_path / "ingest"), blur_key="blur", num_shards=4)
    shards = [shard_pattern(str(tmp_path / "ingest"), "train")]
    first = [p["name"].numpy().decode() for p in encoded_pairs(shards, shuffle_seed=0).take(8)]
    assert {name.split("/")[0] for name in first} == {"video_a", "video_b"}, first


def _pixels_kind(shard):
    import tensorflow as tf

    example = tf.train.Example.FromString(next(iter(tf.data.TFRecordDataset(shard))).numpy())
    return "raw" if "blurry_raw" in example.features.feature else "png"


def _copy(scenes_dir, tmp_path):
    root = str(tmp_path / "source")
    shutil.copytree(scenes_dir, root)
    return root


def _a_pair(root, split="train"):
    sequence = sorted(os.listdir(posixpath.join(root, split)))[0]
    frame = sorted(os.listdir(posixpath.join(root, split, sequence, "sharp")))[0]
    return sequence, frame


def test_bad_pairs_stop_ingest_with_every_problem_unless_skipped(scenes_dir, tmp_path):
    root = _copy(scenes_dir, tmp_path)
    sequence, frame = _a_pair(root)
    sharp = posixpath.join(root, "train", sequence, "sharp", frame)
    pixels = images.read_png(sharp)
    images.write_png(sharp, to_uint8(pixels * 0))  # a flat black frame
    with pytest.raises(DataError, match=r"(?s)1 bad pairs.*one flat value 0"):
        ingest(root, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and not [
        n for n in os.listdir(tmp_path) if n.startswith("out.tmp")
    ]
    manifest = ingest(root, str(tmp_path / "out"), skip_bad_pairs=True)
    assert manifest["splits"]["train"]["pairs"] == 5 and len(manifest["skipped"]) == 1


def test_a_pair_in_both_splits_is_reported_as_a_duplicate(scenes_dir, tmp_path):
    root = _copy(scenes_dir, tmp_path)
    sequence, frame = _a_pair(root)
    shutil.copytree(posixpath.join(root, "train", sequence), posixpath.join(root, "test", "leaked"))
    with pytest.raises(DataError, match="the same pair content appears 2 times"):
        ingest(root, str(tmp_path / "out"), skip_bad_pairs=True)


def test_ingest_never_writes_into_an_existing_folder(scenes_dir, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        ingest(scenes_dir, str(tmp_path / "out"))
    with pytest.raises(ValueError, match="--num_shards must be >= 1, got 0"):
        ingest(scenes_dir, str(tmp_path / "other"), num_shards=0)
