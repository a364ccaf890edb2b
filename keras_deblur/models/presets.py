"""Generators by name, with the weights the package ships: `Generator.from_preset("name")`.

A preset is a spec of `specs.GENERATOR_SPECS`, by its name, and, where this package ships trained
weights for it, a weights file in `keras_deblur/models/weights/<name>.weights.h5`, listed in
`WEIGHTS` with what it was trained on.
The files are package data: installed with the package, never downloaded. `load_weights=False`
builds any preset untrained. `DEFAULT` is the model `deblur` uses when given no `--model`.

The two trained presets differ in the blur they learnt, and in width (`photo` 64 maps,
`photo_camera` 32: the width `photo` had when `photo_camera` was made from it). Blur is a sum of
the instants of an exposure: `photo` learnt GOPRO's sum, of the camera's encoded frames (the
`blur` key), which is what GOPRO-made test frames hold; `photo_camera` learnt that and the sum a
sensor makes, in linear light (`blur_gamma`), which is how a photograph taken with a camera is
blurred. `photo` gains little on the second kind; `photo_camera` gains on both, less than `photo`
on the first (BUILD.md, "The shipped model").

`write_weights` makes such a file: Keras's weights layout with each array stored in float16, half
the size, loaded back into float32 (or any policy) by `load_weights`. The rounding changes about
0.5% of `photo`'s 8-bit output values by one level (none by more) and both presets' real-dev PSNR
by under 0.0003 dB (BUILD.md, "Weights in float16"); it lets a wider model stay within the 10 MB
the package allows a model (issue 17).
"""

import os
import tempfile

import numpy as np

from keras_deblur import file_io
from keras_deblur.models.specs import generator_spec

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
# Preset name -> (weights file in WEIGHTS_DIR, what it was trained on and how well it does).
WEIGHTS = {
    "photo": (
        "photo.weights.h5",
        "motion blur synthesised from photographs (experiments.photo, two stages, 32 maps), the "
        "embedded mix of photos and scenes (experiments.small, 48 minutes), then widened to 48 "
        "maps and trained on that mix for about 5 hours (four runs), then to 64 maps and trained "
        "on it for about 4.4 hours more (one run over three sessions), then 14,000 steps on a new "
        "render of the mix on a lent GPU (tools/train_on_jax.py, 5 minutes); BUILD.md, issue 17",
    ),
    "photo_camera": (
        "photo_camera.weights.h5",
        "photo's 32-map weights of 2026-11-29, then its embedded mix with each pair once averaged "
        "as GOPRO does (blur) and once in linear light, as a camera's sensor does (blur_gamma; "
        "experiments.small, 25 minutes); BUILD.md, issue 17",
    ),
}
DEFAULT = "photo"


def weights_path(name):
    """The shipped weights file of preset `name`, or None if the package has none for it."""
    entry = WEIGHTS.get(name)
    return os.path.join(WEIGHTS_DIR, entry[0]) if entry else None


def load_shipped(name, dtype="float32"):
    """The trained `Generator` of preset `name`, for the commands' `--preset`: a ValueError naming
    the flag unless the package ships weights for it."""
    if name not in WEIGHTS:
        raise ValueError(
            f"--preset={name}: no such preset with trained weights; the package ships "
            f"{', '.join(sorted(WEIGHTS))}"
        )
    return load(name, dtype=dtype)


def load(name, load_weights=True, dtype=None):
    """The `Generator` of preset `name` (weights loaded unless load_weights=False)."""
    from keras_deblur.models.generator import Generator

    generator = Generator(generator_spec(name), dtype=dtype, name="generator")
    if load_weights:
        path = weights_path(name)
        if path is None:
            shipped = sorted(WEIGHTS) or "none yet"
            raise ValueError(
                f"preset {name!r} has no trained weights in this package (presets with weights: "
                f"{shipped}); Generator.from_preset({name!r}, load_weights=False) builds it "
                "untrained"
            )
        generator.load_weights(path)
    return generator


def write_weights(generator, path):
    """Writes `generator`'s weights to `path` as a shipped weights file: what `save_weights` writes,
    each floating-point array stored in float16. Written beside `path` and renamed into place, so
    an interrupted call leaves the old file whole; a weight beyond float16's range is refused."""
    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "float32.weights.h5")
        generator.save_weights(full)
        with (
            h5py.File(full, "r") as source,
            file_io.atomic_path(path) as partial,
            h5py.File(partial, "w") as target,
        ):
            target.attrs.update(source.attrs)
            source.visititems(lambda name, item: _copy_as_float16(name, item, target))


def _copy_as_float16(name, item, target):
    import h5py

    if isinstance(item, h5py.Group):
        target.require_group(name).attrs.update(item.attrs)
        return
    data = item[()]
    if data.dtype.kind == "f":
        with np.errstate(over="ignore"):  # checked just below, with the weight's name
            narrowed = data.astype(np.float16)
        if not np.all(np.isfinite(narrowed)):
            raise ValueError(
                f"weight {name} does not fit float16 (largest magnitude "
                f"{np.abs(data).max():g}); it cannot be shipped in this format"
            )
        data = narrowed
    target.create_dataset(name, data=data).attrs.update(item.attrs)
