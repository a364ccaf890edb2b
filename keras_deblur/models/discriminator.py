"""The discriminator of Nah et al. (CVPR 2017), Table 1.

Documented readings of the paper:
- LeakyReLU slope 0.2 after every conv: the paper names LeakyReLU but gives no slope; 0.2 is the
  value of the authors' released code.
- Table 1 row 11, "fc 1024 x 1024", then "sigmoid": read as a dense layer from the 1024 features to
  ONE logit (a discriminator outputs one probability). The sigmoid is not in the model: the
  adversarial losses take logits, which is numerically stable (`losses.py`).
- The input is centred (x - 0.5), like the generator's inputs, so both networks see zero-mean
pixels.
"""

import keras

from keras_deblur.models import blocks

LEAKY_SLOPE = 0.2


def build_discriminator(
    filters=(32, 64, 64, 128, 128, 256, 256, 512, 512, 1024),
    strides=(2, 1, 2, 1, 2, 1, 4, 1, 4, 2),
    kernel_size=5,
    image_size=256,
    name="discriminator",
):
    """Builds the discriminator as a Keras functional model.

    With the defaults (Table 1) a 256 x 256 input is reduced by the strides (2*2*2*4*4*2 = 256) to
    1 x 1 x 1024 before the dense layer.

    Args:
      filters: feature maps of the convs, in order.
      strides: stride of each conv, the same length as `filters`.
      kernel_size: side of every conv kernel, odd.
      image_size: side of the square RGB patches it judges (the training crop size).
      name: the model's name.

    Returns:
      A `keras.Model` from [N, image_size, image_size, 3] images in [0, 1] to [N, 1] logits
      (positive means "sharp, real").
    """
    filters, strides = tuple(filters), tuple(strides)
    if not filters or len(filters) != len(strides):
        raise ValueError(
            "filters and strides must be non-empty and of the same length, "
            f"got filters={filters!r} and strides={strides!r}"
        )
    for value in filters:
        blocks.check_positive_int("filters", value)
    for value in strides:
        blocks.check_positive_int("strides", value)
    blocks.check_odd_kernel(kernel_size)
    blocks.check_positive_int("image_size", image_size)

    images = keras.Input(shape=(image_size, image_size, blocks.IMAGE_CHANNELS), name="images")
    x = keras.layers.Rescaling(1.0, offset=-0.5, name="centre")(images)
    for index, (width, stride) in enumerate(zip(filters, strides), start=1):
        x = blocks.conv(x, width, kernel_size, f"conv{index:02d}", strides=stride)
        if index < len(filters):
            x = keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"lrelu{index:02d}")(x)
        else:
            # The same function as max(x, 0.2 x): with LeakyReLU here, TensorFlow's grappler
            # remapper
            # fails on CPUs with oneDNN's fused ops (AVX-512 Xeon, Zen 4) when the gradient is
            # taken,
            # printing "remapper failed: ... LeakyReluGrad exist for missing node conv10/BiasAdd".
            x = keras.layers.Maximum(name=f"lrelu{index:02d}")(
                [x, keras.layers.Rescaling(LEAKY_SLOPE, name=f"lrelu{index:02d}_slope")(x)]
            )
    x = keras.layers.Flatten(name="flatten")(x)
    logits = keras.layers.Dense(1, name="fc", **blocks.torch_default_initializers(x.shape[-1]))(x)
    return keras.Model(images, logits, name=name)
