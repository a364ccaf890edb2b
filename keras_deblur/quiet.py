"""TensorFlow imported without its C++ start-up noise.

Importing TensorFlow prints, from C++, before any log level applies, messages such as "Could not
find cuda drivers on your machine" (twice) and "failed call to cuInit" on every CPU-only machine;
TF_CPP_MIN_LOG_LEVEL does not reach them (measured with TF 2.21). So the import runs with the
process's stderr pointed at /dev/null, then stderr comes back. Python errors are not hidden: an
import that fails raises after stderr is restored.
"""

import json
import os
import sys


def _keras_backend():
    """The backend Keras will load: KERAS_BACKEND, else keras.json's, else TensorFlow (Keras's
    rules)."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    try:
        with open(os.path.join(home, "keras.json")) as file:
            return json.load(file).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def import_tensorflow():
    """Imports TensorFlow quietly (once per process) where Keras runs on it; a no-op on other
    backends."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING after start-up
    if "tensorflow" in sys.modules or _keras_backend() != "tensorflow":
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (an embedding host): nothing to silence
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe, and its messages, happen here
    except ImportError:
        pass  # no TensorFlow here: Keras says so itself, with stderr back, when it needs it
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
