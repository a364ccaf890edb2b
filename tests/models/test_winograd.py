import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_deblur.models import build_generator_from_spec
from keras_deblur.models.winograd import (
    WinogradConv2D,
    winograd_conv2d,
    winograd_matrices,
    with_winograd_convs,
)


def _relative_error(output, reference):
    output, reference = np.asarray(output), np.asarray(reference)
    return np.abs(output - reference).max() / np.abs(reference).max()


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (2, 5), (4, 5)])
def test_matrices_compute_a_valid_correlation(m, r, rng):
    a_t, g, b_t = winograd_matrices(m, r)
    signal, kernel = rng.standard_normal(m + r - 1), rng.standard_normal(r)
    np.testing.assert_allclose(
        a_t @ ((g @ kernel) * (b_t @ signal)), np.correlate(signal, kernel, "valid"), atol=1e-12
    )


def test_too_large_a_tile_is_refused():
    with pytest.raises(ValueError, match=r"F\(6, 5\) needs 9 finite points"):
        winograd_matrices(6, 5)


@pytest.mark.parametrize("kernel_size", [3, 5])
@pytest.mark.parametrize("size", [(1, 1), (4, 8), (17, 23), (33, 6)])
def test_equals_the_direct_convolution_at_any_size(kernel_size, size, rng):
    images = rng.standard_normal((2, *size, 16)).astype(np.float32)
    kernel = (rng.standard_normal((kernel_size, kernel_size, 16, 24)) / kernel_size).astype(
        np.float32
    )
    direct = ops.conv(images, kernel, padding="same")
    assert _relative_error(winograd_conv2d(images, kernel), direct) < 1e-5


def test_a_generator_keeps_its_outputs_and_weights(rng):
    generator = build_generator_from_spec("tiny", filters=16, kernel_size=5)
    winograd = with_winograd_convs(generator)
    kinds = [type(layer) for layer in winograd.layers]
    # Every conv between 16-map activations; not the first (3 or 6 -> 16) or last (16 -> 3).
    assert kinds.count(WinogradConv2D) == 3 * 2
    assert kinds.count(keras.layers.Conv2D) == 3 * 2
    images = rng.random((2, 37, 51, 3)).astype(np.float32)
    expected = generator(images, training=False)
    compiled = tf.function(lambda x: winograd(x, training=False), jit_compile=True)
    for got in (winograd(images, training=False), compiled(images)):
        for level, (output, reference) in enumerate(zip(got, expected)):
            assert _relative_error(output, reference) < 1e-4, f"level {level}"


def test_only_float32_models():
    generator = build_generator_from_spec("tiny", filters=16, dtype="mixed_bfloat16")
    with pytest.raises(ValueError, match="need float32, got the dtype policy 'mixed_bfloat16'"):
        with_winograd_convs(generator)


def test_only_square_odd_kernels(rng):
    images = rng.standard_normal((1, 8, 8, 16)).astype(np.float32)
    for shape in ((4, 4, 16, 16), (3, 5, 16, 16)):
        with pytest.raises(ValueError, match="needs a square, odd kernel"):
            winograd_conv2d(images, np.zeros(shape, np.float32))


def test_a_keras_file_keeps_the_winograd_layers(rng, tmp_path):
    winograd = with_winograd_convs(build_generator_from_spec("tiny", filters=16, kernel_size=5))
    path = str(tmp_path / "winograd.keras")
    winograd.save(path)
    loaded = keras.saving.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in winograd.layers]
    images = rng.random((1, 20, 28, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(images)[0], winograd(images)[0])
