"""A tiny training configuration, shared by the training tests (the dataset is
tests/conftest.py's)."""

import dataclasses

from keras_deblur.data.augment import AugmentConfig
from keras_deblur.data.input_pipeline import InputConfig
from keras_deblur.models.specs import GENERATOR_SPECS
from keras_deblur.training.config import TrainConfig

# The same settings as flags, for the tests that run the command in a subprocess.
TINY_FLAGS = [
    "--num_scales=3",
    "--num_resblocks=1",
    "--filters=8",
    "--kernel_size=3",
    "--discriminator_spec=tiny",
    "--crop_size=32",
    "--rotation=right_angles",
    "--global_batch_size=2",
    "--crops_per_image=2",
    "--shuffle_buffer=4",
    "--learning_rate=1e-3",
    "--lr_decay_steps=4",
    "--log_every_steps=2",
    "--image_every_steps=2",
    "--validate_every_steps=3",
    "--num_validation_images=2",
    "--mixed_precision=float32",
]


def tiny_config(run_dir, data_dir, **overrides):
    config = TrainConfig(
        run_dir=str(run_dir),
        data_dir=str(data_dir),
        generator=GENERATOR_SPECS["tiny"],
        discriminator="tiny",
        input=InputConfig(
            batch_size=2,
            crops_per_image=2,
            shuffle_buffer=4,
            augment=AugmentConfig(crop_size=32, rotation="right_angles"),
        ),
        train_steps=6,
        learning_rate=1e-3,
        lr_decay_steps=(4,),
        checkpoint_every_steps=2,
        log_every_steps=2,
        image_every_steps=2,
        validate_every_steps=3,
        num_validation_images=2,
        mixed_precision="float32",  # the same numbers on every CPU (auto may pick bf16 on some)
    )
    return dataclasses.replace(config, **overrides)
