"""What a training run is made of, from its TrainConfig: its data, its GAN and optimizers, the
generator's starting weights."""

import posixpath
import zipfile

import keras
import tensorflow as tf
from absl import logging

from keras_deblur.data.pairs import LAYOUT, discover_pairs
from keras_deblur.data.tfrecords import tfrecord_files
from keras_deblur.errors import DataError
from keras_deblur.file_io import read_json
from keras_deblur.models import build_discriminator_from_spec
from keras_deblur.models.generator import Generator
from keras_deblur.models.grow import grow
from keras_deblur.models.specs import GeneratorSpec
from keras_deblur.models.winograd import KERNEL_SIZES, MIN_CHANNELS, use_winograd_convs
from keras_deblur.run_layout import RunLayout
from keras_deblur.training import budget
from keras_deblur.training.gan import DeblurGAN
from keras_deblur.winograd_units import winograd_compiled_alone

GOPRO_HELP = (
    "Get GOPRO_Large (Nah, Kim and Lee, CVPR 2017): 3214 blurry/sharp pairs of 1280x720 PNGs, 2103 "
    "for "
    "training and 1111 for testing, about 9 GB zipped, published by the authors on their dataset "
    "page "
    "(seungjunnah.github.io/Datasets/gopro); unzip it and pass --data_dir=<folder>/GOPRO_Large. Or "
    "render the embedded dataset on this machine (no download, ~40 s for 200 pairs): "
    "python -m keras_deblur.data.scenes --output_dir=data/scenes, then pass --data_dir=data/scenes."
)


def _missing_dataset(data_dir):
    return DataError(
        f"no training data at --data_dir={data_dir!r}: expected the GOPRO layout {LAYOUT}. "
        f"{GOPRO_HELP}"
    )


def discover(config):
    """(training source, validation source): each split from its TFRecord shards where they are
    given (--train_tfrecords, --test_tfrecords), else from data_dir's PNG pairs, as the flags' help
    says (the one given was used for both, and the other flag dropped without a word)."""
    if config.train_tfrecords:
        train = tuple(tfrecord_files(list(config.train_tfrecords)))
    elif not config.data_dir or not tf.io.gfile.isdir(posixpath.join(config.data_dir, "train")):
        raise _missing_dataset(config.data_dir)
    else:
        train = discover_pairs(config.data_dir, "train", config.blur_key, config.skip_bad_pairs)
        train = train.pairs
    validation = ()
    if not config.num_validation_images:
        return train, validation
    if config.test_tfrecords:
        validation = tuple(tfrecord_files(list(config.test_tfrecords)))
    elif config.data_dir and tf.io.gfile.isdir(posixpath.join(config.data_dir, "test")):
        validation = discover_pairs(
            config.data_dir, "test", config.blur_key, config.skip_bad_pairs
        ).pairs[: config.num_validation_images]
    else:
        logging.warning(
            "no test split (--test_tfrecords, or a test folder under --data_dir=%s): validation is "
            "off",
            config.data_dir,
        )
    return train, validation


def _optimizer(config, planned_steps):
    """Adam on the config's schedule fitted to `planned_steps` (a variable; budget.py); with loss
    scaling when the global dtype policy is mixed_float16."""
    schedule = budget.FittedPiecewiseDecay(
        config.lr_decay_steps, config.learning_rate_values(), config.train_steps, planned_steps
    )
    # epsilon 1e-8: Adam's own default (Kingma and Ba), which Torch and so the authors' code used
    # (the paper names no epsilon); Keras defaults to 1e-7.
    optimizer = keras.optimizers.Adam(schedule, epsilon=1e-8)
    if keras.config.dtype_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_gan(config, planned_steps=None):
    """The DeblurGAN of `config`, compiled, with optimizer slots; call inside strategy.scope().

    `planned_steps` (a variable) is the number of steps the learning-rate schedule is fitted to;
    by default config.train_steps.
    """
    if planned_steps is None:
        planned_steps = tf.constant(config.train_steps, tf.int64)
    generator = Generator(config.generator)
    winograd = config.conv_algorithm == "winograd"
    if winograd and not use_winograd_convs(generator, winograd_compiled_alone):
        raise ValueError(
            f"--conv_algorithm=winograd: no conv of this generator qualifies (square kernels of "
            f"{KERNEL_SIZES} between at least {MIN_CHANNELS} maps; --filters="
            f"{config.generator.filters}, --kernel_size={config.generator.kernel_size})"
        )
    with_gan = config.adversarial_weight > 0
    discriminator = (
        build_discriminator_from_spec(
            config.discriminator, image_size=config.input.augment.crop_size
        )
        if with_gan
        else None
    )
    gan = DeblurGAN(generator, discriminator)
    gan.compile(
        _optimizer(config, planned_steps),
        _optimizer(config, planned_steps) if with_gan else None,
        content_loss=config.content_loss,
        adversarial_weight=config.adversarial_weight,
    )
    gan.build_optimizers()
    return gan


def starting_weights(source):
    """Where `--init_from` takes weights from: ("preset", the shipped weights file), ("keras", the
    .keras file) or ("run", the run's checkpoints folder). A path that exists wins over a preset of
    the same name."""
    from keras_deblur.models import presets

    if source in presets.WEIGHTS and not tf.io.gfile.exists(source):
        return "preset", presets.weights_path(source)
    if source.endswith(".keras"):
        return "keras", source
    return "run", RunLayout(source).checkpoints()


def init_generator(generator, source):
    """Copies generator weights from a preset the package ships (by name: fine-tuning), a .keras
    file or a run directory's latest checkpoint.

    A generator (preset, .keras or run) with the same spec but fewer ResBlocks per scale or fewer
    maps starts a deeper (`--num_resblocks`) or wider (`--filters`) generator as its exact function
    (`models.grow`). Other differences are refused, naming both specs.
    """
    kind, path = starting_weights(source)
    if kind == "preset":
        from keras_deblur.models import presets

        shipped = presets.load(source, dtype=generator.get_config()["dtype"])
        _copy_or_grow(shipped, generator, f"--init_from={source}: the preset's generator")
        print(f"generator initialised from the shipped preset {source}", flush=True)
        return
    if kind == "keras":
        if not tf.io.gfile.exists(source):
            raise FileNotFoundError(f"--init_from={source} does not exist")
        try:
            loaded = keras.saving.load_model(source)
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            # Keras says "File not found" of a damaged file too.
            raise DataError(
                f"--init_from={source} is not a Keras model file this package can read "
                f"(damaged or truncated?): {error}"
            ) from None
        loaded_generator = loaded.generator if isinstance(loaded, DeblurGAN) else loaded
        if isinstance(loaded_generator, Generator):
            _copy_or_grow(loaded_generator, generator, f"--init_from={source}: its generator")
            return
        try:
            generator.set_weights(loaded_generator.get_weights())
        except ValueError as error:
            raise ValueError(
                f"--init_from={source} does not match the generator flags: {error}"
            ) from error
        return
    latest = tf.train.latest_checkpoint(path)
    if latest is None:
        raise FileNotFoundError(
            f"--init_from={source} is neither a .keras file nor a run directory with checkpoints"
        )
    trained = Generator(_run_spec(source, generator.spec), dtype=generator.get_config()["dtype"])
    tf.train.Checkpoint(generator=trained).read(latest).expect_partial()
    _copy_or_grow(trained, generator, f"--init_from={source}: the run's generator")
    print(f"generator initialised from {latest}", flush=True)


def _run_spec(run_dir, default):
    """The generator spec a run recorded in its config.json (`default` for runs without one)."""
    recorded = read_json(RunLayout(run_dir).config)
    return GeneratorSpec(**recorded["config"]["generator"]) if recorded else default


def _copy_or_grow(trained, generator, what):
    """Sets `generator`'s weights from `trained`, grown first if only its depth or width is
    smaller."""
    if trained.spec == generator.spec:
        generator.set_weights(trained.get_weights())
        return
    old, new = trained.spec, generator.spec
    try:
        grown = grow(trained, new)  # refuses any other difference, and a smaller depth or width
    except ValueError:
        raise ValueError(f"{what} ({old}) does not match the generator flags ({new})") from None
    generator.set_weights(grown.get_weights())
    print(
        f"generator grown from {old.num_resblocks} ResBlocks of {old.filters} maps per scale "
        f"to {new.num_resblocks} of {new.filters}, as its exact function",
        flush=True,
    )
