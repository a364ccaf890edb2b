import math

import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.evaluation import scores


def _skimage_ssim_float64(x, y):
    """scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False,
    data_range=1, channel_axis=-1), transcribed in float64: 11 taps (truncate 3.5), statistics where
    the window fits (scikit-image filters the whole image and then crops 5 px per border)."""
    offsets = np.arange(-5, 6)
    taps = np.exp(-0.5 * (offsets / 1.5) ** 2)
    taps /= taps.sum()

    def blur(image):  # separable 'valid' correlation over [H, W]
        rows = sum(taps[i] * image[i : image.shape[0] - 10 + i] for i in range(11))
        return sum(taps[j] * rows[:, j : rows.shape[1] - 10 + j] for j in range(11))

    c1, c2 = 0.01**2, 0.03**2
    values = []
    for c in range(3):
        a, b = x[..., c].astype(np.float64), y[..., c].astype(np.float64)
        ua, ub = blur(a), blur(b)
        vaa, vbb, vab = blur(a * a) - ua * ua, blur(b * b) - ub * ub, blur(a * b) - ua * ub
        ssim_map = ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua**2 + ub**2 + c1) * (vaa + vbb + c2))
        values.append(ssim_map.mean())
    return float(np.mean(values))


@pytest.mark.parametrize("size", [(11, 11), (40, 57)])
def test_ssim_matches_the_scikit_image_algorithm(rng, size):
    sharp = rng.integers(0, 256, (*size, 3)).astype(np.float32) / 255.0
    noisy = np.clip(sharp + rng.normal(0, 0.1, sharp.shape), 0, 1).astype(np.float32)
    noisy = (
        np.round(noisy * 255) / 255
    )  # already quantised, so the quantisation step changes nothing
    ours = scores.pair_scores(noisy[None], sharp[None])["ssim"]
    assert ours == pytest.approx(_skimage_ssim_float64(noisy, sharp), abs=1e-5)


def test_psnr_of_a_known_mse():
    sharp = np.full((1, 16, 16, 3), 100 / 255, np.float32)
    output = sharp + 4 / 255  # exactly on the 8-bit grid, so quantisation keeps it
    assert scores.pair_scores(output, sharp)["psnr"] == pytest.approx(
        10 * math.log10(1 / (4 / 255) ** 2), abs=1e-4
    )


def test_psnr_quantises_the_output():
    sharp = np.full((1, 16, 16, 3), 100 / 255, np.float32)
    assert (
        scores.pair_scores(sharp + 0.4 / 255, sharp)["psnr"] == math.inf
    )  # rounds back onto the target
    assert scores.pair_scores(sharp + 0.4 / 255, sharp, quantize=False)["psnr"] < math.inf


@pytest.mark.parametrize("scales", [1, 2, 3, 4, 5])
def test_ms_ssim_scales_follow_what_tensorflow_accepts(scales):
    need = 10 * 2 ** (scales - 1) + 1
    assert scores.ms_ssim_scales(need, need + 50) == scales
    assert scores.ms_ssim_scales(need - 1, need + 50) == scales - 1
    image = tf.random.stateless_uniform([1, need, need + 3, 3], seed=[1, 2])
    value = tf.image.ssim_multiscale(
        image, image * 0.9, 1.0, power_factors=scores.MS_SSIM_WEIGHTS[:scales]
    )
    assert np.isfinite(value.numpy()).all()


def test_small_images_use_fewer_ms_ssim_scales_and_tiny_ones_are_nan(rng):
    sharp = rng.random((1, 50, 70, 3), dtype=np.float32)
    figures = scores.pair_scores(sharp * 0.9, sharp)
    assert figures["ms_ssim_scales"] == 3 and 0 < figures["ms_ssim"] < 1
    full = rng.random((1, 180, 180, 3), dtype=np.float32)
    assert scores.pair_scores(full * 0.9, full)["ms_ssim_scales"] == 5
    tiny = rng.random((1, 10, 30, 3), dtype=np.float32)
    figures = scores.pair_scores(tiny, tiny)
    assert (
        math.isnan(figures["ssim"])
        and math.isnan(figures["ms_ssim"])
        and figures["ms_ssim_scales"] == 0
    )


def test_identical_images_score_one():
    image = (
        np.round(np.linspace(0, 1, 64 * 64 * 3).reshape(1, 64, 64, 3) * 255).astype(np.float32)
        / 255
    )
    figures = scores.pair_scores(image, image)
    # MS-SSIM multiplies five float32 powers: in graph mode it comes to 1 + 1.2e-6 here.
    assert figures["ssim"] == pytest.approx(1.0) and figures["ms_ssim"] == pytest.approx(
        1.0, abs=1e-5
    )


@pytest.mark.parametrize("protocol", ["deepdeblur", "float"])
def test_each_protocol_scores_as_scikit_image_does_on_what_it_keeps(rng, protocol):
    # The authors' protocol (DeepDeblur-PyTorch): clamp to [0, 255], round, then PSNR with peak 255
    # and scikit-image's Gaussian SSIM; `float` only clamps.
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    sharp = rng.integers(0, 256, (40, 57, 3)).astype(np.float64)
    output = sharp / 255 + rng.normal(0, 0.05, sharp.shape)  # off the 8-bit grid, and out of [0, 1]
    kept = np.clip(output, 0, 1) * 255
    if protocol == "deepdeblur":
        kept = np.round(kept)
    as_float32 = [image[None].astype(np.float32) for image in (output, sharp / 255)]
    row = scores.image_row("x", as_float32[0], as_float32[1], [as_float32[0]], protocol=protocol)
    assert row["psnr"] == pytest.approx(
        peak_signal_noise_ratio(sharp, kept, data_range=255), abs=1e-3
    )
    expected_ssim = structural_similarity(
        sharp,
        kept,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=-1,
    )
    assert row["ssim"] == pytest.approx(expected_ssim, abs=1e-4)


def test_the_authors_pytorch_data_flow_gives_the_same_figures(rng):
    """The authors' evaluation (DeepDeblur-PyTorch: src/loss/__init__.py `measure`,
    src/loss/metric.py), written here in PyTorch from its description: images on [0, 255] in
    float32, the output clamped and rounded; PSNR per image with peak 255, averaged over the batch;
    SSIM with an 11x11 Gaussian (sigma 1.5) as a grouped 'valid' conv2d, population statistics,
    C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, the mean of the whole SSIM map."""
    torch = pytest.importorskip("torch")

    def theirs(output, target):  # [N, 3, H, W] float32 on [0, 255]
        output = output.clamp(0, 255).round()
        mse = ((output - target) ** 2).mean(dim=(1, 2, 3))
        psnr = (10 * torch.log10(255.0**2 / mse)).mean()
        taps = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
        window = (taps[:, None] * taps[None, :]) / (taps.sum() ** 2)
        weight = window.expand(3, 1, 11, 11).contiguous()

        def mean(x):
            return torch.nn.functional.conv2d(x, weight, groups=3)

        ux, uy = mean(output), mean(target)
        vx, vy = mean(output * output) - ux * ux, mean(target * target) - uy * uy
        vxy = mean(output * target) - ux * uy
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        ssim_map = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
        return float(psnr), float(ssim_map.mean())

    for size in [(48, 64), (61, 37)]:
        sharp = rng.integers(0, 256, (*size, 3)).astype(np.float32)
        output = sharp + rng.normal(0, 12, sharp.shape).astype(np.float32)  # leaves [0, 255] too
        row = scores.image_row(
            "x", sharp[None] / 255, sharp[None] / 255, [output[None] / 255], protocol="deepdeblur"
        )
        as_torch = [torch.from_numpy(image.transpose(2, 0, 1)[None]) for image in (output, sharp)]
        psnr, ssim = theirs(*as_torch)
        # Measured 4e-6 dB and 4e-7 apart; without the rounding (--protocol=float) 2e-3 dB.
        assert row["psnr"] == pytest.approx(psnr, abs=1e-4)
        assert row["ssim"] == pytest.approx(ssim, abs=1e-5)
