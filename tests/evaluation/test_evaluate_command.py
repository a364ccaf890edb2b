"""`python -m keras_deblur.evaluate` as users run it, on a run directory and on an export."""

import json

from keras_deblur.models import build_generator_from_spec
from keras_deblur.serving import saved_model
from tests.commands import run_module


def _evaluate(*args):
    return run_module("keras_deblur.evaluate", *args)


def test_evaluate_a_run_and_an_export_then_compare(scenes_dir, tmp_path):
    generator = build_generator_from_spec("tiny")
    run = tmp_path / "run"
    run.mkdir()
    generator.save(str(run / "generator.keras"))
    export = saved_model.export(generator, str(tmp_path / "savedmodels" / "tiny"))

    result = _evaluate(
        f"--run_dir={run}", f"--data_dir={scenes_dir}", "--blur_key=blur_gamma", "--all_scales"
    )
    assert result.returncode == 0, result.stderr
    assert "| PSNR |" in result.stdout and "| PSNR, scale 2 |" in result.stdout
    assert f"tensorboard --logdir={run}/evaluation" in result.stdout
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    assert metrics["num_images"] == 2 and metrics["model"]["kind"] == "keras"

    result = _evaluate(
        f"--saved_model={tmp_path / 'savedmodels' / 'tiny'}",
        f"--data_dir={scenes_dir}",
        "--blur_key=blur_gamma",
        f"--output_dir={tmp_path / 'export_eval'}",
    )
    assert result.returncode == 0, result.stderr
    assert (
        json.loads((tmp_path / "export_eval" / "metrics.json").read_text())["model"]["source"]
        == export
    )

    result = _evaluate(
        f"--compare={run / 'evaluation'},{tmp_path / 'export_eval'}",
        "--compare_labels=keras,export",
        f"--output_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr
    assert "| Measure | Blurry | keras | export |" in result.stdout
    assert (tmp_path / "compare.md").exists()


def test_evaluate_names_bad_arguments(scenes_dir, tmp_path):
    both = _evaluate(
        f"--run_dir={tmp_path}", f"--saved_model={tmp_path}", f"--data_dir={scenes_dir}"
    )
    assert both.returncode == 1 and "exactly one of --run_dir" in both.stderr
    # --model_dir, the old name of --run_dir, still works and says so.
    no_run = _evaluate(f"--model_dir={tmp_path / 'missing'}", f"--data_dir={scenes_dir}")
    assert no_run.returncode == 1 and f"--run_dir={tmp_path / 'missing'}: no" in no_run.stderr
    assert "warning: --model_dir is deprecated: the same folder is --run_dir" in no_run.stderr
    no_versions = _evaluate(
        f"--saved_model={tmp_path}", f"--data_dir={scenes_dir}", f"--output_dir={tmp_path / 'o'}"
    )
    assert (
        no_versions.returncode == 1
        and "neither a SavedModel nor a model base path" in no_versions.stderr
    )


def test_a_run_is_scored_on_the_blur_it_was_trained_on_unless_told(scenes_dir, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    build_generator_from_spec("tiny").save(str(run / "generator.keras"))
    (run / "config.json").write_text(json.dumps({"config": {"blur_key": "blur"}}))
    result = _evaluate(f"--run_dir={run}", f"--data_dir={scenes_dir}", "--num_examples=0")
    assert result.returncode == 0, result.stderr
    assert "blurry images: blur/ (the key the model was trained on" in result.stdout
    assert json.loads((run / "evaluation" / "metrics.json").read_text())["test_set"][
        "description"
    ].endswith("(test split, blur)")
    told = _evaluate(
        f"--run_dir={run}",
        f"--data_dir={scenes_dir}",
        "--blur_key=blur_gamma",
        f"--output_dir={tmp_path / 'told'}",
        "--num_examples=0",
    )
    assert told.returncode == 0, told.stderr
    assert "blurry images: blur_gamma/ (--blur_key)" in told.stdout


def test_another_evaluation_in_the_same_folder_is_refused_unless_overwrite(scenes_dir, tmp_path):
    model = tmp_path / "tiny.keras"
    build_generator_from_spec("tiny").save(str(model))
    common = (f"--run_dir={model}", f"--data_dir={scenes_dir}", "--blur_key=blur_gamma")
    output = f"--output_dir={tmp_path / 'eval'}"
    assert _evaluate(*common, output).returncode == 0
    metrics = (tmp_path / "eval" / "metrics.json").read_text()
    refused = _evaluate(*common, output, "--protocol=float")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'eval' / 'per_image.jsonl'} records other work (not this run's: "
        "protocol); give another --output_dir, or --overwrite to replace that evaluation"
    )
    assert (tmp_path / "eval" / "metrics.json").read_text() == metrics
    replaced = _evaluate(*common, output, "--protocol=float", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert (
        json.loads((tmp_path / "eval" / "metrics.json").read_text())["settings"]["protocol"]
        == "float"
    )


def test_evaluate_with_self_ensemble_says_so_and_scores_differently(scenes_dir, tmp_path):
    generator = build_generator_from_spec("tiny")
    generator.save(str(tmp_path / "tiny.keras"))
    scores = {}
    for size in (1, 2):
        output = tmp_path / str(size)
        result = _evaluate(
            f"--run_dir={tmp_path / 'tiny.keras'}",
            f"--data_dir={scenes_dir}",
            "--blur_key=blur_gamma",
            f"--ensemble={size}",
            f"--output_dir={output}",
        )
        assert result.returncode == 0, result.stderr
        metrics = json.loads((output / "metrics.json").read_text())
        assert metrics["model"].get("ensemble", 1) == metrics["settings"]["ensemble_size"] == size
        named = f"self-ensemble: the mean over {size} flips and transpositions" in result.stdout
        assert named == (size > 1)
        scores[size] = metrics["deblurred"]["psnr"]
    assert scores[2] != scores[1]
    refused = _evaluate(
        f"--run_dir={tmp_path / 'tiny.keras'}",
        "--ensemble=3",
        f"--data_dir={scenes_dir}",
        f"--output_dir={tmp_path / 'e3'}",
    )
    assert refused.returncode != 0
    assert (
        "error: --ensemble=3: the number of symmetries to average over must be one of 1, 2, 4, 8"
        in refused.stderr
    )
    assert not (tmp_path / "e3").exists()


def test_an_older_releases_8_symmetry_evaluation_is_not_resumed_as_a_plain_one(
    scenes_dir, tmp_path
):
    """Before sizes, an evaluation's log recorded "ensemble": true for the 8 symmetries; with
    the size under the same key, true == 1 and a run with none resumed its rows."""
    generator = build_generator_from_spec("tiny")
    generator.save(str(tmp_path / "tiny.keras"))
    args = (
        f"--run_dir={tmp_path / 'tiny.keras'}",
        f"--data_dir={scenes_dir}",
        f"--output_dir={tmp_path / 'eval'}",
    )
    assert _evaluate(*args).returncode == 0
    log = tmp_path / "eval" / "per_image.jsonl"
    first, *rows = log.read_text().splitlines()
    header = json.loads(first)["header"]
    old = {k: v for k, v in header.items() if not k.startswith("ensemble")}
    log.write_text("\n".join([json.dumps({"header": {**old, "ensemble": True}}), *rows]) + "\n")
    resumed = _evaluate(*args)
    assert resumed.returncode != 0
    assert "records other work" in resumed.stderr and "ensemble" in resumed.stderr


def test_both_blur_keys_each_on_its_own_and_the_protocol_is_named(scenes_dir, tmp_path):
    run = tmp_path / "model.keras"
    build_generator_from_spec("tiny").save(str(run))
    result = _evaluate(
        f"--run_dir={run}",
        f"--data_dir={scenes_dir}",
        "--blur_key=both",
        "--protocol=float",
        f"--output_dir={tmp_path / 'eval'}",
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.count("protocol: float (outputs clipped, not rounded; not the authors'") == 2
    )
    blurry = {}
    for key in ("blur", "blur_gamma"):
        assert f"blurry images: {key}/" in result.stdout
        metrics = json.loads((tmp_path / "eval" / key / "metrics.json").read_text())
        assert metrics["settings"]["protocol"] == "float"
        assert metrics["test_set"]["description"].endswith(f"(test split, {key})")
        blurry[key] = metrics["blurry"]["psnr"]
    assert blurry["blur"] != blurry["blur_gamma"]

    result = _evaluate(
        f"--run_dir={run}", "--test_tfrecords=x.tfrecord", "--blur_key=both", "--output_dir=y"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --blur_key=both needs --data_dir (a TFRecord holds one key)"
    )
