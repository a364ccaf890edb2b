"""Exact tiling: scale by scale, bodies in tiles with halos, equal to the whole image."""

import numpy as np
import pytest

from keras_deblur.models.generator import build_generator
from keras_deblur.models.winograd import computes_winograd
from keras_deblur.serving.scale_tiling import (
    ScaleFunctions,
    deblur_exact,
    receptive_radius,
    tile_side_for_budget,
)


@pytest.mark.parametrize(
    "num_scales, upsample, global_residual",
    [(1, "conv_transpose", False), (2, "pixel_shuffle", True), (3, "conv_transpose", True)],
)
def test_tiled_equals_whole_on_odd_sizes(num_scales, upsample, global_residual, rng):
    generator = build_generator(
        num_scales=num_scales,
        num_resblocks=2,
        filters=8,
        kernel_size=5,
        upsample=upsample,
        global_residual=global_residual,
    )
    functions = ScaleFunctions.from_generator(generator)
    assert functions.radius == receptive_radius(2, 5) == 12
    image = rng.random((83, 141, 3), dtype=np.float32)
    whole = np.clip(np.asarray(generator(image[None], training=False)[0])[0], 0.0, 1.0)
    for core in (17, 40, 1000):
        np.testing.assert_allclose(deblur_exact(functions, image, core), whole, atol=1e-4)


def test_winograd_bodies_equal_the_direct_whole_image(rng):
    generator = build_generator(num_scales=2, num_resblocks=1, filters=16, kernel_size=5)
    functions = ScaleFunctions.from_generator(generator, conv_algorithm="winograd")
    assert functions.conv_algorithm == "winograd"
    for k, body in functions.bodies.items():  # each body's model, inside its traced function
        layers = body.python_function.args[0].layers
        assert sum(map(computes_winograd, layers)) == 2, f"scale {k}"
    image = rng.random((45, 71, 3), dtype=np.float32)
    whole = np.clip(np.asarray(generator(image[None], training=False)[0])[0], 0.0, 1.0)
    for core in (30, 1000):
        np.testing.assert_allclose(deblur_exact(functions, image, core), whole, atol=1e-4)
    with pytest.raises(ValueError, match="--conv_algorithm must be one of .*, got 'fft'"):
        ScaleFunctions.from_generator(generator, conv_algorithm="fft")


def test_the_tile_follows_the_memory_budget():
    assert tile_side_for_budget(64, 80, 2**30) == int((2**30 / (16 * 64)) ** 0.5) - 160
    winograd = tile_side_for_budget(64, 80, 2**30, "winograd")
    assert winograd == int((2**30 / (32 * 64)) ** 0.5) - 160
    with pytest.raises(ValueError, match="smaller than the model's reach"):
        tile_side_for_budget(64, 80, 2**20)
