"""A run's generator file (saving it safely, loading it back) and its recorded metadata."""

import os
import posixpath
import tempfile

import keras
import tensorflow as tf

from keras_deblur import file_io
from keras_deblur.file_io import read_json
from keras_deblur.run_layout import (
    RunLayout,
    earlier_generator_step,
    generator_file,
    is_keras_file,
)


def save_generator(generator, path, overwrite=True):
    """Saves a generator as .keras through a temporary file renamed into place (local or gs://).

    A killed process never leaves a half-written file under `path`; with `overwrite=False` an
    existing file is a FileExistsError.
    """
    if not is_keras_file(path):
        raise ValueError(f"{path} must end in .keras")
    if not overwrite and tf.io.gfile.exists(path):
        raise FileExistsError(f"{path} exists already; choose another name or delete it")
    folder = posixpath.dirname(path)
    if folder:
        tf.io.gfile.makedirs(folder)
    with tempfile.TemporaryDirectory() as scratch:
        local = os.path.join(scratch, "generator.keras")
        generator.save(local)  # Keras writes .keras files to local paths only
        with file_io.atomic_path(path, overwrite=overwrite) as temporary:
            tf.io.gfile.copy(local, temporary)


def load_generator(model_dir):
    """The generator of a run directory (its final `generator.keras`) or of a `.keras` file."""
    path = generator_file(model_dir)
    if not tf.io.gfile.exists(path):
        earlier = {} if is_keras_file(model_dir) else _earlier_generators(model_dir)
        kept = f"; an earlier end's generator is kept as {earlier[max(earlier)]}" if earlier else ""
        raise FileNotFoundError(
            f"--run_dir={model_dir}: no {path}; a run writes generator.keras when it finishes "
            f"(rerun the training command to finish it){kept}"
        )
    from keras_deblur.precision import dtype_policy

    # Runs save float32 generators, whose config names their dtype; a file saved before it did
    # would take the global policy, which is not its own.
    with dtype_policy("float32"):
        return keras.saving.load_model(path)


def _earlier_generators(run_dir):
    """{step: path} of the generators a run set aside when it was resumed after it had ended."""
    paths = tf.io.gfile.glob(RunLayout(run_dir).earlier_generator("*"))
    steps = {earlier_generator_step(path): path for path in paths}
    steps.pop(None, None)
    return steps


def trained_blur_key(model_dir=None, saved_model=None):
    """The --blur_key a run (or the run behind an export) was trained on; None if it did not record
    one."""
    if saved_model:
        from keras_deblur.serving.saved_model import read_metadata, resolve_version

        run = read_metadata(resolve_version(saved_model)).get("run") or {}
    elif model_dir and not is_keras_file(model_dir):
        run = read_json(RunLayout(model_dir).config) or {}
    else:
        return None
    return (run.get("config") or {}).get("blur_key")


def run_metadata(model_dir):
    """What a run recorded: config.json, the best validation score and the last evaluation, if
    any."""
    if is_keras_file(model_dir):
        return {"source": model_dir}
    layout = RunLayout(model_dir)
    return {
        "source": model_dir,
        "run": read_json(layout.config),
        "best_validation": read_json(layout.best_record),
        "evaluation": read_json(layout.evaluation.metrics),
    }


def generator_to_export(run_dir, preset):
    """The generator `--run_dir` or `--preset` names (exactly one), and what an export of it records
    about where it came from."""
    if bool(run_dir) == bool(preset):
        raise ValueError(
            "give the model to export as exactly one of --run_dir (a training run or .keras file) "
            "or --preset (a model the package ships)"
        )
    if preset:
        from keras_deblur.models import presets

        generator = presets.load_shipped(preset)
        return generator, {"preset": preset, "trained_on": presets.WEIGHTS[preset][1]}
    return load_generator(run_dir), run_metadata(run_dir)
