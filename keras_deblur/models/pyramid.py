"""The Gaussian pyramid shared by the generator (blurry input) and the loss (sharp target).

Written with `keras.ops` only, so it runs on every Keras 3 backend.

The authors' code builds each coarser level with scikit-image's `pyramid_reduce`: a Gaussian blur
with sigma = 2/3 (scipy's `gaussian_filter`, truncate=4, so a radius of int(4 * 2/3 + 0.5) = 3
pixels, with scipy's "reflect" border, which repeats the edge pixel: d c b a | a b c d) followed by
a bilinear half-size resize. On an even size, a bilinear half-size resize with half-pixel centres
samples exactly between two pixels, so it equals 2x2 average pooling; we pad every image to a
multiple of 2^(K-1) first, so each level we downsample has even sides and the pooling is exact.
"""

import math

import numpy as np
from keras import ops

PYRAMID_SIGMA = 2.0 / 3.0
PYRAMID_RADIUS = int(4.0 * PYRAMID_SIGMA + 0.5)  # scipy's truncate=4.0 rule: 3 pixels.


def gaussian_kernel_1d(sigma=PYRAMID_SIGMA, radius=PYRAMID_RADIUS):
    """Normalised 1-D Gaussian taps, length 2 * radius + 1, as a float64 NumPy array."""
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()


def symmetric_indices(size, radius):
    """Source indices for padding a length-`size` axis by `radius` on both sides, scipy-"reflect".

    Works for any size >= 1, also when the radius exceeds the size (the pattern repeats with
    period 2 * size), which a plain symmetric pad cannot do on a 1- or 2-pixel image.
    """
    positions = ops.arange(-radius, size + radius)
    period = 2 * size
    folded = ops.mod(positions, period)
    return ops.where(folded >= size, period - 1 - folded, folded)


def edge_pad_to_multiple(images, multiple):
    """Pads NHWC images at the bottom and right by repeating the last row/column.

    The padded height and width are the smallest multiples of `multiple` that hold the image.
    Index gathering (rather than a pad op) works for a 1-pixel image on every backend.
    """
    if multiple == 1:
        return images
    shape = ops.shape(images)
    for axis in (1, 2):
        size = shape[axis]
        padded_size = ((size + multiple - 1) // multiple) * multiple
        indices = ops.minimum(ops.arange(padded_size), size - 1)
        images = ops.take(images, indices, axis=axis)
    return images


def gaussian_blur(images, sigma=PYRAMID_SIGMA, radius=PYRAMID_RADIUS):
    """Separable Gaussian blur of NHWC images with scipy-"reflect" borders; same size out."""
    channels = images.shape[-1]
    taps = ops.cast(ops.convert_to_tensor(gaussian_kernel_1d(sigma, radius)), images.dtype)
    for axis in (1, 2):
        size = ops.shape(images)[axis]
        padded = ops.take(images, symmetric_indices(size, radius), axis=axis)
        kernel_shape = (2 * radius + 1, 1) if axis == 1 else (1, 2 * radius + 1)
        kernel = ops.tile(ops.reshape(taps, kernel_shape + (1, 1)), (1, 1, channels, 1))
        images = ops.depthwise_conv(padded, kernel, strides=1, padding="valid")
    return images


def gaussian_downsample(images):
    """One pyramid step: blur, then halve. Height and width must be even."""
    return ops.average_pool(gaussian_blur(images), pool_size=2, strides=2, padding="valid")


def padded_pyramid(images, num_scales):
    """Pyramid of the image padded to a multiple of 2^(K-1); finest first, exact halves."""
    levels = [edge_pad_to_multiple(images, 2 ** (num_scales - 1))]
    for _ in range(num_scales - 1):
        levels.append(gaussian_downsample(levels[-1]))
    return levels


def level_size(size, level):
    """Side length of pyramid level `level` (0 = finest) for an image side of `size`."""
    if isinstance(size, int):
        return math.ceil(size / 2**level)
    return (size + 2**level - 1) // 2**level


def crop_to_level(level_images, height, width, level):
    """Crops a (padded) pyramid level to the size that level has for a height x width image."""
    return level_images[:, : level_size(height, level), : level_size(width, level), :]


def gaussian_pyramid(images, num_scales):
    """The Gaussian pyramid of NHWC images, finest first.

    Level k has sides ceil(h / 2^k), ceil(w / 2^k): the sizes of the generator's output pyramid
    for the same input, so the content loss can compare them level by level.

    Args:
      images: float tensor [N, H, W, C].
      num_scales: number of levels K >= 1.

    Returns:
      A list of K tensors, level 0 (the images themselves) first.
    """
    if num_scales < 1:
        raise ValueError(f"num_scales must be >= 1, got {num_scales}")
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    return [
        crop_to_level(level, height, width, k)
        for k, level in enumerate(padded_pyramid(images, num_scales))
    ]
