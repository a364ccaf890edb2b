import numpy as np
import pytest
from keras import ops

from keras_deblur import losses
from keras_deblur.models import build_generator_from_spec


def _const(value, shape):
    return ops.convert_to_tensor(np.full(shape, value, np.float32))


def _np(tensor):
    return ops.convert_to_numpy(tensor)


def test_mse_content_loss_by_hand():
    # A constant sharp image has a constant pyramid, so every term is (latent - sharp)^2.
    sharp = _const(0.5, (2, 8, 8, 3))
    latents = [
        ops.stack([_const(0.7, (8, 8, 3)), _const(0.5, (8, 8, 3))]),
        ops.stack([_const(0.2, (4, 4, 3)), _const(0.6, (4, 4, 3))]),
    ]
    # Example 0: (0.2^2 + 0.3^2) / (2 * 2) = 0.0325; example 1: (0 + 0.1^2) / 4 = 0.0025.
    np.testing.assert_allclose(
        _np(losses.multiscale_mse(sharp, latents)), [0.0325, 0.0025], atol=1e-7
    )


def test_mse_single_scale_on_a_non_constant_image():
    sharp = ops.convert_to_tensor(np.array([[[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]], np.float32))
    latent = ops.convert_to_tensor(np.array([[[[0.1, 0.0, 0.0], [1.0, 0.7, 1.0]]]], np.float32))
    # K = 1: level 0 is the image itself; (0.01 + 0.09) / 6 elements / 2.
    np.testing.assert_allclose(
        _np(losses.multiscale_mse(sharp, [latent])), [0.1 / 6 / 2], atol=1e-7
    )


def test_l1_content_loss_is_summed_over_scales():
    sharp = _const(0.5, (1, 8, 8, 3))
    latents = [_const(0.7, (1, 8, 8, 3)), _const(0.2, (1, 4, 4, 3))]
    np.testing.assert_allclose(_np(losses.multiscale_l1(sharp, latents)), [0.5], atol=1e-6)


def test_content_loss_on_generator_output_of_odd_size(rng):
    model = build_generator_from_spec("tiny")
    blurry = rng.random((2, 45, 67, 3)).astype(np.float32)
    sharp = rng.random((2, 45, 67, 3)).astype(np.float32)
    values = _np(losses.content_loss("mse")(ops.convert_to_tensor(sharp), model(blurry)))
    assert values.shape == (2,)
    assert np.all(np.isfinite(values)) and np.all(values > 0)


def test_adversarial_losses_by_hand():
    zero = ops.zeros((3, 1))
    np.testing.assert_allclose(
        _np(losses.discriminator_loss(zero, zero)), [2 * np.log(2)] * 3, rtol=1e-6
    )
    np.testing.assert_allclose(
        _np(losses.generator_adversarial_loss(zero)), [np.log(2)] * 3, rtol=1e-6
    )
    # A confident, correct D: losses near 0 and finite even for huge logits.
    real, fake = _const(100.0, (2, 1)), _const(-100.0, (2, 1))
    np.testing.assert_allclose(_np(losses.discriminator_loss(real, fake)), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(
        _np(losses.generator_adversarial_loss(fake)), [100.0, 100.0], rtol=1e-6
    )


def test_unknown_content_loss_names_it():
    with pytest.raises(ValueError, match="content loss must be one of .* got 'l2'"):
        losses.content_loss("l2")


def test_latents_must_be_a_pyramid():
    with pytest.raises(ValueError, match="latents must be the generator's output pyramid"):
        losses.multiscale_mse(_const(0.5, (1, 4, 4, 3)), _const(0.5, (1, 4, 4, 3)))


def test_frequency_term_against_numpy_fft(rng):
    # MIMO-UNet's term at each scale: mean over channels and frequencies of |Re| + |Im| of the
    # unnormalised 2-D DFT of (output - target), the two parts counted as separate elements.
    sharp = rng.random((2, 8, 6, 3)).astype(np.float32)
    finest = rng.random((2, 8, 6, 3)).astype(np.float32)
    # The coarse level is its target plus 0.25: a constant error, whose term is known by hand.
    coarse = _np(losses.gaussian_pyramid(ops.convert_to_tensor(sharp), 2)[1]) + 0.25
    spectrum = np.fft.fft2(finest - sharp, axes=(1, 2))
    finest_term = (np.abs(spectrum.real) + np.abs(spectrum.imag)).mean(axis=(1, 2, 3)) / 2
    # The coarse error is 0.25 everywhere: its DFT is 0.25 * h * w at frequency 0 only, in each
    # channel, and the mean runs over 2 * h * w elements per channel.
    coarse_term = 0.25 / 2
    got = _np(losses.multiscale_frequency_l1(ops.convert_to_tensor(sharp), [finest, coarse]))
    np.testing.assert_allclose(got, finest_term + coarse_term, rtol=1e-5)


def test_l1_fft_adds_the_weighted_frequency_term(rng):
    sharp = ops.convert_to_tensor(rng.random((1, 8, 8, 3)).astype(np.float32))
    latents = [ops.convert_to_tensor(rng.random((1, 8, 8, 3)).astype(np.float32))]
    expected = _np(losses.multiscale_l1(sharp, latents)) + 0.1 * _np(
        losses.multiscale_frequency_l1(sharp, latents)
    )
    np.testing.assert_allclose(
        _np(losses.content_loss("l1_fft")(sharp, latents)), expected, rtol=1e-6
    )
