"""keras_deblur/winograd_units.py: Winograd convolutions as units XLA compiles one at a time."""

import numpy as np
import pytest

from keras_deblur import winograd_units
from keras_deblur.winograd_units import winograd_compiled_alone
from tests.models.test_winograd import _biased_conv_case, _direct, _gradients, _relative_error


@pytest.mark.parametrize("jit_compile", [False, True])  # True: the units inside an XLA step
def test_value_and_gradients_equal_the_direct_convolutions(jit_compile, rng):
    for size in [(17, 23), (9, 14)]:
        images, kernel, bias, upstream = _biased_conv_case(rng, size)
        got = winograd_compiled_alone(images, kernel, bias)
        assert _relative_error(got, _direct(images, kernel, bias)) < 1e-5, size
        expected = _gradients(_direct, upstream, jit_compile, images, kernel, bias)
        got = _gradients(winograd_compiled_alone, upstream, jit_compile, images, kernel, bias)
        for name, value, reference in zip(("images", "kernel", "bias"), got, expected):
            assert _relative_error(value, reference) < 1e-5, (size, name)


def test_one_unit_per_kernel_shape_for_any_size(rng):
    winograd_units.forward_unit.cache_clear()
    winograd_units.kernel_gradient_unit.cache_clear()
    kernel = (rng.standard_normal((3, 3, 16, 16)) / 3).astype(np.float32)
    for size in [(8, 8), (13, 6)]:
        images = rng.standard_normal((1, *size, 16)).astype(np.float32)
        _gradients(winograd_compiled_alone, np.ones((1, *size, 16)), False, images, kernel)
    # The value's unit serves the input's gradient too (16 -> 16 maps: the same shape turned).
    forward = winograd_units.forward_unit((3, 3, 16, 16))
    kernel_gradient = winograd_units.kernel_gradient_unit((3, 3, 16, 16))
    assert winograd_units.forward_unit.cache_info().currsize == 1
    assert winograd_units.kernel_gradient_unit.cache_info().currsize == 1
    assert [unit.experimental_get_tracing_count() for unit in (forward, kernel_gradient)] == [1, 1]
