"""keras_deblur: DeepDeblur (Nah, Kim and Lee, CVPR 2017) in TensorFlow / Keras 3.

Importing the package loads only the backend-agnostic parts (models, losses, metrics); the
TensorFlow-specific parts (input pipeline, training, export, serving) are imported where used.
"""

from keras_deblur import quiet

quiet.import_tensorflow()  # before Keras imports it: no C++ start-up noise in any command

from keras_deblur.models import (  # noqa: E402
    build_discriminator,
    build_discriminator_from_spec,
    build_generator,
    build_generator_from_spec,
)

__version__ = "0.1.0"


def __getattr__(name):
    # `keras_deblur.Deblurrer` needs TensorFlow: imported on first use, so `import keras_deblur`
    # stays backend-agnostic.
    if name == "Deblurrer":
        from keras_deblur.serving.deblurrer import Deblurrer

        return Deblurrer
    raise AttributeError(f"module 'keras_deblur' has no attribute {name!r}")
