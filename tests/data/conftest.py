"""A small GOPRO-layout tree, written by the tests themselves."""

import posixpath

import numpy as np
import pytest

from keras_deblur.data import images


def write_pair(root, split, sequence, frame, blurry, sharp, blur_key="blur"):
    images.write_png(posixpath.join(root, split, sequence, blur_key, frame), blurry)
    images.write_png(posixpath.join(root, split, sequence, "sharp", frame), sharp)


@pytest.fixture
def gopro_tree(tmp_path):
    """2 sequences x 3 pairs of 40 x 56 random images in train/, 1 pair in test/; blur and
    blur_gamma."""
    rng = np.random.default_rng(7)
    root = str(tmp_path / "gopro")
    for split, sequences in (("train", ("seqA", "seqB")), ("test", ("seqC",))):
        for sequence in sequences:
            for frame in range(3 if split == "train" else 1):
                sharp = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
                blurry = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
                write_pair(root, split, sequence, f"{frame:06d}.png", blurry, sharp)
                images.write_png(
                    posixpath.join(root, split, sequence, "blur_gamma", f"{frame:06d}.png"), blurry
                )
    return root
