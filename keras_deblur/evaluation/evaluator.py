"""Scores a model on a test set, resumably, and writes what `evaluate` promises.

Outputs in `output_dir`: `per_image.jsonl` (the resumable log), `per_image.csv`, `metrics.json`
(with both fingerprints), `figures/example_<i>.png` and `figures/psnr_gain.png`, and TensorBoard
events (scalars under `evaluation/`, the figures as images).
"""

import dataclasses
import json
import os
import posixpath
import time

import numpy as np
import tensorflow as tf

from keras_deblur import file_io, metrics
from keras_deblur.data.input_pipeline import decode_pair
from keras_deblur.evaluation import figures, report, scores
from keras_deblur.file_io import files_digest
from keras_deblur.progress import Progress
from keras_deblur.progress_log import ProgressLog
from keras_deblur.run_layout import EvaluationLayout, generator_file
from keras_deblur.serving.ensemble import check_size, recorded_size, self_ensemble


@dataclasses.dataclass(frozen=True)
class ModelUnderTest:
    """A model to evaluate: `forward([1, H, W, 3]) -> outputs, finest first`, and what identifies
    it."""

    forward: object
    info: dict


def keras_model(model_dir, precision="float32"):
    """A run directory's `generator.keras` (or a .keras file); every output scale is available.

    `precision` is the Keras dtype policy to run it in, whatever it was trained in: "float32", or
    "mixed_bfloat16" for the same weights in bf16.
    """
    from keras_deblur.models.generator import with_dtype_policy
    from keras_deblur.runs import load_generator

    loaded = load_generator(model_dir)
    trained_in = loaded.get_layer("scale1_conv_first").dtype_policy.name
    generator = loaded if trained_in == precision else with_dtype_policy(loaded, precision)
    return _generator_under_test(generator, model_dir, generator_file(model_dir), precision)


def preset_model(name, precision="float32"):
    """A preset the package ships (`models/presets.py`), in the Keras dtype policy `precision`."""
    from keras_deblur.models import presets

    generator = presets.load_shipped(name, dtype=precision)
    return _generator_under_test(generator, f"preset:{name}", presets.weights_path(name), precision)


def _generator_under_test(generator, source, weights_file, precision):
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def forward(blurry):  # traced once: any image size runs without retracing
        return [tf.cast(output, tf.float32) for output in generator(blurry, training=False)]

    return ModelUnderTest(
        forward,
        {
            "source": source,
            "kind": "keras",
            "fingerprint": files_digest([weights_file]),
            "num_scales": len(generator.outputs),
            "precision": precision,
        },
    )


def exported_model(path):
    """An export (a version folder, or a base path: its highest version), through its float
    signature."""
    from keras_deblur.serving import saved_model

    version_dir = saved_model.resolve_version(path)
    model, metadata = saved_model.load(version_dir)
    signature = model.signatures["deblur_float"]
    # The graph and the weights identify the model; assets.extra (metadata, warm-up) do not.
    files = [posixpath.join(version_dir, "saved_model.pb")] + sorted(
        tf.io.gfile.glob(posixpath.join(version_dir, "variables", "*"))
    )

    def forward(blurry):
        return [signature(images=blurry)["deblurred"]]

    return ModelUnderTest(
        forward,
        {
            "source": version_dir,
            "kind": "saved_model",
            "fingerprint": files_digest(files),
            "num_scales": metadata.get("num_scales"),
            # An `export --ensemble` averages inside its signature: its scores are an ensemble's.
            "ensemble": recorded_size(metadata.get("ensemble")),
        },
    )


def tflite_model(path):
    """A TFLite file `export_tflite` wrote, in TFLite's interpreter on every core."""
    from keras_deblur.serving.tflite import Interpreter

    interpreter = Interpreter(path)
    return ModelUnderTest(
        lambda blurry: [tf.convert_to_tensor(interpreter(blurry))],
        {"source": path, "kind": "tflite", "fingerprint": files_digest([path]), "num_scales": 1},
    )


def with_ensemble(model, size):
    """`model` averaged over `size` flips and transpositions of its input
    (`serving/ensemble.py`); a ValueError for a model that averages already (its scores would be
    an ensemble of ensembles, at size times its cost)."""
    check_size(size)
    if model.info.get("ensemble", 1) > 1:
        raise ValueError(
            f"--ensemble={size}: {model.info['source']} was exported with "
            f"--ensemble={model.info['ensemble']} and averages over its input's symmetries "
            "already; evaluate it without --ensemble"
        )

    return ModelUnderTest(
        lambda blurry: self_ensemble(model.forward, blurry, size),
        {**model.info, "ensemble": size},
    )


def _write_figure(output_dir, filename, png):
    file_io.write_bytes(EvaluationLayout(output_dir).figure(filename), png)


def evaluate(
    model,
    test_set,
    output_dir,
    all_scales=False,
    num_examples=3,
    step=0,
    verbose=1,
    protocol=scores.DEFAULT_PROTOCOL,
    overwrite=False,
):
    """Scores every pair of `test_set` (evaluation.test_set.TestSet) and writes the outputs.

    `protocol` (a key of `scores.PROTOCOLS`) says whether outputs are rounded to 8 bits first.

    Resumes from `output_dir/per_image.jsonl` if it records the same model, test set and settings.
    A folder holding the evaluation of anything else is refused (FileExistsError) before anything
    is written, unless `overwrite`: then its rows are set aside as per_image.jsonl.replaced and its
    metrics, CSV and figures replaced.

    Returns:
      The metrics.json dictionary.
    """
    if all_scales and model.info["kind"] != "keras":
        raise ValueError("--all_scales needs --run_dir: an export returns the finest scale only")
    layout = EvaluationLayout(output_dir)
    os.makedirs(layout.figures, exist_ok=True)
    for folder in (output_dir, layout.figures):
        file_io.remove_dead_leftovers(folder)
    fingerprint, count = test_set.fingerprint()
    settings = {
        "all_scales": all_scales,
        "max_images": test_set.max_images,
        "precision": model.info.get("precision", "float32"),
        # Not "ensemble", the key that held a boolean before sizes: True == 1 in Python, so an
        # 8-symmetry record would match a run with none (resuming here, the pipeline's gate).
        "ensemble_size": model.info.get("ensemble", 1),
        "protocol": protocol,
    }
    log = ProgressLog(
        layout.per_image_log,
        {"model": model.info["fingerprint"], "test_set": fingerprint, **settings},
        replace=overwrite,
        hint="give another --output_dir, or --overwrite to replace that evaluation",
    )
    if log.replaced:
        _remove_outputs(layout)
    progress = Progress(count, "image", "evaluate", verbose=bool(verbose))
    rows = []
    for index, encoded in enumerate(test_set.encoded()):
        name = encoded["name"].numpy().decode("utf-8")
        if name not in log.rows:
            log.append(_score(model, encoded, name, index, settings, num_examples, output_dir))
        rows.append(log.rows[name])
        progress.update(
            index + 1,
            [
                ("mean_psnr", np.mean([row["psnr"] for row in rows])),
                ("mean_blurry_psnr", np.mean([row["blurry_psnr"] for row in rows])),
            ],
        )

    summary = report.summarize(
        rows,
        model.info,
        {"description": test_set.description, "fingerprint": fingerprint, "num_images": count},
        settings,
    )
    _write_figure(output_dir, "psnr_gain.png", figures.gain_histogram(rows))
    file_io.write_text(layout.per_image_csv, report.csv_text(rows))
    file_io.write_text(layout.metrics, json.dumps(summary, indent=2))
    _log_to_tensorboard(output_dir, summary, step)
    return summary


def _remove_outputs(layout):
    """Removes the outputs of an evaluation being replaced (`--overwrite`; its rows are set aside):
    kept, its metrics.json would pass for this one's until this one finished, and its figures and
    TensorBoard events would be logged and shown beside this one's."""
    old = [layout.metrics, layout.per_image_csv]
    old += [layout.figure(n) for n in os.listdir(layout.figures) if n.endswith(".png")]
    old += [
        posixpath.join(layout.root, n)
        for n in os.listdir(layout.root)
        if n.startswith("events.out.tfevents.")
    ]
    for path in old:
        if os.path.exists(path):
            os.remove(path)


def _score(model, encoded, name, index, settings, num_examples, output_dir):
    pair = decode_pair(encoded)
    blurry, sharp = pair["blurry"][None], pair["sharp"][None]
    start = time.perf_counter()
    outputs = model.forward(blurry)
    outputs[0].numpy()  # wait for the result before stopping the clock
    seconds = time.perf_counter() - start
    row = scores.image_row(
        name, blurry, sharp, outputs, settings["all_scales"], settings["protocol"]
    )
    row["seconds"] = seconds
    if index < num_examples:  # drawn before the row is logged, so a resumed run never lacks one
        deblurred = metrics.quantize(outputs[0])[0].numpy()
        _write_figure(
            output_dir,
            f"example_{index}.png",
            figures.example_figure(name, blurry[0].numpy(), deblurred, sharp[0].numpy(), row),
        )
    return row


def _log_to_tensorboard(output_dir, summary, step):
    with tf.summary.create_file_writer(output_dir).as_default(step=step):
        for group in ("deblurred", "blurry", "gain"):
            for key, value in summary[group].items():
                tf.summary.scalar(f"evaluation/{group}/{key}", value)
        layout = EvaluationLayout(output_dir)
        for filename in sorted(tf.io.gfile.listdir(layout.figures)):
            if not filename.endswith(".png") or file_io.is_temporary(filename):
                continue  # another writer's file in progress, or a killed writer's leftover
            png = tf.io.read_file(layout.figure(filename))
            tf.summary.image(
                f"evaluation/{filename[: -len('.png')]}", tf.io.decode_png(png, channels=3)[None]
            )
