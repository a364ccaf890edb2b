"""Losses of the paper (eq. 4-6), the authors' later L1 recipe and MIMO-UNet's frequency term, per
example.

Every loss returns one value per example, shape [N]. Under `tf.distribute` each replica sees part
of the global batch, so the caller reduces with the GLOBAL batch size (for example
`tf.nn.compute_average_loss`); a plain mean here would be wrong by the number of replicas.
Written with `keras.ops` only, so it runs on every Keras 3 backend.
"""

from keras import ops

from keras_deblur.models.pyramid import gaussian_pyramid

CONTENT_LOSSES = ("mse", "l1", "l1_fft")

# The weight of the frequency term in "l1_fft": MIMO-UNet's lambda (Cho et al., "Rethinking
# Coarse-to-Fine Approach in Single Image Deblurring", ICCV 2021, eq. 4).
FREQUENCY_LOSS_WEIGHT = 0.1


def _per_example_mean(values):
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def _per_scale_means(sharp, latents, error):
    """[K, N]: the mean of `error(L_k - S_k)` over each example's elements, at each scale k.

    `error` may also be a tuple of (weight, function): the weighted sum of their means."""
    terms = error if isinstance(error, tuple) else ((1.0, error),)
    if not isinstance(latents, (list, tuple)) or not latents:
        raise ValueError(
            f"latents must be the generator's output pyramid (a non-empty list), got "
            f"{type(latents)}"
        )
    # In float32 even under a mixed-precision policy: bf16 has 8 bits of mantissa, too few for
    # differences of a few 1/255 between images.
    targets = gaussian_pyramid(ops.cast(sharp, "float32"), len(latents))
    return ops.stack(
        [
            sum(
                weight * _per_example_mean(function(ops.cast(latent, "float32") - target))
                for weight, function in terms
            )
            for latent, target in zip(latents, targets)
        ],
        axis=0,
    )


def multiscale_mse(sharp, latents):
    """The multi-scale content loss of eq. 4, per example.

    L_cont = 1 / (2K) * sum_k mean((L_k - S_k)^2), the mean over all c_k * w_k * h_k elements of
    scale k, where S_k is level k of the sharp image's Gaussian pyramid (the generator's own
    pyramid op) and L_k the generator's output at that level.

    Args:
      sharp: [N, H, W, 3] sharp images in [0, 1].
      latents: the generator's outputs, finest first, level k of size ceil(H / 2^k).

    Returns:
      [N] losses.
    """
    return ops.sum(_per_scale_means(sharp, latents, ops.square), axis=0) / (2.0 * len(latents))


def multiscale_l1(sharp, latents):
    """Mean absolute error at each scale, summed over scales (the authors' released recipe), per
    example."""
    return ops.sum(_per_scale_means(sharp, latents, ops.abs), axis=0)


def _fourier_magnitudes(error):
    """|Re| and |Im| of the unnormalised 2-D DFT of each channel of an [N, H, W, C] error."""
    channels_first = ops.transpose(error, (0, 3, 1, 2))
    real, imaginary = ops.fft2((channels_first, ops.zeros_like(channels_first)))
    return ops.concatenate([ops.abs(real), ops.abs(imaginary)], axis=1)


def multiscale_frequency_l1(sharp, latents):
    """MIMO-UNet's multi-scale frequency reconstruction loss (ICCV 2021, eq. 3), per example: at
    each scale, the mean absolute difference between the real and imaginary parts of the 2-D
    Fourier transforms of output and target, summed over scales.

    The transform is linear, so this is the transform of the error. It is unnormalised, as theirs,
    so the term grows with the crop's side (by about the side for white errors); Adam's steps do
    not depend on the loss's scale, only on the balance with the pixel term."""
    return ops.sum(_per_scale_means(sharp, latents, _fourier_magnitudes), axis=0)


def multiscale_l1_fft(sharp, latents):
    """MIMO-UNet's content loss: multi-scale L1 + FREQUENCY_LOSS_WEIGHT * the frequency term
    (one target pyramid for both)."""
    terms = ((1.0, ops.abs), (FREQUENCY_LOSS_WEIGHT, _fourier_magnitudes))
    return ops.sum(_per_scale_means(sharp, latents, terms), axis=0)


def content_loss(kind):
    """The content loss function named `kind`: "mse" (eq. 4), "l1" or "l1_fft" (MIMO-UNet's)."""
    losses = {"mse": multiscale_mse, "l1": multiscale_l1, "l1_fft": multiscale_l1_fft}
    if kind not in losses:
        raise ValueError(f"content loss must be one of {CONTENT_LOSSES}, got {kind!r}")
    return losses[kind]


def _logits_per_example(logits):
    return ops.reshape(ops.cast(logits, "float32"), (-1,))


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's side of eq. 5, per example: -log D(S) - log(1 - D(G(B))).

    D(x) = sigmoid(logit); in logits, -log sigmoid(z) = softplus(-z) and
    -log(1 - sigmoid(z)) = softplus(z), which never overflows.
    """
    real = _logits_per_example(real_logits)
    fake = _logits_per_example(fake_logits)
    return ops.softplus(-real) + ops.softplus(fake)


def generator_adversarial_loss(fake_logits):
    """The generator's adversarial loss, per example: -log D(G(B)).

    This is the usual non-saturating form of eq. 5's generator term (minimising log(1 - D(G(B)))
    gives vanishing gradients while D wins), and what the authors' code does (binary cross-entropy
    of D's output on generated images against the "real" label).
    """
    return ops.softplus(-_logits_per_example(fake_logits))
