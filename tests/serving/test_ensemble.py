"""Self-ensemble: the 8 symmetries and their inverses, and the mean over 2, 4 or 8 of them."""

import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.serving.ensemble import (
    NUM_TRANSFORMS,
    SYMMETRIES,
    check_size,
    recorded_size,
    self_ensemble,
    transform,
)


def test_the_eight_symmetries_are_distinct_and_invert(rng):
    images = rng.random((2, 5, 7, 3)).astype(np.float32)
    seen = set()
    for index in range(NUM_TRANSFORMS):
        turned = np.asarray(transform(images, index))
        seen.add(turned.tobytes() + bytes(turned.shape))
        np.testing.assert_array_equal(np.asarray(transform(turned, index, inverse=True)), images)
    assert len(seen) == NUM_TRANSFORMS


def test_an_equivariant_model_is_unchanged_and_others_are_averaged(rng):
    images = rng.random((1, 6, 9, 3)).astype(np.float32)
    doubled = np.asarray(self_ensemble(lambda x: x * 2.0, images))
    np.testing.assert_allclose(doubled, images * 2.0, rtol=1e-6)

    def mark_first_column(x):  # not symmetric: its output depends on the orientation
        column = tf.range(tf.shape(x)[2])[None, None, :, None]
        return tf.cast(tf.equal(column, 0), tf.float32) * tf.ones_like(x)

    out = np.asarray(self_ensemble(mark_first_column, images))
    # Each output is turned back: the mark lands on the left, right, top and bottom edges.
    assert out[0, 3, 0, 0] > 0 and out[0, 3, -1, 0] > 0 and out[0, 0, 4, 0] > 0
    assert out[0, -1, 4, 0] > 0 and out[0, 3, 4, 0] == 0


def test_pyramids_keep_their_structure(rng):
    images = rng.random((1, 8, 12, 3)).astype(np.float32)
    outs = self_ensemble(lambda x: [x, x[:, ::2, ::2]], images)
    assert [tuple(o.shape) for o in outs] == [(1, 8, 12, 3), (1, 4, 6, 3)]


def _asymmetric(x):
    """A model that tells every orientation apart: it multiplies each pixel's neighbours to the
    right and below, and squares the one to the right. (A linear one would not do: the 180°
    rotation alone already makes a sum of shifts symmetric under every flip.)"""
    right, below = tf.roll(x, -1, axis=2), tf.roll(x, -1, axis=1)
    return x + 0.5 * right * below + 0.3 * right**2


@pytest.mark.parametrize("size", [2, 4, 8])
def test_an_ensemble_is_symmetric_under_its_own_symmetries_only(size, rng):
    images = rng.random((1, 6, 6, 3)).astype(np.float32)
    averaged = np.asarray(self_ensemble(_asymmetric, images, size))
    for index in range(NUM_TRANSFORMS):
        turned_first = np.asarray(
            transform(self_ensemble(_asymmetric, transform(images, index), size), index, True)
        )
        same = np.allclose(turned_first, averaged, atol=1e-6)
        assert same == (index in SYMMETRIES[size]), (size, index)


def test_one_is_the_model_itself_and_other_sizes_are_refused(rng):
    images = rng.random((1, 4, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        np.asarray(self_ensemble(_asymmetric, images, 1)), np.asarray(_asymmetric(images))
    )
    for size in (0, 3, 16, True):
        with pytest.raises(ValueError, match=f"--ensemble={size}: .* one of 1, 2, 4, 8"):
            check_size(size)


def test_records_of_exports_before_sizes_read_as_all_or_none():
    assert [recorded_size(v) for v in (True, False, None, 2, 8)] == [8, 1, 1, 2, 8]
