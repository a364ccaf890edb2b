import os

import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.data import images
from keras_deblur.data.pairs import discover_pairs
from keras_deblur.data.png_info import read_png_info
from keras_deblur.errors import DataError


def test_discovers_every_pair_sorted(gopro_tree):
    found = discover_pairs(gopro_tree, "train", "blur")
    assert [p.name for p in found.pairs] == [
        f"{s}/{f:06d}.png" for s in ("seqA", "seqB") for f in range(3)
    ]
    assert all((p.height, p.width) == (40, 56) for p in found.pairs)
    assert found.pairs[0].blurry.endswith("train/seqA/blur/000000.png")
    assert found.pairs[0].sharp.endswith("train/seqA/sharp/000000.png")
    assert found.skipped == ()
    gamma = discover_pairs(gopro_tree, "train", blur_key="blur_gamma")
    assert gamma.pairs[0].blurry.endswith("train/seqA/blur_gamma/000000.png")
    assert len(discover_pairs(gopro_tree, "test").pairs) == 1


def test_blurry_without_sharp_is_named(gopro_tree):
    os.remove(f"{gopro_tree}/train/seqB/sharp/000001.png")
    with pytest.raises(DataError, match=r"seqB/blur/000001.png: has no sharp partner"):
        discover_pairs(gopro_tree, "train", "blur")
    found = discover_pairs(gopro_tree, "train", "blur", skip_bad_pairs=True)
    assert len(found.pairs) == 5
    assert [path for path, _ in found.skipped] == [f"{gopro_tree}/train/seqB/blur/000001.png"]


def test_sharp_without_blurry_is_named(gopro_tree):
    os.remove(f"{gopro_tree}/train/seqA/blur/000002.png")
    with pytest.raises(DataError, match=r"seqA/sharp/000002.png: has no blurry partner"):
        discover_pairs(gopro_tree, "train", "blur")


def test_sizes_that_differ_are_named(gopro_tree):
    images.write_png(f"{gopro_tree}/train/seqA/sharp/000001.png", np.zeros((40, 50, 3), np.uint8))
    with pytest.raises(
        DataError,
        match=r"sizes differ: .*seqA/blur/000001.png is 56x40, .*seqA/sharp/000001.png is 50x40",
    ):
        discover_pairs(gopro_tree, "train", "blur")


def test_truncated_png_is_named(gopro_tree):
    path = f"{gopro_tree}/train/seqB/blur/000002.png"
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"seqB/blur/000002.png is truncated"):
        discover_pairs(gopro_tree, "train", "blur")


def test_corrupt_pixels_are_named(gopro_tree):
    path = f"{gopro_tree}/train/seqA/sharp/000000.png"
    data = bytearray(open(path, "rb").read())
    data[60:80] = b"\x00" * 20  # inside the image data: header and IEND trailer stay intact
    open(path, "wb").write(bytes(data))
    with pytest.raises(DataError, match=r"cannot decode .*seqA/sharp/000000.png"):
        discover_pairs(gopro_tree, "train", "blur")
    assert len(discover_pairs(gopro_tree, "train", "blur", check_pixels=False).pairs) == 6


def test_non_png_is_named(gopro_tree):
    open(f"{gopro_tree}/train/seqA/blur/000000.png", "w").write("not an image")
    with pytest.raises(DataError, match=r"seqA/blur/000000.png is not a PNG file"):
        discover_pairs(gopro_tree, "train", "blur")


def test_frames_saved_in_another_format_are_named_not_left_out(gopro_tree):
    """A .jpg pair beside the PNGs was left out without a word."""
    for key in ("blur", "sharp"):
        open(f"{gopro_tree}/train/seqA/{key}/000003.jpg", "w").write("a JPEG, say")
    open(f"{gopro_tree}/train/seqA/blur/notes.txt", "w").write("not an image: left alone")
    with pytest.raises(DataError, match=r"(?s)2 bad pair.*seqA/blur/000003.jpg: is not a PNG"):
        discover_pairs(gopro_tree, "train", "blur")
    found = discover_pairs(gopro_tree, "train", "blur", skip_bad_pairs=True)
    assert len(found.pairs) == 6 and len(found.skipped) == 2


def test_missing_and_empty_folders(gopro_tree, tmp_path):
    with pytest.raises(DataError, match=r"nowhere/train does not exist; expected the GOPRO layout"):
        discover_pairs(str(tmp_path / "nowhere"), "train")
    os.makedirs(tmp_path / "empty" / "train")
    with pytest.raises(DataError, match=r"empty/train holds no sequence folders"):
        discover_pairs(str(tmp_path / "empty"), "train")
    os.makedirs(tmp_path / "nopng" / "train" / "seq" / "blur")
    os.makedirs(tmp_path / "nopng" / "train" / "seq" / "sharp")
    with pytest.raises(DataError, match=r"no usable pairs under .*nopng/train"):
        discover_pairs(str(tmp_path / "nopng"), "train", "blur")


def test_bad_split_and_blur_key_are_named(gopro_tree):
    with pytest.raises(ValueError, match="split must be one of .* got 'val'"):
        discover_pairs(gopro_tree, "val")
    with pytest.raises(ValueError, match="blur_key must be one of .* got 'blurry'"):
        discover_pairs(gopro_tree, "train", blur_key="blurry")


def _png(tmp_path, name, pixels):
    path = str(tmp_path / name)
    with open(path, "wb") as f:
        f.write(tf.io.encode_png(pixels).numpy())
    return path


def test_grayscale_rgba_and_16_bit_are_converted(tmp_path):
    gray = _png(tmp_path, "gray.png", np.full((2, 3, 1), 51, np.uint8))
    np.testing.assert_allclose(images.read_png(gray), 51 / 255, atol=1e-6)
    assert images.read_png(gray).shape == (2, 3, 3)

    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 10  # red, nearly transparent: alpha is dropped
    rgba_path = _png(tmp_path, "rgba.png", rgba)
    np.testing.assert_allclose(images.read_png(rgba_path)[0, 0], [1.0, 0.0, 0.0], atol=1e-6)
    assert read_png_info(rgba_path).color_type == "RGBA"

    deep = np.full((2, 3, 3), 1000, np.uint16)
    deep_path = _png(tmp_path, "deep.png", deep)
    assert read_png_info(deep_path).bit_depth == 16
    np.testing.assert_allclose(images.read_png(deep_path), 1000 / 65535, atol=1e-7)
