"""What the training loop does besides stepping, at the steps it stops at: TensorBoard scalars,
previews and validation with the best checkpoint (`Reporter`), and the profiler (`Profiler`).
Only the chief writes; other workers get silent stand-ins."""

import dataclasses
import json
import math

import tensorflow as tf
from absl import logging

from keras_deblur.data.input_pipeline import evaluation_dataset
from keras_deblur.file_io import read_json, write_text
from keras_deblur.progress import Progress
from keras_deblur.run_layout import RunLayout
from keras_deblur.training import validation

NUM_PREVIEWS = 2


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


# Where the best checkpoint holds its own record (best.json is its copy for people and tools).
_RECORD_KEY = "record/.ATTRIBUTES/VARIABLE_VALUE"


class Best:
    """The best checkpoint by validation PSNR, kept beside the latest ones (run_dir/best).

    The checkpoint holds its step and scores itself: best.json is written after it, so a kill
    between the two left a record of the checkpoint before, and a later, worse validation could
    replace the best weights. A start after such a kill rewrites best.json from the checkpoint."""

    def __init__(self, run_dir, generator):
        self._saved_record = tf.Variable("", dtype=tf.string, trainable=False)
        self.manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(generator=generator, record=self._saved_record),
            RunLayout(run_dir).best,
            max_to_keep=1,
        )
        self.record_path = RunLayout(run_dir).best_record
        self.record = read_json(self.record_path) or {"psnr": -math.inf}
        saved = self._checkpointed_record()
        # As text: a NaN SSIM (images below its window) never equals itself.
        if saved is not None and json.dumps(saved, sort_keys=True) != json.dumps(
            self.record, sort_keys=True
        ):
            logging.warning("%s did not match the best checkpoint: rewritten", self.record_path)
            self.record = saved
            write_text(self.record_path, json.dumps(saved, indent=2))

    def _checkpointed_record(self):
        """The record inside the best checkpoint (None if none, or one written before it held
        one)."""
        path = self.manager.latest_checkpoint
        if not path:
            return None
        reader = tf.train.load_checkpoint(path)
        if not reader.has_tensor(_RECORD_KEY):
            return None
        return json.loads(reader.get_tensor(_RECORD_KEY))

    def offer(self, step, scores):
        if scores["psnr"] > self.record["psnr"]:
            record = {"step": step, **scores}
            self._saved_record.assign(json.dumps(record))
            self.manager.save(checkpoint_number=step)
            self.record = record
            write_text(self.record_path, json.dumps(record, indent=2))


class Profiler:
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


class Reporter:
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
        # A Winograd run's generator computes its convs that way here too, each compiled alone.
        self.forward = validation.make_forward(gan.generator)
        self.previews = _previews(train_pairs, config.input.augment.crop_size) if chief else []
        self.examples = (
            list(evaluation_dataset(validation_pairs).take(config.num_validation_images))
            if chief and validation_pairs
            else []
        )
        self.best = Best(config.run_dir, gan.generator) if self.examples else None
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
