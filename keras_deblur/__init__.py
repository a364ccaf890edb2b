"""keras_deblur: DeepDeblur (Nah, Kim and Lee, CVPR 2017) in TensorFlow / Keras 3.

Importing the package loads only the backend-agnostic parts (models, losses, metrics); the
TensorFlow-specific parts (input pipeline, training, export, serving) are imported where used.
"""

from keras_deblur.models import (
    build_discriminator,
    build_discriminator_from_spec,
    build_generator,
    build_generator_from_spec,
)

__version__ = "0.1.0"
