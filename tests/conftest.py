"""Shared test set-up: quiet TensorFlow, seeded inputs, a tiny embedded dataset."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

_exit_status = {}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Ends the process once pytest has reported, without the interpreter's teardown.

    At interpreter exit TensorFlow can deadlock destroying a tf.data iterator that a test left
    alive: the iterator's destructor waits for its worker threads (seen in CI, 2026-11-29: every
    test passed, the summary printed, then the process hung in futex waits under
    ~LogicalThreadWrapper). Nothing is left to run or report by then, so exit with pytest's code.
    """
    if "code" in _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status["code"])


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
