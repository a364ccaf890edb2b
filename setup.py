"""Installs keras_deblur. Dependency choices are explained in BUILD.md ("Dependencies")."""

import pathlib
import re

from setuptools import find_packages, setup

ROOT = pathlib.Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (ROOT / "keras_deblur" / "__init__.py").read_text(), re.M
).group(1)

TENSORFLOW = "tensorflow>=2.21,<2.22"

setup(
    name="keras_deblur",
    version=VERSION,
    description="DeepDeblur (Nah, Kim and Lee, CVPR 2017) in TensorFlow / Keras 3",
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["keras_deblur", "keras_deblur.*", "pipelines", "pipelines.*"]),
    # Trained generator weights (models/presets.py): installed with the package, never downloaded.
    package_data={"keras_deblur.models": ["weights/*.weights.h5"]},
    install_requires=[
        TENSORFLOW,
        "keras>=3.15,<4",
        # TF 2.21 no longer installs TensorBoard; without it tf.summary raises TBNotInstalledError.
        "tensorboard>=2.21,<2.22",
        # PredictionLog protos for the warm-up file, and the gRPC client. Pulls in the full
        # `tensorflow` package, which this project depends on anyway.
        "tensorflow-serving-api>=2.21,<2.22",
        "absl-py>=2.1",
        "matplotlib>=3.8",
        "numpy>=1.26",
        # The photo renderer's lens softness (scipy.ndimage); scikit-image installs it anyway.
        "scipy>=1.11",
        # Their sample photos are what the embedded dataset blurs (data/photo_sources.py): shipped
        # in the wheels, so nothing is downloaded at run time.
        "scikit-image>=0.24",
        "scikit-learn>=1.5",
        # The pipeline's ingest stage. The tfrecord extra brings crcmod for WriteToTFRecord; 2.77
        # is the release measured beside TF 2.21 (DESIGN.md: it moves protobuf and pillow, tests
        # pass).
        "apache-beam[tfrecord]==2.77.0",
        # `deblur` on videos: its wheel carries an ffmpeg binary (H.264 and the common containers),
        # so nothing is installed or downloaded at run time. imageio itself comes with scikit-image.
        "imageio-ffmpeg>=0.5",
    ],
    extras_require={
        # jax runs the models on Keras's JAX backend in a test, to keep them backend-agnostic;
        # torch builds the authors' PyTorch generator that the weight import is checked against
        # (importing needs no PyTorch). 2.13.0 is pinned: the CPU build these machines hold locally.
        # ruff is pinned: its formatting and rules change between versions, and .ci/run checks both.
        # pytest-xdist runs the test files in parallel (pytest.ini), as most of a test's time is
        # a subprocess importing TensorFlow on one core.
        "test": ["pytest>=8", "pytest-xdist>=3.5", "jax>=0.4.30", "torch==2.13.0", "ruff==0.17.6"],
        # On a machine with an NVIDIA GPU: pip install -e ".[cuda]" pulls TF's CUDA libraries.
        "cuda": ["tensorflow[and-cuda]>=2.21,<2.22"],
        # TensorBoard's Profile tab, to read the traces that `train --profile_steps` writes.
        "profile": ["tensorboard-plugin-profile"],
    },
    # The user commands, as console scripts (each is also `python -m keras_deblur.<name>`).
    entry_points={"console_scripts": ["deblur=keras_deblur.deblur:run"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "License :: OSI Approved :: MIT License",
        "Topic :: Scientific/Engineering :: Image Processing",
    ],
)
