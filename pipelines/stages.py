"""The stages after ingest, each a `body(output_dir)` for `stage_runner.run_stage`."""

import json
import os

from keras_deblur.file_io import read_json, write_text
from keras_deblur.run_layout import BLESSING_FILE, EvaluationLayout, RunLayout
from pipelines.ingest import shard_pattern


def ingest_body(source_dir, config, num_shards, beam_args):
    """Ingests the GOPRO-layout tree into `<output_dir>/data` (pipelines/ingest.py)."""
    from pipelines.ingest import ingest

    def body(output_dir):
        data = os.path.join(output_dir, "data")
        if not os.path.exists(os.path.join(data, "manifest.json")):  # else: finished before a kill
            ingest(source_dir, data, config.blur_key, num_shards, config.skip_bad_pairs, beam_args)
        manifest = read_json(os.path.join(data, "manifest.json"))
        return {
            "outputs": {"data": data},
            "metrics": {
                split: {k: v for k, v in figures.items() if k != "checksums"}
                for split, figures in manifest["splits"].items()
            },
        }

    return body


def train_body(config, ingest_dir):
    """Trains on the ingested shards in `<output_dir>/run` (a rerun resumes from its
    checkpoints)."""
    import dataclasses

    from keras_deblur.training.loop import train

    def body(output_dir):
        run = RunLayout(os.path.join(output_dir, "run"))
        # The ingested shards take the place of data_dir's PNG tree (training reads shards first).
        train(
            dataclasses.replace(
                config,
                run_dir=run.root,
                train_tfrecords=(shard_pattern(ingest_dir, "train"),),
                test_tfrecords=(shard_pattern(ingest_dir, "test"),),
            )
        )
        return {
            "outputs": {"generator": run.generator},
            "metrics": {"best_validation": read_json(run.best_record)},
        }

    return body


def _test_set(ingest_dir):
    from keras_deblur.evaluation.dataset import load_test_set

    return load_test_set(test_tfrecords=[shard_pattern(ingest_dir, "test")])


def evaluate_body(generator_path, ingest_dir):
    """Evaluates the trained generator on the whole ingested test split (resumable)."""
    from keras_deblur.evaluation import evaluator

    def body(output_dir):
        summary = evaluator.evaluate(
            evaluator.keras_model(generator_path), _test_set(ingest_dir), output_dir
        )
        return {"outputs": {"metrics": EvaluationLayout(output_dir).metrics}, "metrics": summary}

    return body


def pushed_version(serving_dir):
    """The folder of the highest pushed version, or None."""
    from keras_deblur.serving import saved_model

    versions = saved_model.versions(serving_dir)
    return os.path.join(serving_dir, str(versions[-1])) if versions else None


def _pushed_metrics(version_dir, test_set, candidate, output_dir):
    """The pushed model's metrics on the candidate's test set: recorded ones if on the same data
    with the same settings (an export's record may come from `evaluate --ensemble`, another
    protocol or precision), else re-evaluated as the candidate was."""
    from keras_deblur.evaluation import evaluator
    from keras_deblur.serving.saved_model import read_metadata

    recorded = read_metadata(version_dir).get("evaluation")
    if (
        recorded
        and recorded.get("test_set", {}).get("fingerprint") == candidate["test_set"]["fingerprint"]
        and recorded.get("settings") == candidate["settings"]
    ):
        return recorded, "its recorded evaluation on the same test set"
    summary = evaluator.evaluate(
        evaluator.exported_model(version_dir),
        test_set,
        os.path.join(output_dir, "pushed_model_evaluation"),
        num_examples=0,
        # A gate that runs again because another model was pushed meanwhile (its record went
        # stale) finds the previously pushed model's scores here: the pipeline's own, replaced.
        overwrite=True,
    )
    return (
        summary,
        "re-evaluated on this test set (its recorded evaluation was on other data, with other "
        "settings, or missing)",
    )


def _gate_decision(candidate, pushed, pushed_metrics, how, min_gain, max_drop):
    """{"blessed", "reason", "rules": [...]}: every rule with its numbers and whether it passed."""
    psnr, gain = candidate["deblurred"]["psnr"], candidate["gain"]["psnr"]
    rules = [
        {
            "rule": f"gain over the blurry input > --gate_min_gain={min_gain:g} dB",
            "passed": gain > min_gain,
            "detail": f"{psnr:.3f} dB deblurred vs {candidate['blurry']['psnr']:.3f} dB blurry: "
            f"gain {gain:+.3f} dB",
        }
    ]
    if pushed_metrics is not None:
        pushed_psnr = pushed_metrics["deblurred"]["psnr"]
        rules.append(
            {
                "rule": f"not worse than the pushed model {pushed} by more than "
                f"--gate_max_drop={max_drop:g} dB",
                "passed": psnr >= pushed_psnr - max_drop,
                "detail": f"{psnr:.3f} dB vs its {pushed_psnr:.3f} dB ({how})",
            }
        )
    blessed = all(rule["passed"] for rule in rules)
    failed = [rule for rule in rules if not rule["passed"]]
    shown = failed if failed else rules
    reason = "; ".join(
        f"{'FAILED' if not r['passed'] else 'passed'} {r['rule']}: {r['detail']}" for r in shown
    )
    if pushed_metrics is None:
        reason += "; no model pushed yet"
    decision = {
        "blessed": blessed,
        "candidate_psnr": psnr,
        "candidate_gain": gain,
        "reason": reason,
        "rules": rules,
    }
    if pushed_metrics is not None:
        decision["pushed_psnr"] = pushed_metrics["deblurred"]["psnr"]
    return decision


def gate_body(metrics_path, ingest_dir, serving_dir, min_gain=0.0, max_drop=0.0):
    """Blesses the candidate if it beats the blurry input by more than `min_gain` dB and, when a
    model is pushed, is not worse than it by more than `max_drop` dB on the same test set (the
    TFX Evaluator's absolute and change thresholds)."""

    def body(output_dir):
        with open(metrics_path) as file:
            candidate = json.load(file)
        pushed = pushed_version(serving_dir)
        pushed_metrics, how = None, ""
        if pushed:
            pushed_metrics, how = _pushed_metrics(
                pushed, _test_set(ingest_dir), candidate, output_dir
            )
        decision = _gate_decision(candidate, pushed, pushed_metrics, how, min_gain, max_drop)
        path = os.path.join(output_dir, BLESSING_FILE)
        write_text(path, json.dumps(decision, indent=2))
        return {"outputs": {"blessing": path}, "metrics": decision}

    return body


def push_body(blessing_path, generator_path, generator_fingerprint, metrics_path, serving_dir):
    """Exports a blessed generator as the next version; pushes nothing for a refused one."""

    def body(output_dir):
        import keras

        from keras_deblur.serving import saved_model

        with open(blessing_path) as file:
            blessing = json.load(file)
        if not blessing["blessed"]:
            return {"metrics": {"pushed": None, "reason": blessing["reason"]}}
        pushed = pushed_version(serving_dir)
        # A push killed after its export but before its record: that version is this model already.
        if (
            pushed
            and saved_model.read_metadata(pushed).get("model_fingerprint") == generator_fingerprint
        ):
            return {"metrics": {"pushed": pushed, "reason": "already pushed by an interrupted run"}}
        with open(metrics_path) as file:
            evaluation = json.load(file)
        path = saved_model.export(
            keras.saving.load_model(generator_path),
            serving_dir,
            metadata={
                "model_fingerprint": generator_fingerprint,
                "evaluation": evaluation,
                "blessing": blessing,
            },
        )
        return {"metrics": {"pushed": path}}

    return body
