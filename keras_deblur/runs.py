"""Reading what a training run left behind: its generator and its recorded metadata."""

import posixpath

import keras
import tensorflow as tf

from keras_deblur.data.images import read_json


def load_generator(model_dir):
    """The generator of a run directory (its final `generator.keras`) or of a `.keras` file."""
    path = model_dir if model_dir.endswith(".keras") else posixpath.join(model_dir, "generator.keras")
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"--model_dir={model_dir}: no {path}; a run writes generator.keras when it finishes "
            "(rerun the training command to finish it)")
    return keras.saving.load_model(path)


def run_metadata(model_dir):
    """What a run recorded: config.json, the best validation score and the last evaluation, if any."""
    if model_dir.endswith(".keras"):
        return {"source": model_dir}
    return {
        "source": model_dir,
        "run": read_json(posixpath.join(model_dir, "config.json")),
        "best_validation": read_json(posixpath.join(model_dir, "best", "best.json")),
        "evaluation": read_json(posixpath.join(model_dir, "evaluation", "metrics.json")),
    }
