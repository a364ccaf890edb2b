"""Self-ensemble: the 8 symmetries and their inverses, and the mean over them."""

import numpy as np
import tensorflow as tf

from keras_deblur.serving.ensemble import NUM_TRANSFORMS, self_ensemble, transform


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
