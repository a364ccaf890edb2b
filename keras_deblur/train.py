"""Trains DeepDeblur: `python -m keras_deblur.train --flagfile=gopro.flags [--flag=value ...]`.

Flags given after the flagfile win. The run directory (--run_dir) receives TensorBoard logs,
checkpoints, best/, config.json, flags.txt and the final generator.keras; rerunning the same command
resumes from the last complete checkpoint. See BUILD.md for the flagfiles and what to expect.
"""

from absl import flags

from keras_deblur import cli
from keras_deblur import flags as f
from keras_deblur.data.augment import AugmentConfig
from keras_deblur.data.input_pipeline import InputConfig
from keras_deblur.models.specs import GeneratorSpec
from keras_deblur.training.config import TrainConfig


def _steps(name, values):
    try:
        return tuple(int(v) for v in values)
    except ValueError as error:
        raise ValueError(
            f"--{name} must be a comma-separated list of steps, got {values}"
        ) from error


def train_config_from_flags():
    """The TrainConfig that the command line describes (every entry point shares the flags)."""
    return TrainConfig(
        run_dir=f.RUN_DIR.value,
        data_dir=f.DATA_DIR.value,
        train_tfrecords=tuple(f.TRAIN_TFRECORDS.value),
        test_tfrecords=tuple(f.TEST_TFRECORDS.value),
        blur_key=f.BLUR_KEY.value,
        skip_bad_pairs=f.SKIP_BAD_PAIRS.value,
        generator=GeneratorSpec(
            num_scales=f.NUM_SCALES.value,
            num_resblocks=f.NUM_RESBLOCKS.value,
            filters=f.FILTERS.value,
            kernel_size=f.KERNEL_SIZE.value,
            upsample=f.UPSAMPLE.value,
            global_residual=f.GLOBAL_RESIDUAL.value,
        ),
        discriminator=f.DISCRIMINATOR_SPEC.value,
        input=InputConfig(
            batch_size=f.GLOBAL_BATCH_SIZE.value,
            crops_per_image=f.CROPS_PER_IMAGE.value,
            shuffle_buffer=f.SHUFFLE_BUFFER_CROPS.value,
            seed=f.SEED.value,
            augment=AugmentConfig(
                crop_size=f.CROP_SIZE_PX.value,
                rotation=f.ROTATION.value,
                augmentations=tuple(f.AUGMENTATIONS.value),
            ),
        ),
        train_steps=f.TRAIN_STEPS.value,
        train_minutes=f.TRAIN_MINUTES.value,
        learning_rate=f.LEARNING_RATE.value,
        lr_decay_steps=_steps("lr_decay_steps", f.LR_DECAY_STEPS.value),
        lr_decay_factor=f.LR_DECAY_FACTOR.value,
        content_loss=f.CONTENT_LOSS.value,
        adversarial_weight=f.ADVERSARIAL_WEIGHT.value,
        strategy=f.STRATEGY.value,
        mixed_precision=f.MIXED_PRECISION.value,
        jit_compile=f.JIT_COMPILE.value,
        deterministic=f.DETERMINISTIC.value,
        seed=f.SEED.value,
        init_from=f.INIT_FROM.value,
        checkpoint_every_steps=f.CHECKPOINT_EVERY_STEPS.value,
        log_every_steps=f.LOG_EVERY_STEPS.value,
        image_every_steps=f.IMAGE_EVERY_STEPS.value,
        validate_every_steps=f.VALIDATE_EVERY_STEPS.value,
        num_validation_images=f.NUM_VALIDATION_IMAGES.value,
        profile_steps=_steps("profile_steps", f.PROFILE_STEPS.value),
    )


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    config = train_config_from_flags()
    from keras_deblur.training.loop import (
        train,
    )  # TensorFlow starts here, after the flags are checked

    summary = train(config, flags_text=flags.FLAGS.flags_into_string())
    print(f"trained to step {summary['step']}; latest checkpoint {summary['checkpoint']}")
    if summary["best"]:
        print(f"best validation: {summary['best']}")
    print(f"TensorBoard: tensorboard --logdir={config.run_dir}")


if __name__ == "__main__":
    flags.mark_flag_as_required("run_dir")
    cli.run(main)
