"""The multi-scale deblurring generator of Nah et al. (CVPR 2017), section 3.1 and Fig. 4.

Where the paper is silent, the conventions of the authors' released PyTorch code are followed:
inputs centred by subtracting the mid value (0.5 here, 127.5 there), the finer scale's input is
[blurry - 0.5, link output] with blurry first, and the link takes the coarser scale's centred
output.
"""

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
    """The coarse-to-fine generator: a Keras functional model built from a `GeneratorSpec`.

    The model takes ONE batch of RGB images, float in [0, 1], of any height and width. Inside the
    graph it pads them (repeating the edge) to a multiple of 2^(K-1), builds the Gaussian pyramid
    (`pyramid.py`), runs the scales coarsest first, and crops every output back. Every conv starts
    from the authors' frameworks' default initialisation (`blocks.torch_default_initializers`).
    Calling it always returns the latent pyramid as a list, finest first, for every K: `model(x)[0]`
    is the deblurred image, the same size as `x`; level k has sides ceil(h / 2^k), ceil(w / 2^k).
    (A functional model with one output would otherwise return a bare tensor, and `model(x)[0]`
    would be the first image of the batch.)

    Scales are numbered as in the paper, 1 = finest. Layer names: `scale{k}_conv_first`,
    `scale{k}_resblock{i:02d}_conv{1,2}`, `scale{k}_conv_last`, `link{k}to{k-1}_upconv` (or
    `_conv` and `_shuffle` with pixel_shuffle links), `latent{k}` for the outputs.

    Args:
      spec: the architecture (`GeneratorSpec`, or its fields as a dict); `get_config` returns it.
      input_shape: (height, width, 3); None sides accept any size. Fix them only to count FLOPs.
      dtype: the Keras dtype policy of every layer ("float32", "mixed_bfloat16", ...), like any
        Keras layer's; default: the global policy.
      **kwargs: `keras.Model`'s (name, trainable).
    """

    def __init__(self, spec=GeneratorSpec(), input_shape=(None, None, 3), dtype=None, **kwargs):
        from keras_deblur.precision import dtype_policy

        self.spec = GeneratorSpec(**spec) if isinstance(spec, dict) else spec
        self._input_shape_arg = tuple(input_shape)
        policy = keras.dtype_policies.get(dtype) if dtype else keras.config.dtype_policy()
        with dtype_policy(policy):
            blurry, outputs = _graph(self.spec, self._input_shape_arg)
        self._policy_name = policy.name
        super().__init__(blurry, outputs, **{"name": "generator", **kwargs})

    def call(self, inputs, training=None, mask=None):
        outputs = super().call(inputs, training=training, mask=mask)
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def get_config(self):
        return {
            "spec": dataclasses.asdict(self.spec),
            "input_shape": self._input_shape_arg,
            "dtype": self._policy_name,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "spec" not in config:  # saved before the spec was nested (its fields at the top level)
            fields = [field.name for field in dataclasses.fields(GeneratorSpec)]
            config["spec"] = {name: config.pop(name) for name in fields if name in config}
        return cls(**config)

    @classmethod
    def from_preset(cls, name, load_weights=True, dtype=None):
        """The generator of a preset (`models/presets.py`): its spec and, by default, its
        weights."""
        from keras_deblur.models import presets

        return presets.load(name, load_weights=load_weights, dtype=dtype)


def build_generator(input_shape=(None, None, 3), name="generator", dtype=None, **spec_fields):
    """`Generator(GeneratorSpec(**spec_fields), ...)`: the fields and their defaults are the spec's
    (`models/specs.py`); an unknown field is a TypeError naming it."""
    return Generator(GeneratorSpec(**spec_fields), input_shape=input_shape, dtype=dtype, name=name)


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


def with_dtype_policy(generator, policy):
    """A copy of `generator`, same weights, whose layers compute under `policy` ("mixed_bfloat16",
    ...): how to run a float32 run's weights in bf16, or save a bf16-trained generator as
    float32."""
    copy = Generator.from_config({**generator.get_config(), "dtype": policy})
    copy.set_weights(generator.get_weights())
    return copy
