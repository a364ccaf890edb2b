"""The Python API users call: `Deblurrer(model).deblur(image) -> image`.

    from keras_deblur.serving.deblurrer import Deblurrer
    deblurred = Deblurrer().deblur(image)  # [H, W, 3] uint8, uint16 or float in [0, 1]

With no argument, the model the package ships (`Deblurrer().deblur(image)`); otherwise an exported
SavedModel (a version folder, or a base path: its highest version) or a preset's name. Large images
run scale by scale in exact tiles (`scale_tiling.py`), so memory is set by the tile size.
`RemoteDeblurrer` offers the same `deblur` through a running TF Serving (`client.py`).
"""

import os

import numpy as np
import tensorflow as tf
from absl import logging

from keras_deblur.data.blur_math import to_uint8
from keras_deblur.serving import saved_model
from keras_deblur.serving.ensemble import check_size, recorded_size, self_ensemble
from keras_deblur.serving.scale_tiling import ScaleFunctions, deblur_exact, tile_side_for_budget
from keras_deblur.serving.tiling import check_tiling, deblur_tiled

DEFAULT_TILE_SIZE = 512
DEFAULT_TILE_OVERLAP = 64


def _as_float(image):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be [height, width, 3] RGB, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0, np.uint8
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0, np.uint16
    return image.astype(np.float32), None


def _restore_dtype(deblurred, dtype):
    if dtype is None:
        return deblurred
    top = np.iinfo(dtype).max
    return np.round(np.clip(deblurred, 0.0, 1.0) * top).astype(dtype)


def default_memory_budget():
    """Bytes the tiles of one image may take: an eighth of this machine's memory, at most 1 GiB.

    The cap keeps a 4000x3000 photo through the paper's network well under 4 GB in all (measured
    peak resident memory: 3.15 GB at 1 GiB, 3.97 GB at 1.5, 4.05 GB at 2; BUILD.md): the
    whole-image maps and TensorFlow itself take about as much again as the tiles."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min(physical // 8, 2**30)


class Deblurrer:
    """Deblurs images locally with an exported model or a preset the package ships.

    `model` is an export (a version folder, or a base path: its highest version) or, when no such
    path exists, the name of a preset with shipped weights (`models/presets.py`); None means the
    package's default model, `presets.DEFAULT`. A preset runs through the same functions an export
    saves (`saved_model.DeblurModule`), so both give the same pixels.

    Images run scale by scale with each scale's body in tiles (`scale_tiling.py`; an image within
    one tile is one tile): the whole image's pixels, with memory bounded by the tile. The
    tile side is `tile_size` if given, else the largest that `memory_budget` bytes allow (default:
    `default_memory_budget()`). Exports written before the scales were saved separately fall back
    to blended overlapping tiles of the whole model (`tiling.py`: `tile_overlap`, `tile_batch`),
    which only approximate the whole image. `ensemble` > 1 (or an export made with `--ensemble`)
    averages over that many flips and transpositions (`ensemble.py`, that many times the time).
    `mixed_precision` (presets only; `precision.resolve`'s values) is the dtype policy a preset runs
    in: float32 by default, so every machine gives the same pixels; `auto` (the `deblur` command's
    default) takes bfloat16 where it is faster (2x with `photo` on an AVX-512 BF16 CPU, real-dev
    PSNR within 0.005 dB; BUILD.md).
    `conv_algorithm="winograd"` (presets only) runs the bodies' convolutions as Winograd F(4x4),
    each compiled by XLA (`ScaleFunctions.from_generator`): the same pixels as float32's direct
    convolutions within rounding, 1.2-4x faster by CPU, after a few seconds of compiling per new
    tile size (BUILD.md, "Winograd in strips", "A fourth kind"). `auto` (the `deblur` command's
    default) takes Winograd where the preset runs in float32 and direct convolutions otherwise
    (bf16, exports).
    """

    def __init__(
        self,
        model=None,
        tile_size=None,
        tile_overlap=DEFAULT_TILE_OVERLAP,
        tile_batch=4,
        memory_budget=None,
        ensemble=1,
        conv_algorithm="direct",
        mixed_precision="float32",
    ):
        from keras_deblur import precision
        from keras_deblur.models import presets
        from keras_deblur.models.winograd import AUTO, check_conv_algorithm

        if conv_algorithm != AUTO:
            check_conv_algorithm(conv_algorithm)
        check_size(ensemble)
        model = model or presets.DEFAULT
        if tf.io.gfile.exists(model):
            if conv_algorithm == "winograd":
                raise ValueError(
                    f"--conv_algorithm={conv_algorithm} runs a preset's Keras model; an export "
                    f"({model}) holds traced direct convolutions"
                )
            precision.check_exported(mixed_precision, f"the export {model}")
            self.precision, self.precision_why = "float32", "an export runs as it was exported"
            self.conv_algorithm = "direct"
            loaded, self.metadata = saved_model.load(model)
            self._signature = loaded.signatures["deblur_float"]
            self.scales = ScaleFunctions.from_loaded(loaded, self.metadata.get("scale_tiling"))
        elif model in presets.WEIGHTS:
            self.precision, self.precision_why = precision.resolve(mixed_precision)
            generator = presets.load_shipped(model, dtype=self.precision)
            if conv_algorithm == AUTO:  # Winograd computes in float32 only
                conv_algorithm = "winograd" if self.precision == "float32" else "direct"
            self.conv_algorithm = conv_algorithm
            loaded = saved_model.DeblurModule(generator, conv_algorithm=conv_algorithm)
            self.metadata = {"num_scales": generator.spec.num_scales, "preset": model}
            self._signature = loaded.deblur_float
            self.scales = loaded.scales
        else:
            raise ValueError(
                f"--model={model}: no such export, nor a preset the package ships "
                f"({', '.join(sorted(presets.WEIGHTS))})"
            )
        self.model = loaded  # the functions' owner: its variables live as long as the deblurrer
        self.align = 2 ** (int(self.metadata.get("num_scales", 3)) - 1)
        if self.scales is None:
            tile_size = tile_size or DEFAULT_TILE_SIZE
            check_tiling(tile_size, tile_overlap, self.align, tile_batch)
        elif tile_size is None:
            # `is None`, not falsiness: a budget that rounds to 0 bytes is named, not replaced.
            budget = default_memory_budget() if memory_budget is None else memory_budget
            tile_size = tile_side_for_budget(
                self.scales.filters, self.scales.radius, budget, self.scales.conv_algorithm
            )
        elif tile_size < 1:
            raise ValueError(f"--tile_size must be a positive number of pixels, got {tile_size}")
        self.tile_size, self.tile_overlap, self.tile_batch = tile_size, tile_overlap, tile_batch
        # An export made with --ensemble averages in its signatures (for TF Serving); here the
        # per-scale functions run, so the average is taken here: over as many symmetries as the
        # export's, unless `ensemble` asks for an ensemble itself.
        self.ensemble = ensemble if ensemble > 1 else recorded_size(self.metadata.get("ensemble"))

    def _run_batch(self, tiles):
        return self._signature(images=tf.constant(tiles, tf.float32))["deblurred"].numpy()

    def _deblur_float(self, pixels, clip=True):
        if self.scales is None:  # a legacy export: its signature clips
            return deblur_tiled(
                self._run_batch,
                pixels,
                self.tile_size,
                self.tile_overlap,
                self.align,
                self.tile_batch,
            )
        return deblur_exact(self.scales, pixels, self.tile_size, clip)

    def deblur(self, image):
        """[H, W, 3] uint8, uint16 or float in [0, 1] -> the deblurred image, same size and
        dtype."""
        pixels, dtype = _as_float(image)
        if self.ensemble > 1:
            # The raw outputs are averaged and the average clipped, as an --ensemble export's
            # signature does (clipping each first moved pixels where one output left [0, 1]).
            deblurred = self_ensemble(
                lambda batch: self._deblur_float(np.asarray(batch)[0], clip=False)[None],
                pixels[None],
                self.ensemble,
            )
            deblurred = np.clip(np.asarray(deblurred)[0], 0.0, 1.0)
        else:
            deblurred = self._deblur_float(pixels)
        return _restore_dtype(deblurred, dtype)


class RemoteDeblurrer:
    """The same `deblur`, sent to TF Serving's REST API (the server deblurs the whole image)."""

    def __init__(self, server, model_name):
        from keras_deblur.serving.client import RestClient

        self.client = RestClient(server, model_name)
        self.warned_8_bit = False

    def deblur(self, image):
        pixels, dtype = _as_float(image)
        if dtype == np.uint16:
            # Sent at 16 bits (the signature decodes them); it answers an 8-bit PNG, said once.
            png = tf.io.encode_png(np.asarray(image, np.uint16)).numpy()
            if not self.warned_8_bit:
                logging.warning(
                    "--server: the served model answers 8-bit PNGs, so 16-bit images come back "
                    "with 8 bits of precision (deblur them without --server to keep 16)"
                )
                self.warned_8_bit = True
        else:
            png = tf.io.encode_png(to_uint8(pixels)).numpy()
        deblurred = tf.io.decode_png(self.client.deblur_encoded([png])[0]).numpy()
        return _restore_dtype(deblurred.astype(np.float32) / 255.0, dtype)
