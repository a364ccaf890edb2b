"""Evaluates a model on a test set: `python -m keras_deblur.evaluate --run_dir=<run>
--data_dir=<root>`.

The model is a run (`--run_dir`, its generator.keras; or a .keras file), an export
(`--saved_model`), a model the package ships (`--preset`) or a TFLite file (`--tflite_file`, as
`export_tflite` writes it); the test set is the test split of a GOPRO-layout `--data_dir` or
TFRecord shards (`--test_tfrecords`). Every image is scored at full resolution; how each figure
is computed is in `keras_deblur/evaluation/scores.py`. Writes to `--output_dir` (default
`<run>/evaluation`): metrics.json, per_image.csv, figures/ and TensorBoard events; an interrupted
evaluation resumes. A folder holding the evaluation of another model, test set or setting is
refused unless `--overwrite`. A `--run_dir` model runs in the precision `--mixed_precision`
resolves to (default auto: bf16 only where it is faster on this machine;
`keras_deblur/precision.py`), recorded in the settings, so an evaluation in another precision is
never resumed from. A `--preset` runs in float32, as `deblur` runs it, unless `--mixed_precision`
says otherwise.

`--protocol` says how outputs are scored: `deepdeblur` (the default), the authors' protocol, or
`float` (no rounding to 8 bits); the report names it. `--blur_key=both` scores the `blur` and
`blur_gamma` folders each on its own, into `<output_dir>/blur` and `<output_dir>/blur_gamma`.

`--compare=<eval dir>,<eval dir>,...` prints evaluations side by side in the shape of the paper's
Table 2 instead (they must share the test-set fingerprint).
"""

import os

from absl import flags

from keras_deblur import cli
from keras_deblur import flags as f
from keras_deblur.data.pairs import BLUR_KEYS
from keras_deblur.run_layout import RunLayout, is_keras_file


def _output_dir(run_dir):
    if f.OUTPUT_DIR.value:
        return f.OUTPUT_DIR.value
    if run_dir and not is_keras_file(run_dir):
        return RunLayout(run_dir).evaluation.root
    raise ValueError(
        "--output_dir is required unless --run_dir is a run directory (then <run>/evaluation)"
    )


def _compare():
    from keras_deblur.evaluation.report import compare_table

    table = compare_table(f.COMPARE.value, f.COMPARE_LABELS.value)
    print(table)
    if f.OUTPUT_DIR.value:
        from keras_deblur.file_io import write_text

        write_text(os.path.join(f.OUTPUT_DIR.value, "compare.md"), table + "\n")
    return 0


def _blur_key(run_dir):
    """(--blur_key to score on, why): the flag if given, else the key the model was trained on."""
    if flags.FLAGS["blur_key"].present:
        return f.BLUR_KEY.value, "--blur_key"
    from keras_deblur.runs import trained_blur_key

    trained = trained_blur_key(run_dir, f.SAVED_MODEL.value)
    if trained:
        return trained, "the key the model was trained on; --blur_key changes it"
    return f.BLUR_KEY.value, "the default; the model records no training key"


def _model_under_test(run_dir):
    from keras_deblur.evaluation import evaluator

    if run_dir or f.PRESET.value:
        from keras_deblur.precision import describe, resolve

        # A preset is scored as `deblur` runs it (float32) unless asked otherwise.
        policy, why = resolve(f.MIXED_PRECISION.value or ("auto" if run_dir else "float32"))
        print(describe(policy, why))
        if run_dir:
            return evaluator.keras_model(run_dir, policy)
        return evaluator.preset_model(f.PRESET.value, policy)
    from keras_deblur.precision import check_exported

    check_exported(f.MIXED_PRECISION.value, "an export or a TFLite file")
    if f.TFLITE_FILE.value:
        return evaluator.tflite_model(f.TFLITE_FILE.value)
    return evaluator.exported_model(f.SAVED_MODEL.value)


FLAGS_USED = (
    "run_dir",
    "model_dir",
    "saved_model",
    "preset",
    "tflite_file",
    "data_dir",
    "test_tfrecords",
    "blur_key",
    "skip_bad_pairs",
    "max_images",
    "all_scales",
    "num_examples",
    "protocol",
    "mixed_precision",
    "ensemble",
    "output_dir",
    "overwrite",
    "compare",
    "compare_labels",
)


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    if f.COMPARE.value:
        return _compare()
    from keras_deblur.evaluation import evaluator, report
    from keras_deblur.evaluation.dataset import load_test_set

    run_dir = f.run_dir()
    sources = (run_dir, f.SAVED_MODEL.value, f.PRESET.value, f.TFLITE_FILE.value)
    if sum(map(bool, sources)) != 1:
        raise ValueError(
            "give the model as exactly one of --run_dir (a run or .keras file), --saved_model "
            "(an export), --preset (a model the package ships) or --tflite_file"
        )
    output_dir = _output_dir(run_dir)
    blur_key, why = _blur_key(run_dir)
    if blur_key == f.BOTH_BLUR_KEYS:
        if not f.DATA_DIR.value:
            raise ValueError("--blur_key=both needs --data_dir (a TFRecord holds one key)")
        # One evaluation per key, each in its own folder, so each resumes and compares alone.
        evaluations = [(key, os.path.join(output_dir, key)) for key in BLUR_KEYS]
    else:
        evaluations = [(blur_key, output_dir)]
    model = _model_under_test(run_dir)
    if f.ENSEMBLE.value != 1:
        model = evaluator.with_ensemble(model, f.ENSEMBLE.value)
    for key, folder in evaluations:
        if f.DATA_DIR.value:
            print(f"blurry images: {key}/ ({why})")
        test_set = load_test_set(
            f.DATA_DIR.value,
            f.TEST_TFRECORDS.value,
            key,
            f.SKIP_BAD_PAIRS.value,
            f.MAX_IMAGES.value,
        )
        summary = evaluator.evaluate(
            model,
            test_set,
            folder,
            f.ALL_SCALES.value,
            f.NUM_EXAMPLES.value,
            protocol=f.PROTOCOL.value,
            overwrite=f.OVERWRITE.value,
        )
        print(report.format_summary(summary))
        print(
            f"wrote {folder}/metrics.json, per_image.csv and figures/; see them with: "
            f"tensorboard --logdir={folder}"
        )
    return 0


if __name__ == "__main__":
    cli.run(main, FLAGS_USED)
