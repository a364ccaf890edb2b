"""keras_deblur/winograd_units.py: Winograd convolutions as units XLA compiles one at a time."""

import numpy as np
import pytest
from keras import ops

from keras_deblur import winograd_units
from keras_deblur.winograd_units import winograd_compiled_alone
from tests.models.test_winograd import _gradients, _relative_error


@pytest.mark.parametrize("jit_compile", [False, True])  # True: the units inside an XLA step
def test_value_and_gradients_equal_the_direct_convolutions(jit_compile, rng):
    kernel = (rng.standard_normal((5, 5, 16, 24)) / 5).astype(np.float32)
    for size in [(17, 23), (9, 14)]:
        images = rng.standard_normal((2, *size, 16)).astype(np.float32)
        upstream = rng.standard_normal((2, *size, 24)).astype(np.float32)
        direct = ops.conv(images, kernel, padding="same")
        assert _relative_error(winograd_compiled_alone(images, kernel), direct) < 1e-5, size
        expected = _gradients(
            lambda x, k: ops.conv(x, k, padding="same"), images, kernel, upstream, jit_compile
        )
        got = _gradients(winograd_compiled_alone, images, kernel, upstream, jit_compile)
        for name, value, reference in zip(("images", "kernel"), got, expected):
            assert _relative_error(value, reference) < 1e-5, (size, name)


def test_one_unit_per_kernel_shape_for_any_size(rng):
    winograd_units._compiled.cache_clear()
    kernel = (rng.standard_normal((3, 3, 16, 16)) / 3).astype(np.float32)
    for size in [(8, 8), (13, 6)]:
        images = rng.standard_normal((1, *size, 16)).astype(np.float32)
        _gradients(winograd_compiled_alone, images, kernel, np.ones((1, *size, 16)), False)
    # The value's unit serves the input's gradient too (16 -> 16 maps: the same shape turned).
    forward = winograd_units._compiled(winograd_units.winograd_forward, (3, 3, 16, 16))
    kernel_gradient = winograd_units._compiled(
        winograd_units.winograd_kernel_gradient, (3, 3, 16, 16), 16
    )
    assert winograd_units._compiled.cache_info().currsize == 2
    assert [unit.experimental_get_tracing_count() for unit in (forward, kernel_gradient)] == [1, 1]
