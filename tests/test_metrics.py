import numpy as np
from keras import ops

from keras_deblur import metrics


def test_psnr_of_known_mse_per_image():
    targets = np.full((2, 4, 4, 3), 0.5, np.float32)
    predictions = targets.copy()
    predictions[0] += 0.1  # MSE 0.01 -> 20 dB
    predictions[1, :2] += 0.2  # MSE 0.04 / 2 = 0.02
    got = ops.convert_to_numpy(metrics.psnr(predictions, targets, quantized=False))
    np.testing.assert_allclose(got, [20.0, 10 * np.log10(1 / 0.02)], rtol=1e-5)


def test_psnr_quantizes_and_clips_predictions():
    targets = np.zeros((1, 2, 2, 3), np.float32)
    predictions = np.empty((1, 2, 2, 3), np.float32)
    predictions[..., 0] = 0.4 / 255  # rounds to 0
    predictions[..., 1] = 0.6 / 255  # rounds to 1/255
    predictions[..., 2] = -0.3  # clipped to 0
    got = ops.convert_to_numpy(metrics.psnr(predictions, targets))
    # Only channel 1 differs, by 1/255: MSE = (1/255)^2 / 3.
    np.testing.assert_allclose(got, [10 * np.log10(3 * 255.0**2)], rtol=1e-5)
    unquantized = ops.convert_to_numpy(metrics.psnr(predictions, targets, quantized=False))
    assert unquantized[0] < got[0] - 10  # the -0.3 channel dominates without clipping
