"""The multi-scale deblurring generator of Nah et al. (CVPR 2017), section 3.1 and Fig. 4.

Where the paper is silent, the conventions of the authors' released PyTorch code are followed:
inputs centred by subtracting the mid value (0.5 here, 127.5 there), the finer scale's input is
[blurry - 0.5, link output] with blurry first, and the link takes the coarser scale's centred
output.
"""

import contextlib
import dataclasses

import keras

from keras_deblur.models import blocks
from keras_deblur.models.layers import CropToLevel, GaussianPyramid, PixelShuffle
from keras_deblur.models.specs import GeneratorSpec

UPSAMPLE_MODES = ("conv_transpose", "pixel_shuffle")


def _link(centred_output, kernel_size, upsample, name):
    """Carries a coarser scale's centred output up to the next finer scale (3 -> 3 channels, x2)."""
    channels = blocks.IMAGE_CHANNELS
    if upsample == "conv_transpose":
        # PyTorch's fan-in of a transposed conv counts its OUTPUT channels (3 here, like its input).
        return keras.layers.Conv2DTranspose(
            channels,
            kernel_size,
            strides=2,
            padding="same",
            name=f"{name}_upconv",
            **blocks.torch_default_initializers(kernel_size * kernel_size * channels),
        )(centred_output)
    x = blocks.conv(centred_output, channels * 4, kernel_size, f"{name}_conv")
    return PixelShuffle(2, name=f"{name}_shuffle")(x)


def _scale_network(x, num_resblocks, filters, kernel_size, name):
    """One scale's body: conv to `filters` maps, ResBlocks, conv back to 3 channels (centred)."""
    x = blocks.conv(x, filters, kernel_size, f"{name}_conv_first")
    for index in range(1, num_resblocks + 1):
        x = blocks.resblock(x, filters, kernel_size, f"{name}_resblock{index:02d}")
    return blocks.conv(x, blocks.IMAGE_CHANNELS, kernel_size, f"{name}_conv_last")


@keras.saving.register_keras_serializable(package="keras_deblur")
class Generator(keras.Model):
    """The coarse-to-fine generator: a Keras functional model that carries its `GeneratorSpec`.

    Built by `build_generator` (see there for the arguments and layer names). Calling it always
    returns the latent pyramid as a list, finest first, for every K: a functional model with one
    output would otherwise return a bare tensor, and `model(x)[0]` would be the first image of
    the batch instead of the finest scale.
    """

    def __init__(
        self,
        num_scales=3,
        num_resblocks=19,
        filters=64,
        kernel_size=5,
        upsample="conv_transpose",
        global_residual=False,
        input_shape=(None, None, 3),
        **kwargs,
    ):
        self.spec = GeneratorSpec(
            num_scales, num_resblocks, filters, kernel_size, upsample, global_residual
        )
        self._input_shape_arg = tuple(input_shape)
        blurry, outputs = _graph(self.spec, tuple(input_shape))
        super().__init__(blurry, outputs, **kwargs)

    def call(self, inputs, training=None, mask=None):
        outputs = super().call(inputs, training=training, mask=mask)
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def get_config(self):
        return {
            **dataclasses.asdict(self.spec),
            "input_shape": self._input_shape_arg,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_generator(
    num_scales=3,
    num_resblocks=19,
    filters=64,
    kernel_size=5,
    upsample="conv_transpose",
    global_residual=False,
    input_shape=(None, None, 3),
    name="generator",
):
    """Builds the coarse-to-fine generator, a `Generator` (Keras functional model).

    The model takes ONE batch of RGB images, float in [0, 1], of any height and width. Inside the
    graph it pads them (repeating the edge) to a multiple of 2^(K-1), builds the Gaussian pyramid
    (`pyramid.py`), runs the scales coarsest first, and crops every output back. Every conv starts
    from the authors' frameworks' default initialisation (`blocks.torch_default_initializers`).

    Scales are numbered as in the paper, 1 = finest. Layer names: `scale{k}_conv_first`,
    `scale{k}_resblock{i:02d}_conv{1,2}`, `scale{k}_conv_last`, `link{k}to{k-1}_upconv` (or
    `_conv` and `_shuffle` with pixel_shuffle links), `latent{k}` for the outputs.

    Args:
      num_scales: K, the number of pyramid levels (the paper uses 3).
      num_resblocks: ResBlocks per scale (19 in the paper, so each scale has 40 convs).
      filters: feature maps of every conv inside a scale (64).
      kernel_size: side of every conv kernel, odd (5).
      upsample: the link between scales: "conv_transpose" (the paper's up-convolution, 5x5 stride 2,
        3 -> 3 channels) or "pixel_shuffle" (a 3 -> 12 conv then depth-to-space x2 in PyTorch's
        channel order, as in the authors' released code).
      global_residual: if True, every scale adds its output to its own blurry input, so an untrained
        network starts at the identity instead of at noise. NOT the paper's network (its scales
        output the image itself); it is what lets a small model beat the blurry input within
        minutes on a CPU (BUILD.md, the `small` preset). Adds no weights.
      input_shape: (height, width, 3); None sides accept any size. Fix them only to count FLOPs.
      name: the model's name.

    Returns:
      A `Generator` whose output is the latent pyramid as a list, finest first, for every K:
      `model(x)[0]` is the deblurred image, the same size as `x`; level k has sides
      ceil(h / 2^k), ceil(w / 2^k). `model.spec` is its `GeneratorSpec`.
    """
    return Generator(
        num_scales,
        num_resblocks,
        filters,
        kernel_size,
        upsample,
        global_residual,
        input_shape,
        name=name,
    )


def _graph(spec, input_shape):
    """The generator's input and list of outputs (finest first), after checking the spec."""
    blocks.check_positive_int("num_scales", spec.num_scales)
    blocks.check_positive_int("num_resblocks", spec.num_resblocks)
    blocks.check_positive_int("filters", spec.filters)
    blocks.check_odd_kernel(spec.kernel_size)
    if spec.upsample not in UPSAMPLE_MODES:
        raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {spec.upsample!r}")
    blocks.check_image_shape(input_shape)

    blurry = keras.Input(shape=input_shape, name="blurry")
    blurry_pyramid = GaussianPyramid(spec.num_scales, name="blurry_pyramid")(blurry)
    centred_levels = [
        keras.layers.Rescaling(1.0, offset=-0.5, name=f"scale{scale}_centre")(level)
        for scale, level in enumerate(blurry_pyramid, start=1)
    ]
    centred_outputs = coarse_to_fine(
        centred_levels,
        spec.num_resblocks,
        spec.filters,
        spec.kernel_size,
        spec.upsample,
        spec.global_residual,
    )
    outputs = []
    for scale, centred in enumerate(centred_outputs, start=1):
        latent = keras.layers.Rescaling(1.0, offset=0.5, name=f"scale{scale}_uncentre")(centred)
        outputs.append(CropToLevel(scale - 1, name=f"latent{scale}")([latent, blurry]))
    return blurry, outputs


def coarse_to_fine(centred_levels, num_resblocks, filters, kernel_size, upsample, global_residual):
    """The scales' networks and the links between them: the generator without its pre- and
    post-processing.

    Takes the blurry pyramid's levels, finest first, centred (minus 0.5) and already padded, and
    returns each scale's centred output, finest first. `build_generator` wraps it with the pyramid,
    padding and cropping; the benchmark calls it alone as the "bare stack".
    """
    outputs = []
    link = None
    for scale in range(len(centred_levels), 0, -1):
        x = centred_levels[scale - 1]
        if link is not None:
            x = keras.layers.Concatenate(name=f"scale{scale}_concat")([x, link])
        centred = _scale_network(x, num_resblocks, filters, kernel_size, f"scale{scale}")
        if global_residual:
            centred = keras.layers.Add(name=f"scale{scale}_residual")(
                [centred_levels[scale - 1], centred]
            )
        outputs.append(centred)
        if scale > 1:
            link = _link(centred, kernel_size, upsample, f"link{scale}to{scale - 1}")
    return outputs[::-1]


def spec_of(generator):
    """The `GeneratorSpec` a `Generator` was built with."""
    if not isinstance(generator, Generator):
        raise ValueError(f"{generator.name!r} is not a Generator built by build_generator")
    return generator.spec


@contextlib.contextmanager
def dtype_policy(policy):
    """Layers built inside take `policy` ("float32", "mixed_bfloat16", ...); the global one comes
    back after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def with_dtype_policy(generator, policy):
    """A copy of `generator`, same weights, whose layers compute under `policy` ("mixed_bfloat16",
    ...).

    A `Generator` is rebuilt from its spec under the global policy (runs save float32, and
    `runs.load_generator` loads under float32); this is how to run the same weights in another one.
    """
    with dtype_policy(policy):
        copy = build_generator(**dataclasses.asdict(spec_of(generator)), name=generator.name)
    copy.set_weights(generator.get_weights())
    return copy
