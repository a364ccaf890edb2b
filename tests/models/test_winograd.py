import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_deblur.models import build_generator_from_spec
from keras_deblur.models.winograd import (
    STRIP_BYTES,
    computes_winograd,
    use_winograd_convs,
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


def _strip_bytes(tile_rows, kernel_size, images):
    """The strip_bytes that make strips of `tile_rows` rows of 4x4 output tiles for `images`."""
    batch, _, width, channels = images.shape
    per_tile = (4 + kernel_size - 1) ** 2 * channels * 4  # n^2 float32 values per channel
    return tile_rows * -(-width // 4) * batch * per_tile


@pytest.mark.parametrize("kernel_size", [3, 5])
@pytest.mark.parametrize("size", [(1, 1), (4, 8), (17, 23), (33, 6)])
@pytest.mark.parametrize("tile_rows", [None, 1, 3])  # None: the default, one strip here
def test_equals_the_direct_convolution_at_any_size(kernel_size, size, tile_rows, rng):
    images = rng.standard_normal((2, *size, 16)).astype(np.float32)
    kernel = (rng.standard_normal((kernel_size, kernel_size, 16, 24)) / kernel_size).astype(
        np.float32
    )
    strip_bytes = STRIP_BYTES if tile_rows is None else _strip_bytes(tile_rows, kernel_size, images)
    direct = ops.conv(images, kernel, padding="same")
    got = winograd_conv2d(images, kernel, strip_bytes=strip_bytes)
    assert _relative_error(got, direct) < 1e-5


def test_a_strip_budget_larger_than_the_image_takes_it_whole(rng):
    images = rng.standard_normal((1, 9, 14, 16)).astype(np.float32)
    kernel = (rng.standard_normal((5, 5, 16, 16)) / 5).astype(np.float32)
    got = winograd_conv2d(images, kernel, strip_bytes=2**50)  # not padded to 2**50 bytes of rows
    assert _relative_error(got, ops.conv(images, kernel, padding="same")) < 1e-5


def test_strips_of_a_size_unknown_until_xla_compiles(rng):
    """As `deblur` runs it: traced for [None, None, None, C], compiled by XLA for each size,
    the strips (3 tile rows, the last one partial) counted from the size then."""
    kernel = (rng.standard_normal((5, 5, 16, 24)) / 5).astype(np.float32)
    signature = [tf.TensorSpec([None, None, None, 16], tf.float32)]
    strip_bytes = _strip_bytes(3, 5, np.zeros((1, 1, 40, 16)))  # 3 rows of 10 tiles
    convolve = tf.function(
        lambda x: winograd_conv2d(x, kernel, strip_bytes=strip_bytes),
        input_signature=signature,
        jit_compile=True,
    )
    for size in [(29, 40), (8, 40), (41, 13)]:
        images = rng.standard_normal((1, *size, 16)).astype(np.float32)
        direct = ops.conv(images, kernel, padding="same")
        assert _relative_error(convolve(images), direct) < 1e-5, size


def _gradients(convolve, upstream, jit_compile, *arguments):
    """The gradients of sum(convolve(*arguments) * upstream) with respect to each argument."""

    @tf.function(jit_compile=jit_compile)
    def gradients(*arguments):
        with tf.GradientTape() as tape:
            tape.watch(arguments)
            loss = tf.reduce_sum(convolve(*arguments) * upstream)
        return tape.gradient(loss, arguments)

    return gradients(*map(tf.constant, arguments))


def _direct(x, kernel, bias=None):
    """What `winograd_conv2d(x, kernel, bias)` computes, as a direct convolution."""
    return ops.conv(x, kernel, padding="same") + (0.0 if bias is None else bias)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("kernel_size, size", [(3, (17, 23)), (5, (9, 14)), (5, (1, 6))])
@pytest.mark.parametrize("tile_rows", [None, 2])
def test_gradients_equal_the_direct_convolutions(kernel_size, size, jit_compile, tile_rows, rng):
    images = rng.standard_normal((2, *size, 16)).astype(np.float32)
    kernel = (rng.standard_normal((kernel_size, kernel_size, 16, 24)) / kernel_size).astype(
        np.float32
    )
    upstream = rng.standard_normal((2, *size, 24)).astype(np.float32)
    expected = _gradients(_direct, upstream, jit_compile, images, kernel)
    # strip_bytes counts the input's 16 maps: the input's gradient, a convolution of the output's
    # gradient (24 maps), then runs in strips of one tile row.
    strip_bytes = STRIP_BYTES if tile_rows is None else _strip_bytes(tile_rows, kernel_size, images)
    got = _gradients(
        lambda x, k: winograd_conv2d(x, k, strip_bytes=strip_bytes),
        upstream,
        jit_compile,
        images,
        kernel,
    )
    for name, value, reference in zip(("images", "kernel"), got, expected):
        assert _relative_error(value, reference) < 1e-5, name


def _biased_conv_case(rng, size=(11, 14)):
    """(images, kernel, bias, upstream): a 16 -> 24 map conv, its bias as large as its output."""
    images = rng.standard_normal((2, *size, 16)).astype(np.float32)
    kernel = (rng.standard_normal((5, 5, 16, 24)) / 20).astype(np.float32)
    bias = rng.standard_normal(24).astype(np.float32)
    return images, kernel, bias, rng.standard_normal((2, *size, 24)).astype(np.float32)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_the_bias_with_its_gradient(jit_compile, rng):
    images, kernel, bias, upstream = _biased_conv_case(rng)
    assert (
        _relative_error(winograd_conv2d(images, kernel, bias), _direct(images, kernel, bias)) < 1e-5
    )
    expected = _gradients(_direct, upstream, jit_compile, images, kernel, bias)
    got = _gradients(winograd_conv2d, upstream, jit_compile, images, kernel, bias)
    for name, value, reference in zip(("images", "kernel", "bias"), got, expected):
        assert _relative_error(value, reference) < 1e-5, name


def test_a_generator_trains_in_place_with_the_same_gradients(rng, tmp_path):
    generator = build_generator_from_spec("tiny", filters=16, kernel_size=5)
    reference = build_generator_from_spec("tiny", filters=16, kernel_size=5)
    reference.set_weights(generator.get_weights())
    assert use_winograd_convs(generator) == 3 * 2
    images = rng.random((2, 37, 51, 3)).astype(np.float32)

    @tf.function(jit_compile=True)
    def gradients(model, images):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(images, training=True)[0] - 0.5))
        return tape.gradient(loss, model.trainable_variables)

    for got, expected in zip(gradients(generator, images), gradients(reference, images)):
        assert _relative_error(got, expected) < 1e-4
    # Nothing of it is saved: the file loads back with direct convolutions.
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    loaded = keras.saving.load_model(path)
    assert sum(map(computes_winograd, generator.layers)) == 3 * 2
    assert not any(map(computes_winograd, loaded.layers))


def test_a_generator_keeps_its_outputs_and_weights(rng):
    generator = build_generator_from_spec("tiny", filters=16, kernel_size=5)
    winograd = with_winograd_convs(generator)
    # Every conv between 16-map activations; not the first (3 or 6 -> 16) or last (16 -> 3).
    assert sum(map(computes_winograd, winograd.layers)) == 3 * 2
    assert not any(map(computes_winograd, generator.layers))
    images = rng.random((2, 37, 51, 3)).astype(np.float32)
    expected = generator(images, training=False)
    compiled = tf.function(lambda x: winograd(x, training=False), jit_compile=True)
    for got in (winograd(images, training=False), compiled(images)):
        for level, (output, reference) in enumerate(zip(got, expected)):
            assert _relative_error(output, reference) < 1e-4, f"level {level}"


@pytest.mark.parametrize("convert", [with_winograd_convs, use_winograd_convs])
def test_only_float32_models(convert):
    generator = build_generator_from_spec("tiny", filters=16, dtype="mixed_bfloat16")
    with pytest.raises(ValueError, match="need float32, got the dtype policy 'mixed_bfloat16'"):
        convert(generator)


def test_only_square_odd_kernels(rng):
    images = rng.standard_normal((1, 8, 8, 16)).astype(np.float32)
    for shape in ((4, 4, 16, 16), (3, 5, 16, 16)):
        with pytest.raises(ValueError, match="needs a square, odd kernel"):
            winograd_conv2d(images, np.zeros(shape, np.float32))


def test_a_saved_copy_loads_back_with_direct_convolutions(rng, tmp_path):
    winograd = with_winograd_convs(build_generator_from_spec("tiny", filters=16, kernel_size=5))
    path = str(tmp_path / "winograd.keras")
    winograd.save(path)
    loaded = keras.saving.load_model(path)
    assert not any(map(computes_winograd, loaded.layers))
    images = rng.random((1, 20, 28, 3)).astype(np.float32)
    assert _relative_error(loaded(images)[0], winograd(images)[0]) < 1e-4
