"""Registered custom layers of the generator: no Lambda layers, so `.keras` files load in safe mode.

Each layer is a thin wrapper over a `keras.ops` function in `pyramid.py` or here, so the same
operation is available to the losses without building a model.
"""

import keras
from keras import ops

from keras_deblur.models import pyramid

_PACKAGE = "keras_deblur"


def _scaled_side(side, level):
    return None if side is None else pyramid.level_size(side, level)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GaussianPyramid(keras.layers.Layer):
    """Image in, its Gaussian pyramid out (a list, finest first), padded to a multiple of 2^(K-1).

    The pyramid kernel is a constant, not a weight. Level k has exactly 1/2^k of the padded size,
    so the generator's up-convolutions double each level back onto the next finer one.
    """

    def __init__(self, num_scales, **kwargs):
        super().__init__(**kwargs)
        self.num_scales = num_scales

    def call(self, images):
        return pyramid.padded_pyramid(images, self.num_scales)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        multiple = 2 ** (self.num_scales - 1)

        def side(size, level):
            return None if size is None else -(-size // multiple) * multiple // 2**level

        return [
            (batch, side(height, level), side(width, level), channels)
            for level in range(self.num_scales)
        ]

    def get_config(self):
        return {**super().get_config(), "num_scales": self.num_scales}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CropToLevel(keras.layers.Layer):
    """Crops a padded pyramid level back to the size level `level` has for the original image.

    Called as `layer([level_images, original_images])`.
    """

    def __init__(self, level, **kwargs):
        super().__init__(**kwargs)
        self.level = level

    def call(self, inputs):
        level_images, original = inputs
        shape = ops.shape(original)
        return pyramid.crop_to_level(level_images, shape[1], shape[2], self.level)

    def compute_output_shape(self, input_shape):
        level_shape, original_shape = input_shape
        return (
            level_shape[0],
            _scaled_side(original_shape[1], self.level),
            _scaled_side(original_shape[2], self.level),
            level_shape[3],
        )

    def get_config(self):
        return {**super().get_config(), "level": self.level}


def pixel_shuffle(inputs, upscale_factor):
    """Depth-to-space in PyTorch's `PixelShuffle` channel order, on NHWC tensors.

    Output channel c at sub-pixel (i, j) reads input channel c * r^2 + i * r + j, as PyTorch does
    on NCHW (TensorFlow's `depth_to_space` uses (i * r + j) * C + c instead). Keeping PyTorch's
    order lets the authors' released weights be imported without reordering.
    """
    r = upscale_factor
    shape = ops.shape(inputs)
    batch, height, width = shape[0], shape[1], shape[2]
    channels = inputs.shape[-1] // (r * r)
    x = ops.reshape(inputs, (batch, height, width, channels, r, r))
    x = ops.transpose(x, (0, 1, 4, 2, 5, 3))  # N, H, i, W, j, C
    return ops.reshape(x, (batch, height * r, width * r, channels))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PixelShuffle(keras.layers.Layer):
    """Layer form of `pixel_shuffle` (PyTorch channel order)."""

    def __init__(self, upscale_factor=2, **kwargs):
        super().__init__(**kwargs)
        self.upscale_factor = upscale_factor

    def call(self, inputs):
        return pixel_shuffle(inputs, self.upscale_factor)

    def compute_output_shape(self, input_shape):
        r = self.upscale_factor
        batch, height, width, channels = input_shape
        if channels % (r * r):
            raise ValueError(f"PixelShuffle needs channels divisible by {r * r}, got {channels}")
        return (
            batch,
            None if height is None else height * r,
            None if width is None else width * r,
            channels // (r * r),
        )

    def get_config(self):
        return {**super().get_config(), "upscale_factor": self.upscale_factor}
