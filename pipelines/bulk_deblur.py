"""Bulk deblurring on Apache Beam: `python -m pipelines.bulk_deblur --input=<folder>
--output_dir=<folder> [--model=<export or preset>] [--beam_pipeline_args=--runner=...]`.

For archives that outgrow one machine: every file under `--input` (recursively; a local folder or
any `tf.io.gfile` scheme, such as gs://) is read, deblurred with Beam's RunInference and written to
`--output_dir` under the same relative name, in the same format (`serving/image_files.py`).

- Resumable: a file whose output exists already is skipped (counted), so a rerun after a crash or a
  preemption does only what is left. Outputs are written atomically (a temporary renamed into
  place; on gs:// one upload), so an existing output is always a whole one.
- Dead letters: a file that cannot be read, deblurred or written is left out and listed, with the
  reason, in `<output_dir>/dead_letters-00000-of-00001.jsonl` (one JSON object per line: `name`,
  `stage`, `reason`; each run replaces it with its own); the others go on. The run ends with the
  counts and images per second.
- The model: `--model` as in `deblur` (an export, or a preset; default the shipped model), run by
  `serving.deblurrer.Deblurrer` in each worker, with exact tiling under `--memory_budget` or
  `--tile_size`, and `--ensemble=N`. Images go through one at a time: they differ in size.
- Runners: in process by default (Beam's Python runner: nothing to install or start);
  `--beam_pipeline_args=--runner=DataflowRunner,--project=P,--region=R,--temp_location=gs://...`
  or `--runner=FlinkRunner,--flink_master=host:8081` or `--runner=SparkRunner,...` run the same
  code on a cluster (BUILD.md; no runner is installed here). Listing the input happens in the
  driver.
"""

import json
import os
import posixpath
import sys
import tempfile
import time

from keras_deblur import cli, file_io
from keras_deblur import flags as f
from pipelines.beam_setup import PipelineOptions, beam, runner

from apache_beam.ml.inference.base import (  # isort: skip (after Beam's quiet import)
    KeyedModelHandler,
    ModelHandler,
    PredictionResult,
    RunInference,
)

DEAD_LETTERS = "dead_letters"
_NAMESPACE = "bulk_deblur"


def _join(folder, name):
    return posixpath.join(folder, name) if "://" in folder else os.path.join(folder, name)


def list_inputs(input_dir, output_dir):
    """The relative names of every file under `input_dir`, sorted; refuses an `output_dir` inside
    it (a rerun would deblur the outputs) and an empty or missing folder."""
    import tensorflow as tf

    if not tf.io.gfile.isdir(input_dir):
        raise FileNotFoundError(f"--input={input_dir} is not a folder")

    if file_io.is_inside(output_dir, input_dir):
        raise ValueError(
            f"--output_dir={output_dir} is inside --input={input_dir}: a rerun would deblur the "
            "outputs; choose a folder outside it"
        )
    names = []
    for folder, _, files in tf.io.gfile.walk(input_dir):
        relative = posixpath.relpath(folder, input_dir) if folder != input_dir else ""
        if any(part.startswith(".") for part in relative.split("/") if part):
            continue  # hidden folders (.git/, .thumbnails/), as hidden files: not the user's photos
        for name in files:
            if name.startswith(".") or file_io.is_temporary(name):
                continue
            names.append(posixpath.join(relative, name) if relative else name)
    if not names:
        raise FileNotFoundError(f"--input={input_dir} holds no files")
    return sorted(names)


class _Local:
    """A local path for a file of any scheme: the file itself, or a copy in a temporary folder."""

    def __init__(self, path):
        self.path, self._folder = path, None

    def __enter__(self):
        if "://" not in self.path:
            return self.path
        import tensorflow as tf

        self._folder = tempfile.mkdtemp(prefix="bulk_deblur_")
        local = os.path.join(self._folder, posixpath.basename(self.path))
        tf.io.gfile.copy(self.path, local)
        return local

    def __exit__(self, *exc):
        if self._folder:
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)


def _dead_letter(name, stage, error):
    return {"name": name, "stage": stage, "reason": str(error) or type(error).__name__}


class ReadImage(beam.DoFn):
    """name -> (name, ImageFile), unless its output exists (skipped) or it cannot be read (dead)."""

    def __init__(self, input_dir, output_dir, max_megapixels):
        self.input_dir, self.output_dir, self.max_megapixels = input_dir, output_dir, max_megapixels
        self.skipped = beam.metrics.Metrics.counter(_NAMESPACE, "skipped")

    def process(self, name):
        import tensorflow as tf

        from keras_deblur.serving.image_files import read_image

        if tf.io.gfile.exists(_join(self.output_dir, name)):
            self.skipped.inc()
            return
        try:
            with _Local(_join(self.input_dir, name)) as local:
                image = read_image(local, self.max_megapixels)
        except (ValueError, OSError, tf.errors.OpError) as error:
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, _dead_letter(name, "read", error))
            return
        yield name, image


class DeblurrerHandler(ModelHandler):
    """RunInference's model: a `Deblurrer` per worker; an example is an ImageFile, its inference
    the deblurred pixels (same size and dtype)."""

    def __init__(self, model, tile_size, memory_budget, ensemble):
        super().__init__()
        from keras_deblur.serving.ensemble import check_size

        check_size(ensemble)  # here, in the driver: a worker's refusal comes after the pipeline
        self.settings = {
            "model": model,
            "tile_size": tile_size,
            "memory_budget": memory_budget,
            "ensemble": ensemble,
        }

    def load_model(self):
        from keras_deblur.serving.deblurrer import Deblurrer

        return Deblurrer(**self.settings)

    def run_inference(self, batch, model, inference_args=None):
        return [PredictionResult(image, model.deblur(image.pixels)) for image in batch]

    def get_num_bytes(self, batch):
        return sum(image.pixels.nbytes for image in batch)

    def batch_elements_kwargs(self):
        return {"max_batch_size": 1}  # sizes differ: each image is its own batch

    def get_metrics_namespace(self):
        return _NAMESPACE


class WriteImage(beam.DoFn):
    """(name, PredictionResult) -> the output file, atomically; a failure is a dead letter."""

    def __init__(self, output_dir):
        self.output_dir = output_dir
        self.written = beam.metrics.Metrics.counter(_NAMESPACE, "deblurred")

    def process(self, element):
        import tensorflow as tf

        from keras_deblur.serving.image_files import write_image

        name, result = element
        target = _join(self.output_dir, name)
        try:
            if "://" in target:
                with tempfile.TemporaryDirectory(prefix="bulk_deblur_") as folder:
                    local = os.path.join(folder, posixpath.basename(name))
                    write_image(local, result.inference, result.example)
                    tf.io.gfile.copy(local, target, overwrite=False)  # one upload: atomic
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                write_image(target, result.inference, result.example)
        except (ValueError, OSError, tf.errors.OpError) as error:
            yield _dead_letter(name, "write", error)
            return
        self.written.inc()
        height, width = result.inference.shape[:2]
        print(f"{name}: {width}x{height} deblurred", flush=True)


def _failed_batches(failure):
    """RunInference's (batch of (name, ImageFile), error) -> a dead letter per image. Beam gives the
    error as (class, repr, traceback lines): the reason is the traceback's last line."""
    batch, error = failure
    reason = error[2][-1].strip() if isinstance(error, tuple) else error
    for name, _ in batch:
        yield _dead_letter(name, "deblur", reason)


def build(pipeline, names, input_dir, output_dir, handler, max_megapixels):
    """The pipeline's graph on `pipeline`, from the relative `names`."""
    read = (
        pipeline
        | "List" >> beam.Create(names)
        | "Read"
        >> beam.ParDo(ReadImage(input_dir, output_dir, max_megapixels)).with_outputs(
            DEAD_LETTERS, main="images"
        )
    )
    deblurred, failed = (
        read.images | "Deblur" >> RunInference(KeyedModelHandler(handler)).with_exception_handling()
    )
    write_failures = deblurred | "Write" >> beam.ParDo(WriteImage(output_dir))
    (
        (
            read[DEAD_LETTERS],
            failed.failed_inferences | "PerImage" >> beam.FlatMap(_failed_batches),
            write_failures,
        )
        | "AllDeadLetters" >> beam.Flatten()
        | "AsJson" >> beam.Map(lambda letter: json.dumps(letter, sort_keys=True))
        | "WriteDeadLetters"
        >> beam.io.WriteToText(
            _join(output_dir, DEAD_LETTERS), file_name_suffix=".jsonl", num_shards=1
        )
    )


def _counter(result, name):
    found = result.metrics().query(
        beam.metrics.MetricsFilter().with_namespace(_NAMESPACE).with_name(name)
    )["counters"]
    return sum(counter.committed or 0 for counter in found)


def run(input_dir, output_dir, handler, max_megapixels, beam_args=()):
    """Runs the pipeline to the end; returns {"deblurred", "skipped", "failed", "seconds"}."""
    import tensorflow as tf

    names = list_inputs(input_dir, output_dir)
    tf.io.gfile.makedirs(output_dir)
    start = time.perf_counter()
    pipeline = beam.Pipeline(runner=runner(beam_args), options=PipelineOptions(list(beam_args)))
    build(pipeline, names, input_dir, output_dir, handler, max_megapixels)
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - start
    letters = tf.io.gfile.glob(_join(output_dir, f"{DEAD_LETTERS}-*.jsonl"))
    failed = sum(len(tf.io.gfile.GFile(p).read().splitlines()) for p in letters)
    return {
        "files": len(names),
        "deblurred": _counter(result, "deblurred"),
        "skipped": _counter(result, "skipped"),
        "failed": failed,
        "seconds": seconds,
    }


FLAGS_USED = (
    "input",
    "output_dir",
    "model",
    "tile_size",
    "memory_budget",
    "ensemble",
    "max_megapixels",
    "beam_pipeline_args",
)


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    f.check_deblur_numbers()
    budget = f.MEMORY_BUDGET_GIB.value
    handler = DeblurrerHandler(
        f.MODEL_PATH.value,
        f.TILE_SIZE_PX.value,
        None if budget is None else int(budget * 2**30),
        f.ENSEMBLE.value,
    )
    counts = run(
        f.INPUT.value,
        f.OUTPUT_DIR.value,
        handler,
        f.MAX_MEGAPIXELS.value,
        f.BEAM_PIPELINE_ARGS.value,
    )
    rate = counts["deblurred"] / counts["seconds"]
    print(
        f"{counts['files']} files: {counts['deblurred']} deblurred, {counts['skipped']} skipped "
        f"(output exists), {counts['failed']} failed; {counts['seconds']:.1f} s, "
        f"{rate:.3g} images/s"
    )
    if counts["failed"]:
        print(
            f"error: {counts['failed']} files failed, each listed with its reason in "
            f"{_join(f.OUTPUT_DIR.value, DEAD_LETTERS)}-*.jsonl",
            file=sys.stderr,
        )
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    from absl import flags

    flags.mark_flags_as_required(["input", "output_dir"])
    cli.run(main, FLAGS_USED)
