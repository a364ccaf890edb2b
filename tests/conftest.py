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


@pytest.fixture(scope="session")
def dead_pid():
    """The PID of a process that has ended."""
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def leftover(dead_pid):
    """leftover(folder, name, pid=dead, host=this one): writes a temporary as a writer with that PID
    would have left it beside `name`, and returns its file name."""
    from keras_deblur import file_io

    def make(folder, name, pid=dead_pid, host=None):
        prefix, _, rest = file_io.temporary_path(os.path.join(str(folder), name)).rpartition(
            ".tmp-"
        )
        _, this_host, suffix = rest.split("-", 2)
        path = f"{prefix}.tmp-{pid}-{host or this_host}-{suffix}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as file:
            file.write("half-written")
        return os.path.basename(path)

    return make
