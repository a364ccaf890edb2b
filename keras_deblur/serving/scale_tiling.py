"""Exact tiled inference for the multi-scale generator: the same pixels as the whole image.

Plain tiling (`tiling.py`) cannot equal whole-image inference for a coarse-to-fine model: its coarse
scales see the whole image, a tile sees only its neighbourhood. Here the generator is run one scale
at a time, coarsest first, as `Generator` runs them, but each scale's body (conv, ResBlocks, conv:
`generator._scale_network`) runs in tiles:

- The blurry pyramid, the links between scales, the residual adds and the final crop work on whole
  3- or 6-channel maps: cheap (24 bytes a pixel at most), and exact.
- A body is a stack of stride-1, zero-padded convolutions, so an output pixel depends only on the
  input within its receptive radius R = (2 + 2 x ResBlocks) x (kernel - 1) / 2 (80 pixels for the
  paper's network). A tile's core is therefore computed from the core plus R pixels on each side
  (cut at the image border, where the whole image's own zero padding is), and the cores are
  pasted together: the result equals the whole map up to float rounding, at any tile size.
- The wide maps (`filters` channels) live only inside a tile, so memory is set by the tile size,
  which is chosen from a memory budget (`tile_side_for_budget`), not by the image size.

`ScaleFunctions` holds the pieces: from a Keras generator (`from_generator`) or restored from an
export (`saved_model.DeblurModule` saves them beside its signatures).
"""

import dataclasses
import functools

import numpy as np

# Bytes per pixel of a tile in a body, per feature map, by conv algorithm. direct: an estimate of
# four float32 maps alive at once (a conv's input and output, the ResBlock's skip, the backend's
# workspace); `bench --only=deblur` measures the peak this gives. winograd: measured, `deblur` of
# whole 1280x720 frames with the 64-map photo preset peaked at 2.34 GB of resident memory against
# 1.66 GB with float32's direct convolutions, ~12 bytes more per pixel and map (a padded copy of
# each conv's input and its output in strips; the strips' tiles themselves are a few MiB).
# BUILD.md, "Winograd in strips".
BYTES_PER_PIXEL_PER_MAP = {"direct": 16, "winograd": 32}


def receptive_radius(num_resblocks, kernel_size):
    """Pixels on each side that one scale's body looks at: (2 + 2 x ResBlocks) convs."""
    return (2 + 2 * num_resblocks) * (kernel_size - 1) // 2


@dataclasses.dataclass(frozen=True)
class ScaleFunctions:
    """A generator taken apart into its scales (each function takes and returns float32 NHWC).

    levels: blurry [1, H, W, 3] -> the centred, padded pyramid levels, finest first.
    bodies: scale k (1 = finest) -> its body, [1, h, w, 3 or 6] -> [1, h, w, 3].
    links: scale k > 1 -> its link to scale k - 1, [1, h, w, 3] -> [1, 2h, 2w, 3].
    """

    num_scales: int
    radius: int
    filters: int
    global_residual: bool
    levels: object
    bodies: dict
    links: dict
    conv_algorithm: str = "direct"  # exports always hold direct convolutions

    @classmethod
    def from_generator(cls, generator, conv_algorithm="direct"):
        """The scales of a Keras generator. `conv_algorithm="winograd"` computes each body's
        convolutions between wide maps as Winograd F(4x4, r x r), each compiled by XLA for each
        input size (`models/winograd.py`): same pixels within float32 rounding, faster than
        oneDNN's direct convolutions (BUILD.md), plus a second or two of compilation per size."""
        import keras
        import tensorflow as tf

        from keras_deblur.models.winograd import check_conv_algorithm, with_winograd_convs
        from keras_deblur.winograd_units import winograd_compiled_alone

        check_conv_algorithm(conv_algorithm)
        spec = generator.spec
        winograd = conv_algorithm == "winograd"

        def traced(model, channels):
            signature = [tf.TensorSpec([None, None, None, channels], tf.float32)]
            # A partial, not a lambda: TensorFlow counts traces per code object, and would warn
            # of "retracing" when the one lambda is traced once for each scale.
            return tf.function(functools.partial(_float32_output, model), input_signature=signature)

        def submodel(first, last):
            return keras.Model(generator.get_layer(first).input, generator.get_layer(last).output)

        centres = [
            generator.get_layer(f"scale{k}_centre").output for k in range(1, spec.num_scales + 1)
        ]
        levels_model = keras.Model(generator.input, centres)

        def levels(x):
            found = levels_model(x, training=False)  # one output (K = 1) comes back bare
            return [tf.cast(level, tf.float32) for level in tf.nest.flatten(found)]

        bodies, links = {}, {}
        for k in range(1, spec.num_scales + 1):
            channels = 3 if k == spec.num_scales else 6
            body = submodel(f"scale{k}_conv_first", f"scale{k}_conv_last")
            if winograd:
                body = with_winograd_convs(body, winograd_compiled_alone)
            bodies[k] = traced(body, channels)
            if k > 1:
                if spec.upsample == "conv_transpose":
                    first = last = f"link{k}to{k - 1}_upconv"
                else:
                    first, last = f"link{k}to{k - 1}_conv", f"link{k}to{k - 1}_shuffle"
                links[k] = traced(submodel(first, last), 3)
        return cls(
            num_scales=spec.num_scales,
            radius=receptive_radius(spec.num_resblocks, spec.kernel_size),
            filters=spec.filters,
            global_residual=spec.global_residual,
            levels=tf.function(
                levels, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)]
            ),
            bodies=bodies,
            links=links,
            conv_algorithm=conv_algorithm,
        )

    def facts(self):
        """What an export records (its metadata) to rebuild these from its saved functions."""
        return {
            "num_scales": self.num_scales,
            "radius": self.radius,
            "filters": self.filters,
            "global_residual": self.global_residual,
        }

    def attach_to(self, module):
        """Makes the functions attributes of a tf.Module, so that tf.saved_model.save keeps them."""
        module.levels = self.levels
        for k, body in self.bodies.items():
            setattr(module, f"body{k}", body)
        for k, link in self.links.items():
            setattr(module, f"link{k}", link)

    @classmethod
    def from_loaded(cls, loaded, facts):
        """The functions of a loaded export that `attach_to` saved; None for an older export."""
        if not facts or not hasattr(loaded, "levels"):
            return None
        scales = range(1, facts["num_scales"] + 1)
        return cls(
            **facts,
            levels=loaded.levels,
            bodies={k: getattr(loaded, f"body{k}") for k in scales},
            links={k: getattr(loaded, f"link{k}") for k in scales if k > 1},
        )


def _float32_output(model, x):
    import tensorflow as tf

    return tf.cast(model(x, training=False), tf.float32)


def tile_side_for_budget(filters, radius, memory_bytes, conv_algorithm="direct"):
    """The largest tile core side whose body (with its halo) fits in `memory_bytes`."""
    if not memory_bytes > 0:
        raise ValueError(f"--memory_budget must be positive, got {memory_bytes} bytes")
    bytes_per_pixel = BYTES_PER_PIXEL_PER_MAP[conv_algorithm] * filters
    side = int((memory_bytes / bytes_per_pixel) ** 0.5) - 2 * radius
    if side < 2 * radius:
        raise ValueError(
            f"--memory_budget: {memory_bytes / 2**20:.0f} MiB leaves tiles smaller than the "
            f"model's reach ({2 * radius} pixels); give more memory"
        )
    return side


def _tiled(body, x, core, radius):
    """body(x) for a [H, W, C] map, computed in cores of core x core pixels with `radius` halos."""
    height, width = x.shape[:2]
    if height <= core and width <= core:
        return np.asarray(body(x[None]))[0]
    out = np.empty((height, width, 3), np.float32)
    for top in range(0, height, core):
        for left in range(0, width, core):
            y0, x0 = max(top - radius, 0), max(left - radius, 0)
            y1, x1 = min(top + core + radius, height), min(left + core + radius, width)
            result = np.asarray(body(x[None, y0:y1, x0:x1]))[0]
            bottom, right = min(top + core, height), min(left + core, width)
            out[top:bottom, left:right] = result[top - y0 : bottom - y0, left - x0 : right - x0]
    return out


def deblur_exact(functions, image, core, clip=True):
    """The generator's finest output for a float32 [H, W, 3] image in [0, 1], bodies in tiles of
    `core` pixels (plus halos): equal to running the whole image. Clipped to [0, 1] unless `clip`
    is False (a self-ensemble averages the raw outputs, then clips, as the signature does)."""
    height, width = image.shape[:2]
    levels = [np.asarray(level)[0] for level in functions.levels(image[None])]
    link = None
    for k in range(functions.num_scales, 0, -1):
        level = levels[k - 1]
        x = level if link is None else np.concatenate([level, link], axis=-1)
        centred = _tiled(functions.bodies[k], x, core, functions.radius)
        if functions.global_residual:
            centred = centred + level
        if k > 1:
            link = np.asarray(functions.links[k](centred[None]))[0]
    output = centred[:height, :width] + 0.5
    return np.clip(output, 0.0, 1.0) if clip else output
