"""Where a training run and an evaluation keep their files: every command and stage asks here.

    <run_dir>/
      config.json        the TrainConfig, package versions, git commit (training/run_info.py)
      flags.txt          the flags the run was started with
      .lock              the run lock (training/run_lock.py; .lock-worker<i> for other workers)
      checkpoints/       the latest checkpoints (workers other than the chief:
      checkpoints/worker<i>/)
      best/              the best checkpoint by validation PSNR, and best.json (its step and scores)
      generator.keras    the final generator, written when the training finishes
      generator-step<N>.keras  an earlier end's final generator (step N), set aside when a
                         finished run is resumed to train on (training/loop.py)
      train/, validation/  TensorBoard events (the profiler's traces under train/plugins/profile/)
      evaluation/        evaluate's default output folder (an EvaluationLayout)

    <evaluation output_dir>/
      metrics.json, per_image.csv, per_image.jsonl (the resumable log), figures/, events

Paths are joined with `posixpath`, so object-store run directories (gs://...) work too.
"""

import dataclasses
import posixpath

KERAS_SUFFIX = ".keras"
BLESSING_FILE = "blessing.json"  # the pipeline gate's decision, in the gate stage's folder
EARLIER_GENERATOR = "generator-step{}.keras"


def earlier_generator_step(path):
    """The step in an `earlier_generator` file's name; None if the name holds no step."""
    prefix, suffix = EARLIER_GENERATOR.split("{}")
    step = posixpath.basename(path)[len(prefix) : -len(suffix)]
    return int(step) if step.isdigit() else None


@dataclasses.dataclass(frozen=True)
class EvaluationLayout:
    root: str

    def _path(self, *names):
        return posixpath.join(self.root, *names)

    @property
    def metrics(self):
        return self._path("metrics.json")

    @property
    def per_image_csv(self):
        return self._path("per_image.csv")

    @property
    def per_image_log(self):
        return self._path("per_image.jsonl")

    @property
    def figures(self):
        return self._path("figures")

    def figure(self, filename):
        return self._path("figures", filename)


@dataclasses.dataclass(frozen=True)
class RunLayout:
    root: str

    def _path(self, *names):
        return posixpath.join(self.root, *names)

    @property
    def config(self):
        return self._path("config.json")

    @property
    def flags(self):
        return self._path("flags.txt")

    def checkpoints(self, worker_index=0):
        folder = self._path("checkpoints")
        return folder if worker_index == 0 else posixpath.join(folder, f"worker{worker_index}")

    @property
    def best(self):
        return self._path("best")

    @property
    def best_record(self):
        return self._path("best", "best.json")

    @property
    def generator(self):
        return self._path("generator.keras")

    def earlier_generator(self, step):
        """An earlier end's final generator (`step` may be "*", a glob pattern)."""
        return self._path(EARLIER_GENERATOR.format(step))

    def events(self, name):
        """TensorBoard's folder for `name`: "train" or "validation"."""
        return self._path(name)

    @property
    def evaluation(self):
        return EvaluationLayout(self._path("evaluation"))


def generator_file(run_or_file):
    """The .keras file of a run directory, or the path itself if it is a .keras file."""
    return run_or_file if is_keras_file(run_or_file) else RunLayout(run_or_file).generator


def is_keras_file(path):
    return path.endswith(KERAS_SUFFIX)
