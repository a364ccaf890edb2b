"""Named training recipes: `--experiment=NAME` (train, pipeline), then any flag overrides a value.

Each recipe is a frozen `TrainConfig`; a value is written here only where it differs from the
dataclasses' defaults, which are the paper's (`TrainConfig`, `GeneratorSpec`, `InputConfig`,
`AugmentConfig`) but for two points it leaves open or the authors' code settled otherwise: rotation
by multiples of 90 degrees, and the precision (`auto`); BUILD.md, "The paper against the authors'
code". The flagfiles (`gopro.flags`, `gopro_release.flags`, `small.flags`,
`smoke.flags`) name a recipe and the data; the tests use `tiny`.

- `paper_gopro`: the paper (Nah, Kim and Lee, CVPR 2017, sections 3-4) on GOPRO_Large: K = 3, 19
  ResBlocks, 64 maps, 5x5 kernels, up-convolution links, 256x256 crops of blur_gamma, global batch
  4, Adam 5e-5 divided by 10 after 150,000 of 450,000 iterations, multi-scale MSE + 1e-4
  adversarial loss. Where the paper and the authors' code disagree: BUILD.md.
- `release_gopro`: the authors' later PyTorch recipe: conv + PixelShuffle links, L1 content loss
  summed over scales, no adversarial loss, global batch 16, Adam 1e-4 halved at epochs 500, 750 and
  900 of 1000 (an epoch of 2103 pairs at batch 16 is ~131.4 steps).
- `small`: the README's main job on a CPU: fine-tunes the shipped `photo` model on the data given
  (96-pixel crops, Adam 5e-5, a 10-minute budget of at most 4,000 steps). `--init_from=` (empty)
  trains the same network from scratch instead; the `small` generator spec (3 ResBlocks of 32 maps,
  3x3) is the recipe it replaced (BUILD.md has both).
- `photo`: the model the package ships (`Generator.from_preset("photo")`): the `photo` generator
  (6 ResBlocks of 64 maps, 5x5, global residual), 128-pixel crops of `blur`, batch 8, L1, Adam
  2e-4 divided by 10 at 3/4 of a 55-minute budget, trained on blur synthesised from photos
  (BUILD.md has the commands, the data, the stages and the curves: the first stages ran at 32
  maps, `--filters=32`, the next at 48, before the model was widened to 64).
- `smoke`: the tiny generator for 40 steps (about a minute on 2 CPU cores).
- `tiny`: the tests' recipe: a few steps on 48-pixel scenes in a second or two, float32 always.
"""

import dataclasses

from keras_deblur.data.augment_config import AugmentConfig
from keras_deblur.data.input_pipeline import InputConfig
from keras_deblur.models.specs import GENERATOR_SPECS
from keras_deblur.training.config import TrainConfig


def paper_gopro():
    return TrainConfig(
        checkpoint_every_steps=2000,
        image_every_steps=2000,
        validate_every_steps=10_000,
        num_validation_images=16,
    )


def release_gopro():
    return dataclasses.replace(
        paper_gopro(),
        generator=dataclasses.replace(GENERATOR_SPECS["paper"], upsample="pixel_shuffle"),
        input=InputConfig(batch_size=16),
        train_steps=131_400,
        learning_rate=1e-4,
        lr_decay_steps=(65_700, 98_550, 118_260),
        lr_decay_factor=0.5,
        content_loss="l1",
        adversarial_weight=0.0,
    )


def photo():
    return TrainConfig(
        generator=GENERATOR_SPECS["photo"],
        discriminator="tiny",
        input=InputConfig(batch_size=8, augment=AugmentConfig(crop_size=128)),
        # GOPRO's blur/ (what real-dev and users' GOPRO frames are) averages the camera's encoded
        # frames; blur_gamma averages in linear light. Train on the one the real frames match.
        blur_key="blur",
        train_minutes=55.0,
        train_steps=40_000,
        learning_rate=2e-4,  # 1e-3 diverged in bf16 by step 3,290 (BUILD.md)
        lr_decay_steps=(30_000,),
        content_loss="l1",
        adversarial_weight=0.0,
        checkpoint_every_steps=500,
        log_every_steps=50,
        image_every_steps=2000,
        validate_every_steps=1000,
        num_validation_images=16,
    )


def small():
    return dataclasses.replace(
        photo(),
        init_from="photo",  # fine-tunes the model the package ships
        input=InputConfig(batch_size=8, augment=AugmentConfig(crop_size=96)),
        train_minutes=10.0,
        train_steps=4000,
        learning_rate=5e-5,
        lr_decay_steps=(3000,),
        image_every_steps=500,
        validate_every_steps=500,
    )


def smoke():
    return TrainConfig(
        generator=GENERATOR_SPECS["tiny"],
        discriminator="tiny",
        input=InputConfig(augment=AugmentConfig(crop_size=64)),
        train_steps=40,
        learning_rate=1e-3,
        lr_decay_steps=(30,),
        checkpoint_every_steps=20,
        log_every_steps=10,
        image_every_steps=20,
        validate_every_steps=20,
        num_validation_images=4,
    )


def tiny():
    return TrainConfig(
        generator=GENERATOR_SPECS["tiny"],
        discriminator="tiny",
        input=InputConfig(
            batch_size=2, crops_per_image=2, shuffle_buffer=4, augment=AugmentConfig(crop_size=32)
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


EXPERIMENTS = {
    "paper_gopro": paper_gopro,
    "release_gopro": release_gopro,
    "small": small,
    "photo": photo,
    "smoke": smoke,
    "tiny": tiny,
}
DEFAULT_EXPERIMENT = "paper_gopro"


def get(name, **overrides):
    """The recipe called `name`, with `overrides` (TrainConfig fields) applied."""
    if name not in EXPERIMENTS:
        raise ValueError(f"--experiment must be one of {sorted(EXPERIMENTS)}, got {name!r}")
    return dataclasses.replace(EXPERIMENTS[name](), **overrides)
