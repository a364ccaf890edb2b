"""Keras functional models: the generator and discriminator of the paper, and their spec table."""

import dataclasses as _dataclasses

from keras_deblur.models.discriminator import build_discriminator
from keras_deblur.models.generator import build_generator
from keras_deblur.models.specs import (
    DISCRIMINATOR_SPECS,
    GENERATOR_SPECS,
    DiscriminatorSpec,
    GeneratorSpec,
    discriminator_spec,
    generator_spec,
)


def build_generator_from_spec(name, **overrides):
    """`build_generator` with the arguments of the named spec (`paper`, `tiny`, ...),
    overridable."""
    return build_generator(**{**_dataclasses.asdict(generator_spec(name)), **overrides})


def build_discriminator_from_spec(name, **overrides):
    """`build_discriminator` with the arguments of the named spec, overridable."""
    return build_discriminator(**{**_dataclasses.asdict(discriminator_spec(name)), **overrides})
