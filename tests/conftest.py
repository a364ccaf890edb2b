"""Shared test set-up: quiet TensorFlow, seeded inputs, a tiny embedded dataset."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def scenes_dir(tmp_path_factory):
    """8 rendered 48x48 scenes: 6 train, 2 test pairs."""
    from keras_deblur.data.scene_rendering import SceneConfig
    from keras_deblur.data.scenes import render_dataset

    root = str(tmp_path_factory.mktemp("scenes"))
    render_dataset(root, 8, seed=0, config=SceneConfig(size=48), test_fraction=0.25)
    return root
