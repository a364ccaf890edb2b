"""Validation during training: PSNR and SSIM of full-resolution test images, and preview images."""

import numpy as np
import tensorflow as tf

from keras_deblur import metrics

SSIM_MIN_SIDE = 11  # tf.image.ssim's 11 x 11 Gaussian window


def make_forward(generator):
    """The finest output as float32, traced once for any image size (no retracing per size)."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def forward(blurry):
        return tf.cast(generator(blurry, training=False)[0], tf.float32)

    return forward


def validate(forward, examples):
    """Deblurs each example {"blurry", "sharp"} ([H, W, 3]) and scores it.

    PSNR and SSIM are per image on RGB in [0, 1], the output clipped and rounded to 8 bits;
    SSIM uses tf.image.ssim (11 x 11 Gaussian window, sigma 1.5) and is NaN for images smaller than
    the window. Returns {"psnr", "ssim"} means and the list of (blurry, deblurred, sharp) arrays.
    """
    psnrs, ssims, triplets = [], [], []
    for example in examples:
        blurry, sharp = example["blurry"][None], example["sharp"][None]
        deblurred = metrics.quantize(forward(blurry))
        psnrs.append(float(metrics.psnr(deblurred, sharp)[0]))
        if min(sharp.shape[1], sharp.shape[2]) >= SSIM_MIN_SIDE:
            ssims.append(float(tf.image.ssim(deblurred, sharp, max_val=metrics.MAX_VAL)[0]))
        else:
            ssims.append(float("nan"))
        triplets.append((blurry[0].numpy(), deblurred[0].numpy(), sharp[0].numpy()))
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}, triplets


def side_by_side(triplets):
    """[N, H, 3W, 3] images: blurry | deblurred | sharp, for tf.summary.image."""
    return np.stack([np.concatenate(triplet, axis=1) for triplet in triplets])
