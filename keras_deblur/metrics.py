"""Image quality metrics with one pixel contract: float images in [0, 1], max_val = 1.

Figures are per image (never per batch): average the returned [N] values over images.
Written with `keras.ops`, except `psnr_uint8`: NumPy, for the data writers and tools that score one
8-bit image at a time without a backend.
"""

import numpy as np
from keras import ops

MAX_VAL = 1.0


def quantize(images):
    """Clips to [0, 1] and rounds to the nearest of 256 levels, as saving an 8-bit PNG does."""
    return ops.round(ops.clip(images, 0.0, 1.0) * 255.0) / 255.0


def psnr(predictions, targets, quantized=True):
    """Peak signal-to-noise ratio in dB per image, on RGB in [0, 1]: 10 * log10(1 / MSE).

    The MSE is the mean over all pixels and the three channels of one image. With `quantized`
    (the default) predictions are clipped and rounded to 8 bits first, which is how published
    GOPRO figures are computed from saved PNGs. Identical images give +inf.

    Returns:
      [N] float32 PSNR values.
    """
    predictions = ops.cast(predictions, "float32")
    targets = ops.cast(targets, "float32")
    if quantized:
        predictions = quantize(predictions)
    error = ops.reshape(ops.square(predictions - targets), (ops.shape(targets)[0], -1))
    mse = ops.mean(error, axis=1)
    return 10.0 * ops.log10(MAX_VAL**2 / mse)


def psnr_uint8(image, target):
    """PSNR in dB of one 8-bit image against another (any shape, values 0-255), in float64; +inf
    for identical images."""
    mse = np.mean((np.asarray(image, np.float64) - np.asarray(target, np.float64)) ** 2) / 255.0**2
    return float("inf") if mse == 0 else float(10 * np.log10(1 / mse))
