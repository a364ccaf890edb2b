import dataclasses
import os

import numpy as np
import pytest

from keras_deblur.data import images
from keras_deblur.data.blur_math import middle_index, synthesize_blur
from keras_deblur.data.blur_synthesis import SynthesisConfig, synthesize_tree
from keras_deblur.data.pairs import discover_pairs
from keras_deblur.errors import DataError


@pytest.mark.parametrize("gamma", [1.0, 2.2])
def test_constant_sequence_gives_that_frame(gamma, rng):
    frame = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(synthesize_blur(np.stack([frame] * 9), gamma=gamma), frame)


def test_two_frames_give_the_gamma_correct_mean_by_hand():
    frames = np.stack([np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 255, np.uint8)])
    # gamma 2.2: g(mean(0^2.2, 1^2.2)) = 0.5^(1/2.2) = 0.72974 -> 186.08 -> 186.
    assert synthesize_blur(frames, gamma=2.2)[0, 0, 0] == 186
    # linear: mean(0, 255) = 127.5 -> rounds to 128.
    assert synthesize_blur(frames, gamma=1.0)[0, 0, 0] == 128
    # 64 and 192: ((0.25098^2.2 + 0.75294^2.2) / 2)^(1/2.2) = (0.29171)^(1/2.2) = 0.57121 -> 145.66
    # -> 146, brighter than the linear mean 128: averaging in linear light.
    frames = np.stack([np.full((1, 1, 3), 64, np.uint8), np.full((1, 1, 3), 192, np.uint8)])
    assert synthesize_blur(frames, gamma=2.2)[0, 0, 0] == 146


def test_middle_frame():
    assert [middle_index(m) for m in (1, 7, 8, 13)] == [0, 3, 4, 6]


def _write_frames(folder, count, rng, size=(24, 32)):
    frames = rng.integers(0, 256, (count, *size, 3), dtype=np.uint8)
    for index, frame in enumerate(frames):
        images.write_png(os.path.join(folder, f"{index:06d}.png"), frame)
    return frames


def test_synthesize_tree_writes_the_gopro_layout(tmp_path, rng):
    frames = {
        name: _write_frames(str(tmp_path / "frames" / name), 20, rng) for name in ("s1", "s2", "s3")
    }
    output = str(tmp_path / "out")
    config = SynthesisConfig(min_frames=7, max_frames=7, test_fraction=0.34, seed=3)
    result = synthesize_tree(str(tmp_path / "frames"), output, config)
    # 20 frames hold two windows of 7 (6 left over) per sequence; one of three sequences is test.
    assert result["pairs"] == {"train": 4, "test": 2}
    train = discover_pairs(output, "train", "blur").pairs
    sequence = train[0].name.split("/")[0]
    # The first window is frames 0-6: named after, and sharp equal to, its middle frame 3.
    assert train[0].name == f"{sequence}/000003.png"
    np.testing.assert_allclose(
        images.read_png(train[0].sharp), frames[sequence][3] / 255, atol=1e-6
    )
    np.testing.assert_allclose(
        images.read_png(f"{output}/train/{sequence}/blur_gamma/000003.png") * 255,
        synthesize_blur(frames[sequence][0:7], gamma=2.2),
        atol=1e-3,
    )
    np.testing.assert_allclose(
        images.read_png(train[0].blurry) * 255,
        synthesize_blur(frames[sequence][0:7], gamma=1.0),
        atol=1e-3,
    )
    assert train[1].name == f"{sequence}/000010.png"  # second window: frames 7-13

    # Pointed at it again: the same settings skip what is there; others are refused, or replace it.
    os.remove(train[1].sharp)
    written_before = os.path.getmtime(train[0].sharp)
    assert synthesize_tree(str(tmp_path / "frames"), output, config)["pairs"] == result["pairs"]
    assert os.path.exists(train[1].sharp) and os.path.getmtime(train[0].sharp) == written_before
    other = SynthesisConfig(min_frames=7, max_frames=7, test_fraction=0.34, seed=3, gamma=1.8)
    with pytest.raises(
        DataError, match="holds a dataset written with other settings .gamma 2.2 there, 1.8 now"
    ):
        synthesize_tree(str(tmp_path / "frames"), output, other)
    synthesize_tree(str(tmp_path / "frames"), output, other, overwrite=True)
    assert not np.array_equal(
        images.read_png(f"{output}/train/{sequence}/blur_gamma/000003.png") * 255,
        synthesize_blur(frames[sequence][0:7], gamma=2.2),
    )


def test_a_rerun_never_puts_a_sequence_in_both_splits(tmp_path, rng):
    """An --output_dir inside --frames_dir was read as a sequence by the rerun, and sequences
    added between runs redrew the split: the same sequence ended up in train and in test."""
    frames = tmp_path / "frames"
    for name in ("s1", "s2", "s3"):
        _write_frames(str(frames / name), 8, rng)
    config = SynthesisConfig(min_frames=7, max_frames=7, test_fraction=0.34, seed=0)
    with pytest.raises(DataError, match="frames/out is inside --frames_dir="):
        synthesize_tree(str(frames), str(frames / "out"), config)
    assert not (frames / "out").exists()

    synthesize_tree(str(frames), str(tmp_path / "out"), config)
    for name in ("s4", "s5"):
        _write_frames(str(frames / name), 8, rng)
    with pytest.raises(DataError, match="other settings .test_sequences"):
        synthesize_tree(str(frames), str(tmp_path / "out"), config)
    splits = {s: set(os.listdir(tmp_path / "out" / s)) for s in ("train", "test")}
    assert not splits["train"] & splits["test"]


def test_existing_split_is_kept(tmp_path, rng, caplog):
    _write_frames(str(tmp_path / "frames" / "test" / "only"), 8, rng)
    _write_frames(str(tmp_path / "frames" / "stray"), 8, rng)  # left out: named, not silently
    config = SynthesisConfig(min_frames=7, max_frames=7)
    result = synthesize_tree(str(tmp_path / "frames"), str(tmp_path / "out"), config)
    assert result["pairs"] == {"train": 0, "test": 1}
    assert "only those are read; leaving out the folder(s) stray" in caplog.text


def test_short_sequence_is_named(tmp_path, rng):
    _write_frames(str(tmp_path / "frames" / "long"), 14, rng)
    _write_frames(str(tmp_path / "frames" / "short"), 5, rng)
    with pytest.raises(
        DataError, match=r"frames/short has 5 PNG frames, fewer than --min_frames=7"
    ):
        synthesize_tree(
            str(tmp_path / "frames"), str(tmp_path / "out"), SynthesisConfig(test_fraction=0)
        )
    result = synthesize_tree(
        str(tmp_path / "frames"),
        str(tmp_path / "out"),
        SynthesisConfig(test_fraction=0, skip_bad_pairs=True),
    )
    assert len(result["skipped"]) == 1 and result["skipped"][0][0].endswith("frames/short")
    assert result["pairs"]["train"] >= 1


def test_frame_of_another_size_is_named(tmp_path, rng):
    _write_frames(str(tmp_path / "frames" / "s"), 8, rng)
    images.write_png(str(tmp_path / "frames" / "s" / "000002.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(
        DataError, match=r"frame .*s/000002.png is 10x10, but .*s/000000.png is 32x24"
    ):
        synthesize_tree(
            str(tmp_path / "frames"),
            str(tmp_path / "out"),
            SynthesisConfig(min_frames=7, max_frames=7, test_fraction=0),
        )


def test_skip_bad_pairs_skips_the_pair_of_a_corrupt_or_odd_sized_frame(tmp_path, rng):
    """It stopped the run, as without the flag, leaving every later sequence unwritten."""
    for name in ("a", "b", "c"):
        _write_frames(str(tmp_path / "frames" / name), 14, rng)
    (tmp_path / "frames" / "a" / "000003.png").write_bytes(b"not a PNG any more")
    images.write_png(str(tmp_path / "frames" / "b" / "000009.png"), np.zeros((10, 10, 3), np.uint8))
    config = SynthesisConfig(min_frames=7, max_frames=7, test_fraction=0, skip_bad_pairs=True)
    result = synthesize_tree(str(tmp_path / "frames"), str(tmp_path / "out"), config)
    # Each sequence has two windows of 7 frames; the named one is each bad window's middle frame.
    assert [os.path.relpath(path, tmp_path) for path, _ in result["skipped"]] == [
        "frames/a/000003.png",
        "frames/b/000010.png",
    ]
    assert "cannot decode frame" in result["skipped"][0][1]
    assert "is 10x10" in result["skipped"][1][1]
    assert result["pairs"] == {"train": 4, "test": 0}


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="min_frames=9, max_frames=7"):
        SynthesisConfig(min_frames=9, max_frames=7)
    with pytest.raises(ValueError, match="gamma must be > 0, got 0"):
        synthesize_blur(np.zeros((2, 1, 1, 3), np.uint8), gamma=0)
    # Checked when the settings are made, before an output folder records them.
    with pytest.raises(ValueError, match="gamma must be > 0, got 0"):
        SynthesisConfig(gamma=0)


def test_a_file_that_is_not_a_png_frame_is_named(tmp_path, rng):
    _write_frames(str(tmp_path / "frames" / "good"), 8, rng)
    _write_frames(str(tmp_path / "frames" / "mixed"), 8, rng)
    (tmp_path / "frames" / "mixed" / "000008.jpg").write_bytes(b"a frame saved as JPEG")
    (tmp_path / "frames" / "mixed" / ".DS_Store").write_bytes(b"not a frame, and hidden")
    (tmp_path / "frames" / "good" / "._000000.png").write_bytes(b"macOS's metadata, hidden")
    (tmp_path / "frames" / "good" / "Thumbs.db").write_bytes(b"not an image")
    config = SynthesisConfig(min_frames=7, max_frames=7, test_fraction=0)
    with pytest.raises(DataError, match=r"frames/mixed holds 000008.jpg, not a PNG frame"):
        synthesize_tree(str(tmp_path / "frames"), str(tmp_path / "out"), config)
    skipping = dataclasses.replace(config, skip_bad_pairs=True)
    result = synthesize_tree(str(tmp_path / "frames"), str(tmp_path / "out"), skipping)
    assert [path for path, _ in result["skipped"]] == [str(tmp_path / "frames" / "mixed")]
    assert result["pairs"] == {"train": 1, "test": 0}
