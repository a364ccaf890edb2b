"""The training loop: one `DeblurGAN.train_step` per step under a tf.distribute strategy.

One loop serves every strategy. Keras `fit` runs the same train_step under MirroredStrategy, but
under MultiWorkerMirroredStrategy it fails at the first step (keras-team/keras issue 20585, measured
here: "Attempt to convert a value (PerReplica:{...})"), and it cannot checkpoint the input position.
So each worker reads its own plain tf.data iterator (checkpointable), splits its batch among its
local replicas, and calls `strategy.run(gan.train_step, ...)` inside a tf.function.

Fault tolerance: a checkpoint holds the step, both networks, both optimizers (with the schedule
position) and the input iterator. tf.train.CheckpointManager writes a checkpoint's files first and
then atomically replaces its state file, so a run killed at any moment, SIGKILL included, restarts
from the last complete checkpoint; a half-written one is never read.
"""

import contextlib
import dataclasses
import json
import math
import posixpath
import time

import keras
import tensorflow as tf
from absl import logging

from keras_deblur import file_io, precision
from keras_deblur.data.input_pipeline import evaluation_dataset, training_dataset
from keras_deblur.data.pairs import LAYOUT, discover_pairs
from keras_deblur.data.tfrecords import tfrecord_files
from keras_deblur.errors import DataError
from keras_deblur.file_io import read_json, write_text
from keras_deblur.models import build_discriminator_from_spec
from keras_deblur.models.deblur_gan import DeblurGAN
from keras_deblur.models.generator import Generator, with_dtype_policy
from keras_deblur.precision import dtype_policy
from keras_deblur.progress import Progress
from keras_deblur.run_layout import RunLayout
from keras_deblur.runs import save_generator
from keras_deblur.training import budget, run_info, run_lock, validation
from keras_deblur.training.strategy import make_strategy

NUM_PREVIEWS = 2

GOPRO_HELP = (
    "Get GOPRO_Large (Nah, Kim and Lee, CVPR 2017): 3214 blurry/sharp pairs of 1280x720 PNGs, 2103 "
    "for "
    "training and 1111 for testing, about 9 GB zipped, published by the authors on their dataset "
    "page "
    "(seungjunnah.github.io/Datasets/gopro); unzip it and pass --data_dir=<folder>/GOPRO_Large. Or "
    "render the embedded dataset on this machine (no download, ~40 s for 200 pairs): "
    "python -m keras_deblur.data.scenes --output_dir=data/scenes, then pass --data_dir=data/scenes."
)


class TrainingDivergedError(ValueError):
    """A loss became NaN or infinite (a bad --learning_rate or bad data, typically)."""


def _missing_dataset(data_dir):
    return DataError(
        f"no training data at --data_dir={data_dir!r}: expected the GOPRO layout {LAYOUT}. "
        f"{GOPRO_HELP}"
    )


def _discover(config):
    """(training source, validation source): PNG pairs of data_dir, or TFRecord shard files."""
    if config.train_tfrecords:
        validation = ()
        if config.num_validation_images and config.test_tfrecords:
            validation = tuple(tfrecord_files(list(config.test_tfrecords)))
        return tuple(tfrecord_files(list(config.train_tfrecords))), validation
    if not config.data_dir or not tf.io.gfile.isdir(posixpath.join(config.data_dir, "train")):
        raise _missing_dataset(config.data_dir)
    train = discover_pairs(config.data_dir, "train", config.blur_key, config.skip_bad_pairs).pairs
    validation_pairs = ()
    if config.num_validation_images:
        if tf.io.gfile.isdir(posixpath.join(config.data_dir, "test")):
            validation_pairs = discover_pairs(
                config.data_dir, "test", config.blur_key, config.skip_bad_pairs
            ).pairs[: config.num_validation_images]
        else:
            logging.warning("no test split under %s: validation is off", config.data_dir)
    return train, validation_pairs


def _optimizer(config, planned_steps):
    """Adam on the config's schedule fitted to `planned_steps` (a variable; budget.py); with loss
    scaling when the global dtype policy is mixed_float16."""
    schedule = budget.FittedPiecewiseDecay(
        config.lr_decay_steps, config.learning_rate_values(), config.train_steps, planned_steps
    )
    # epsilon 1e-8: the Adam of the paper (Torch) and of the authors' code; Keras defaults to 1e-7.
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


def _remove_leftovers(run_dir, checkpoint_dir, is_chief):
    """Removes what a killed training left half-written: TensorFlow's `ckpt-N_temp` folders (each
    as large as a checkpoint; this worker owns its checkpoint folders under the run lock) and the
    package's temporaries of dead writers."""
    folders = [checkpoint_dir] + ([RunLayout(run_dir).best] if is_chief else [])
    removed = [
        path
        for folder in folders
        for path in file_io.remove_dead_leftovers(folder, also=r".+_temp")
    ]
    removed += file_io.remove_dead_leftovers(run_dir)
    if removed:
        print(
            f"removed {len(removed)} half-written file(s) of an earlier, killed run: "
            f"{', '.join(removed)}",
            flush=True,
        )


def _init_generator(generator, source):
    """Copies generator weights from a .keras file or a run directory's latest checkpoint."""
    if source.endswith(".keras"):
        if not tf.io.gfile.exists(source):
            raise FileNotFoundError(f"--init_from={source} does not exist")
        loaded = keras.saving.load_model(source)
        loaded_generator = loaded.generator if isinstance(loaded, DeblurGAN) else loaded
        try:
            generator.set_weights(loaded_generator.get_weights())
        except ValueError as error:
            raise ValueError(
                f"--init_from={source} does not match the generator flags: {error}"
            ) from error
        return
    latest = tf.train.latest_checkpoint(RunLayout(source).checkpoints())
    if latest is None:
        raise FileNotFoundError(
            f"--init_from={source} is neither a .keras file nor a run directory with checkpoints"
        )
    tf.train.Checkpoint(generator=generator).read(latest).expect_partial()
    print(f"generator initialised from {latest}", flush=True)


def make_step_function(gan, strategy, topology, iterator, jit_compile):
    """The tf.function of one training step on this worker; returns the metric trackers' results."""
    replica_step = tf.function(gan.train_step, jit_compile=True) if jit_compile else gan.train_step

    @tf.function
    def step():
        batch = next(iterator)
        shares = [tf.split(t, topology.local_replicas) for t in batch]
        per_replica = strategy.experimental_distribute_values_from_function(
            lambda ctx: tuple(
                s[ctx.replica_id_in_sync_group % topology.local_replicas] for s in shares
            )
        )
        strategy.run(replica_step, args=(per_replica,))
        return {m.name: m.result() for m in gan.metrics}

    return step


def _previews(pairs, crop):
    """Fixed centre crops of the first training pairs, deblurred for TensorBoard as the run goes."""
    crops = []
    for example in evaluation_dataset(pairs).take(NUM_PREVIEWS):
        height, width = example["blurry"].shape[:2]
        top, left = max((height - crop) // 2, 0), max((width - crop) // 2, 0)
        crops.append(
            {k: example[k][top : top + crop, left : left + crop] for k in ("blurry", "sharp")}
        )
    return crops


class _Best:
    """The best checkpoint by validation PSNR, kept beside the latest ones (run_dir/best)."""

    def __init__(self, run_dir, generator):
        self.manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(generator=generator), RunLayout(run_dir).best, max_to_keep=1
        )
        self.record_path = RunLayout(run_dir).best_record
        self.record = read_json(self.record_path) or {"psnr": -math.inf}

    def offer(self, step, scores):
        if scores["psnr"] > self.record["psnr"]:
            self.manager.save(checkpoint_number=step)
            self.record = {"step": step, **scores}
            write_text(self.record_path, json.dumps(self.record, indent=2))


def train(config, flags_text=None):
    """Trains (or resumes) the run in config.run_dir. Returns a summary dict.

    The global Keras dtype policy is the run's precision while it trains and comes back after, so
    what the same process builds or loads next (the pipeline's push) is not built in bf16.

    Args:
      config: a TrainConfig.
      flags_text: the resolved flags, written to run_dir/flags.txt (the entry point passes them).
    """
    with contextlib.ExitStack() as cleanup:
        return _train(config, flags_text, cleanup)


def _train(config, flags_text, cleanup):
    strategy, topology = make_strategy(
        config.strategy
    )  # first: multi_worker must start before TF work
    if config.train_minutes and topology.num_workers > 1:
        raise ValueError(
            "--train_minutes needs one host: workers planning their own step counts would disagree"
        )
    if config.global_batch_size % topology.num_replicas:
        raise ValueError(
            f"--global_batch_size={config.global_batch_size} does not divide across "
            f"{topology.num_replicas} replicas"
        )
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    policy, why = precision.resolve(config.mixed_precision)
    if topology.is_chief:
        print(precision.describe(policy, why), flush=True)
    cleanup.enter_context(dtype_policy(policy))

    train_pairs, validation_pairs = _discover(config)
    # Before anything is written: a second training on this run directory stops here, naming the
    # first.
    cleanup.enter_context(run_lock.hold(config.run_dir, topology.worker_index))
    worker_input = dataclasses.replace(
        config.input,
        batch_size=config.global_batch_size // topology.num_workers,
        seed=config.input.seed + 1_000_003 * topology.worker_index,
    )
    worker_source = train_pairs[topology.worker_index :: topology.num_workers]
    if not worker_source:
        raise ValueError(
            f"{len(train_pairs)} training shards cannot feed {topology.num_workers} workers: "
            "write at least one shard per worker"
        )
    dataset = training_dataset(worker_source, worker_input)
    iterator = iter(dataset)

    # Outside the strategy's scope, like the step: plain variables the chief's loop reads and sets.
    plan = budget.TimeBudget(
        config.train_minutes,
        config.train_steps,
        config.lr_decay_steps[0] if config.lr_decay_steps else None,
    )
    with strategy.scope():
        gan = build_gan(config, plan.planned_steps)
    generator = gan.generator
    step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    tracked = {
        "step": step_var,
        "generator": generator,
        "g_optimizer": gan.g_optimizer,
        "iterator": iterator,
        "planned_steps": plan.planned_steps,
        "elapsed_seconds": plan.elapsed_seconds,
    }
    if gan.uses_discriminator:
        tracked.update(discriminator=gan.discriminator, d_optimizer=gan.d_optimizer)
    checkpoint = tf.train.Checkpoint(**tracked)
    # Every worker keeps its own checkpoints: they share the weights but not the input position.
    checkpoint_dir = RunLayout(config.run_dir).checkpoints(topology.worker_index)
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=3)
    _remove_leftovers(config.run_dir, checkpoint_dir, topology.is_chief)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        print(f"resuming from {manager.latest_checkpoint} at step {int(step_var)}", flush=True)
        if not config.train_minutes or plan.planned > config.train_steps:
            # No budget: the plan is --train_steps as given now (a resume may raise it). With one,
            # the checkpointed plan holds, capped by a lower --train_steps.
            plan.planned_steps.assign(config.train_steps)
    elif config.init_from:
        _init_generator(generator, config.init_from)

    if topology.is_chief:
        run_info.write_run_info(
            config.run_dir,
            config,
            flags_text,
            extra={
                "strategy": type(strategy).__name__,
                "replicas": topology.num_replicas,
                "workers": topology.num_workers,
                "precision": {"policy": policy, "why": why},
            },
        )
    reporter = _Reporter(config, gan, train_pairs, validation_pairs, topology.is_chief)
    step_fn = make_step_function(gan, strategy, topology, iterator, config.jit_compile)
    step = int(step_var)
    start_step, start_time = step, time.perf_counter()
    profiler = _Profiler(config, topology.is_chief)
    if config.train_minutes:
        print(
            f"budget: {config.train_minutes:g} minutes, at most {config.train_steps} steps; the "
            f"steps and the "
            "learning-rate decay are fitted to the measured speed",
            flush=True,
        )
    last = time.perf_counter()
    try:
        while step < plan.planned:
            profiler.before_step(step + 1)
            logs = {name: float(value) for name, value in step_fn().items()}
            step_var.assign_add(1)
            step = int(step_var)
            profiler.after_step(step)
            bad = {name: value for name, value in logs.items() if not math.isfinite(value)}
            if bad:
                raise TrainingDivergedError(
                    f"{bad} at step {step}: training stopped without saving. The last good "
                    f"checkpoint is "
                    f"{manager.latest_checkpoint}; lower --learning_rate or check the data, then "
                    f"rerun to resume."
                )
            now = time.perf_counter()
            plan.after_step(
                step, now - last
            )  # before the checkpoint: the plan may end the run here
            reporter.after_step(step, logs, (step - start_step) / (now - start_time), plan.planned)
            if step % config.checkpoint_every_steps == 0 or step >= plan.planned:
                manager.save(checkpoint_number=step)
            last = now  # a save's time counts in the next step's
    finally:
        profiler.stop()  # a failed or diverged step inside the window still ends the trace
    reporter.flush()
    if topology.is_chief:
        # Saved in float32 whatever it trained in: the precision to run it in is chosen where it
        # runs.
        saved = generator if policy == "float32" else with_dtype_policy(generator, "float32")
        save_generator(saved, RunLayout(config.run_dir).generator)
    return {
        "step": step,
        "planned_steps": plan.planned,
        "minutes": float(plan.elapsed_seconds) / 60.0,
        "checkpoint": manager.latest_checkpoint,
        "best": reporter.best.record if reporter.best else None,
    }


class _Profiler:
    """Traces steps FIRST..LAST of --profile_steps with the TensorBoard profiler (chief only).

    The trace goes to run_dir/train/plugins/profile/<time>/, where TensorBoard's Profile tab finds
    it beside the training scalars. A resumed run past FIRST traces nothing. `stop` is safe to
    call at any time (the loop calls it on every way out).
    """

    def __init__(self, config, chief):
        self.logdir = RunLayout(config.run_dir).events("train")
        self.first, self.last = config.profile_steps if chief and config.profile_steps else (0, -1)
        self.running = False

    def before_step(self, step):
        if step == self.first:
            logging.info("profiling steps %d to %d into %s", self.first, self.last, self.logdir)
            tf.profiler.experimental.start(self.logdir)
            self.running = True

    def after_step(self, step):
        if step == self.last:
            self.stop()

    def stop(self):
        if self.running:
            self.running = False
            tf.profiler.experimental.stop()


class _Reporter:
    """What the chief shows of a run: the progress bar, TensorBoard, validation and the best
    checkpoint.

    Other workers get a silent progress bar and no-op writers, and skip the previews and validation.
    """

    def __init__(self, config, gan, train_pairs, validation_pairs, chief):
        self.config, self.gan = config, gan
        self.writers = {
            name: tf.summary.create_file_writer(RunLayout(config.run_dir).events(name))
            if chief
            else tf.summary.create_noop_writer()
            for name in ("train", "validation")
        }
        _write_hparams(self.writers["train"], config)
        self.forward = validation.make_forward(gan.generator)
        self.previews = _previews(train_pairs, config.input.augment.crop_size) if chief else []
        self.examples = (
            list(evaluation_dataset(validation_pairs).take(config.num_validation_images))
            if chief and validation_pairs
            else []
        )
        self.best = _Best(config.run_dir, gan.generator) if self.examples else None
        self.progress = Progress(config.train_steps, "step", "train", verbose=chief)

    def after_step(self, step, logs, rate, planned_steps):
        config = self.config
        self.progress.total = planned_steps
        self.progress.update(step, list(logs.items()))
        if step % config.log_every_steps == 0:
            with self.writers["train"].as_default(step=step):
                for name, value in logs.items():
                    tf.summary.scalar(name, value)
                tf.summary.scalar("learning_rate", float(self.gan.g_optimizer.learning_rate))
                tf.summary.scalar("steps_per_second", rate)
            for tracker in self.gan.metrics:  # the next logs average the steps since these
                tracker.reset_state()
        if self.previews and step % config.image_every_steps == 0:
            _, triplets = validation.validate(self.forward, self.previews)
            with self.writers["train"].as_default(step=step):
                tf.summary.image(
                    "blurry|deblurred|sharp",
                    validation.side_by_side(triplets),
                    max_outputs=NUM_PREVIEWS,
                )
        if self.examples and step % config.validate_every_steps == 0:
            self._validate(step)

    def _validate(self, step):
        scores, triplets = validation.validate(self.forward, self.examples)
        with self.writers["validation"].as_default(step=step):
            tf.summary.scalar("psnr", scores["psnr"])
            tf.summary.scalar("ssim", scores["ssim"])
            for index, triplet in enumerate(triplets[:NUM_PREVIEWS]):
                tf.summary.image(
                    f"blurry|deblurred|sharp/{index}", validation.side_by_side([triplet])
                )
        self.best.offer(step, scores)
        print(
            f"step {step}: validation PSNR {scores['psnr']:.3f} dB, SSIM {scores['ssim']:.4f}",
            flush=True,
        )

    def flush(self):
        for writer in self.writers.values():
            writer.flush()


def _write_hparams(writer, config):
    from tensorboard.plugins.hparams import api as hparams

    flat = {}
    for key, value in dataclasses.asdict(config).items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                flat[f"{key}.{inner}"] = inner_value
        else:
            flat[key] = value
    allowed = {k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in flat.items()}
    with writer.as_default():
        hparams.hparams(allowed)
