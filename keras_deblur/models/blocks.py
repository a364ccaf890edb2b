"""Building blocks and argument checks shared by the generator and the discriminator.

Layer names are hierarchical with "_" as the separator (`scale2_resblock07_conv1`): Keras 3 does not
allow "/" in layer names.
"""

import math

import keras

IMAGE_CHANNELS = 3


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_odd_kernel(kernel_size):
    check_positive_int("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(
            f"kernel_size must be odd so 'same' padding is symmetric, got {kernel_size}"
        )


def check_image_shape(input_shape):
    """Input shapes are (height, width, 3); height and width may be None (any size)."""
    if len(input_shape) != 3 or input_shape[-1] != IMAGE_CHANNELS:
        raise ValueError(
            f"input_shape must be (height, width, {IMAGE_CHANNELS}) for RGB images, "
            f"got {tuple(input_shape)!r}"
        )


def torch_default_initializers(fan_in):
    """Kernel and bias initialisers of the authors' frameworks: both uniform in +-1/sqrt(fan_in).

    Torch7 (the paper's Lua code) and PyTorch (the authors' later code) initialise every conv,
    up-conv and linear layer so; Keras's Glorot default makes the paper generator's first outputs
    span about [-570, 840] instead of about [0.1, 0.7] (BUILD.md, "The models"). `fan_in` is
    kernel area x input channels (x output channels for a transposed conv, as PyTorch computes it).
    """
    bound = 1.0 / math.sqrt(fan_in)
    return {
        "kernel_initializer": keras.initializers.RandomUniform(-bound, bound),
        "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
    }


def conv(x, filters, kernel_size, name, strides=1):
    """A 'same'-padded 2-D convolution with bias, as every conv of the paper uses, applied to
    `x`."""
    initializers = torch_default_initializers(kernel_size * kernel_size * x.shape[-1])
    return keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", name=name, **initializers
    )(x)


def resblock(x, filters, kernel_size, name):
    """The paper's modified ResBlock (Fig. 3b): conv, ReLU, conv, plus identity; no BN, no ReLU
    after."""
    y = conv(x, filters, kernel_size, f"{name}_conv1")
    y = keras.layers.ReLU(name=f"{name}_relu")(y)
    y = conv(y, filters, kernel_size, f"{name}_conv2")
    return keras.layers.Add(name=f"{name}_add")([x, y])
