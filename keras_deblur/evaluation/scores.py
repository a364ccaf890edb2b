"""The figures of one image pair, exactly as `python -m keras_deblur.evaluate` computes them.

Every figure is on RGB (no conversion to Y) float32 in [0, 1], max_val = 1, one image at a time,
at full resolution; means are taken over images afterwards (`report.py`).

- PSNR: the output is clipped to [0, 1] and rounded to 8 bits (as saving a PNG does), then
  10 * log10(1 / MSE), the MSE over all pixels and channels (`metrics.psnr`). This is the authors'
  protocol (`--protocol=deepdeblur`, the default): their PyTorch code (DeepDeblur-PyTorch,
  src/loss/__init__.py `measure`, src/loss/metric.py) clamps outputs to [0, 255] and rounds them
  before PSNR and SSIM, computes PSNR per image with peak 255, and averages over images.
  Validation inside training rounds the same way (`training/validation.py`). `--protocol=float`
  skips the rounding (clipping only), as many TF projects publish; it reads a little higher or
  lower than the 8-bit figure. The sharp and blurry images come from 8-bit PNGs, so the blurry
  baseline is already quantised.
- SSIM: `tf.image.ssim` on the quantised output: an 11x11 Gaussian window with sigma 1.5,
  K1 = 0.01, K2 = 0.03, the local statistics over the window positions that fit inside the image
  ("valid"), the SSIM map averaged over those positions and over the three channels. This is
  scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1, channel_axis=-1)`, which the authors' evaluation code
  uses: scikit-image truncates its Gaussian at 3.5 sigma (an 11-tap window, normalised like TF's),
  filters the whole image, then drops 5 pixels at every border before averaging, which leaves the
  same valid positions; with `use_sample_covariance=False` both use the population (1/N) variances.
  What remains is float32 (TF) vs float64 (scikit-image) rounding: `tests/evaluation/test_scores.py`
  checks TF against a float64 NumPy transcription of that algorithm to 1e-5, and against
  scikit-image 0.26.0 itself on 20 embedded 256x256 test pairs the largest difference was 1.7e-5
  (mean 8e-6). Undefined (NaN) for images under 11 pixels on a side.
- MS-SSIM: `tf.image.ssim_multiscale` with Wang et al.'s (2003) five weights on the quantised
  output. Scale s averages 2x2 blocks s times, and the 11-pixel window must fit the coarsest
  scale, so n scales need a shorter side of at least 10 * 2^(n-1) + 1 pixels (161 for five;
  measured with TF 2.21 and tested). Smaller images use the most scales that fit, with the first n
  weights renormalised to sum to 1, and the CSV records n per image (`ms_ssim_scales`); images
  under 11 pixels get NaN.
- Per output scale (optional, Keras models only): output level k against level k of the sharp
  image's Gaussian pyramid (`models.pyramid.gaussian_pyramid`, the pyramid the content loss uses),
  and the blurry pyramid against the same target as the baseline. Levels k >= 1 are not quantised
  (they are never saved as images).
"""

import functools
import math

import numpy as np
import tensorflow as tf

from keras_deblur import metrics

SSIM_WINDOW = 11
# --protocol -> (outputs rounded to 8 bits before they are scored?, what the report says of it).
PROTOCOLS = {
    "deepdeblur": (True, "the authors' protocol: outputs clipped and rounded to 8 bits"),
    "float": (False, "outputs clipped, not rounded; not the authors' protocol"),
}
DEFAULT_PROTOCOL = "deepdeblur"
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang, Simoncelli, Bovik 2003


def ms_ssim_scales(height, width):
    """How many MS-SSIM scales an image of this size has room for (0 if not even one)."""
    side = min(height, width)
    scales = 0
    while scales < len(MS_SSIM_WEIGHTS) and side >= (SSIM_WINDOW - 1) * 2**scales + 1:
        scales += 1
    return scales


# Traced once for any image size: run eagerly, SSIM and MS-SSIM dispatch hundreds of small ops per
# image (measured here: ~1.2 s an image of 256 x 256 for both images of a pair, most of an
# evaluation).
_IMAGE = tf.TensorSpec([1, None, None, 3], tf.float32)


@tf.function(input_signature=[_IMAGE, _IMAGE])
def _ssim_graph(output, target):
    return tf.image.ssim(output, target, max_val=metrics.MAX_VAL)[0]


@functools.cache
def _ms_ssim_graph(scales):
    weights = np.asarray(MS_SSIM_WEIGHTS[:scales])
    weights = tuple(float(w) for w in weights / weights.sum())

    @tf.function(input_signature=[_IMAGE, _IMAGE])
    def ms_ssim(output, target):
        return tf.image.ssim_multiscale(
            output, target, max_val=metrics.MAX_VAL, power_factors=weights
        )[0]

    return ms_ssim


def _ssim(output, target):
    if min(target.shape[1], target.shape[2]) < SSIM_WINDOW:
        return math.nan
    return float(_ssim_graph(output, target))


def _ms_ssim(output, target):
    scales = ms_ssim_scales(target.shape[1], target.shape[2])
    if scales == 0:
        return math.nan, 0
    return float(_ms_ssim_graph(scales)(output, target)), scales


def pair_scores(output, target, quantize=True):
    """PSNR, SSIM and MS-SSIM of `output` (clipped to [0, 1], and rounded to 8 bits if `quantize`)
    against `target`, both [1, H, W, 3] float32."""
    output = tf.convert_to_tensor(output, tf.float32)
    target = tf.convert_to_tensor(target, tf.float32)
    # Clipped in both protocols (an image holds no values outside [0, 1]); rounded in the authors'.
    output = metrics.quantize(output) if quantize else tf.clip_by_value(output, 0.0, 1.0)
    ms_ssim, scales = _ms_ssim(output, target)
    return {
        "psnr": float(metrics.psnr(output, target, quantized=False)[0]),
        "ssim": _ssim(output, target),
        "ms_ssim": ms_ssim,
        "ms_ssim_scales": scales,
    }


def image_row(name, blurry, sharp, outputs, all_scales=False, protocol=DEFAULT_PROTOCOL):
    """One CSV row: the deblurred and blurry figures of a pair.

    Args:
      name: the pair's name.
      blurry, sharp: [1, H, W, 3] float32 in [0, 1].
      outputs: the model's outputs, finest first ([1, H, W, 3] for level 0).
      all_scales: also score output levels k >= 1 against the sharp image's pyramid.
      protocol: a key of PROTOCOLS.
    """
    deblurred = pair_scores(outputs[0], sharp, quantize=PROTOCOLS[protocol][0])
    baseline = pair_scores(blurry, sharp)
    row = {"name": name, "height": int(sharp.shape[1]), "width": int(sharp.shape[2])}
    row.update(deblurred)
    row.update(
        {f"blurry_{key}": value for key, value in baseline.items() if key != "ms_ssim_scales"}
    )
    if all_scales and len(outputs) > 1:
        from keras_deblur.models.pyramid import gaussian_pyramid

        sharp_levels = gaussian_pyramid(tf.convert_to_tensor(sharp), len(outputs))
        blurry_levels = gaussian_pyramid(tf.convert_to_tensor(blurry), len(outputs))
        for k in range(1, len(outputs)):
            target = sharp_levels[k]
            row[f"psnr_scale{k}"] = float(
                metrics.psnr(tf.cast(outputs[k], tf.float32), target, quantized=False)[0]
            )
            row[f"blurry_psnr_scale{k}"] = float(
                metrics.psnr(blurry_levels[k], target, quantized=False)[0]
            )
    return row
