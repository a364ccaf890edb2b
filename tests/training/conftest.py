"""The tiny training recipe, shared by the training tests (the dataset is tests/conftest.py's)."""

from keras_deblur import experiments

# The same recipe as flags, for the tests that run a command in a subprocess.
TINY_FLAGS = ["--experiment=tiny"]


def tiny_config(run_dir, data_dir, **overrides):
    return experiments.get("tiny", run_dir=str(run_dir), data_dir=str(data_dir), **overrides)
