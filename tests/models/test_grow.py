import dataclasses

import numpy as np
import pytest

from keras_deblur.models import build_generator_from_spec
from keras_deblur.models.grow import deepen, grow, widen


def test_deeper_generator_computes_the_same_function_and_can_learn(rng):
    shallow = build_generator_from_spec("tiny")
    deeper = deepen(shallow, 3)
    assert deeper.spec.num_resblocks == 3 and deeper.count_params() > shallow.count_params()
    image = rng.random((2, 24, 40, 3), dtype=np.float32)
    for a, b in zip(shallow(image), deeper(image), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    # The new blocks' first convs keep random weights, so their second convs get gradients.
    assert np.any(deeper.get_layer("scale1_resblock03_conv1").get_weights()[0])
    assert not np.any(deeper.get_layer("scale1_resblock03_conv2").get_weights()[0])


def test_cannot_make_a_generator_shallower():
    with pytest.raises(ValueError, match="cannot deepen a generator of 3 ResBlocks per scale to 2"):
        deepen(build_generator_from_spec("tiny", num_resblocks=3), 2)


def test_wider_generator_computes_the_same_function_and_its_new_maps_can_learn(rng):
    narrow = build_generator_from_spec("tiny")  # 8 maps
    wider = widen(narrow, 12)
    assert wider.spec.filters == 12 and wider.count_params() > narrow.count_params()
    image = rng.random((2, 24, 40, 3), dtype=np.float32)
    for a, b in zip(narrow(image), wider(image), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    kernel = wider.get_layer("scale1_resblock01_conv1").get_weights()[0]
    assert not np.any(kernel[:, :, 8:, :8])  # new maps do not reach the old ones
    assert np.all(np.any(kernel[:, :, :, 8:], axis=(0, 1, 2)))  # but are computed, to learn
    both = grow(narrow, dataclasses.replace(narrow.spec, filters=12, num_resblocks=2))
    for a, b in zip(narrow(image), both(image), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    with pytest.raises(ValueError, match="cannot widen a generator of 12 maps to 8"):
        widen(wider, 8)
    with pytest.raises(ValueError, match="only the depth and width can grow"):
        grow(narrow, dataclasses.replace(narrow.spec, num_scales=2))
