"""The whole pipeline: `python -m pipelines.run --flagfile=gopro.flags --data_dir=<GOPRO-layout
tree>`.

ingest (Beam) -> train -> evaluate -> gate -> push, each a stage of `stage_runner.run_stage` under
`--pipeline_root`, so a rerun skips what is unchanged and resumes what was interrupted. It takes
every training flag (the same flagfiles work for both) plus `--pipeline_root`, `--serving_dir`,
`--gate_min_gain`, `--gate_max_drop`, `--num_shards` and `--beam_pipeline_args`.
"""

import dataclasses
import json
import os

from keras_deblur import cli
from keras_deblur import flags as f
from keras_deblur.data.pairs import SPLITS
from pipelines import stages
from pipelines.stage_runner import fingerprint, run_stage

_NOT_TRAINING = (
    "run_dir",
    "data_dir",
    "train_tfrecords",
    "test_tfrecords",
    "blur_key",
    "skip_bad_pairs",
)


def _pushed_model(serving_dir):
    """The model fingerprint recorded in the pushed version (None if nothing is pushed)."""
    from keras_deblur.serving.saved_model import read_metadata

    version = stages.pushed_version(serving_dir)
    if not version:
        return None
    return read_metadata(version).get("model_fingerprint", version)


def _train_inputs(config, data_fp):
    """The train stage's inputs: the data, and the weights `--init_from` starts from (by content:
    a package upgrade that ships new preset weights, or a rewritten .keras file, trains again)."""
    inputs = {"data": data_fp}
    if config.init_from:
        from keras_deblur.training.assembly import starting_weights

        inputs["init_from"] = fingerprint(starting_weights(config.init_from)[1])
    return inputs


def run_pipeline(
    config,
    source_dir,
    root,
    serving_dir,
    gate_min_gain=0.0,
    gate_max_drop=0.0,
    num_shards=4,
    beam_args=(),
):
    """Runs the five stages; returns {stage name: record}."""
    if not source_dir or not os.path.isdir(source_dir):
        raise FileNotFoundError(f"--data_dir={source_dir!r}: no such folder (a GOPRO-layout tree)")
    for split in SPLITS:  # the train stage trains on one, evaluate and gate need the other
        if not os.path.isdir(os.path.join(source_dir, split)):
            raise FileNotFoundError(
                f"--data_dir={source_dir}: no {split} split ({os.path.join(source_dir, split)}); "
                "the pipeline trains on train/ and evaluates and gates on test/"
            )
    records = {}
    records["ingest"] = run_stage(
        root,
        "ingest",
        {"source": fingerprint(source_dir)},
        {
            "blur_key": config.blur_key,
            "num_shards": num_shards,
            "skip_bad_pairs": config.skip_bad_pairs,
        },
        stages.ingest_body(source_dir, config, num_shards, beam_args),
    )
    data, data_fp = (
        records["ingest"]["outputs"]["data"],
        records["ingest"]["output_fingerprints"]["data"],
    )

    train_params = {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_TRAINING}
    records["train"] = run_stage(
        root, "train", _train_inputs(config, data_fp), train_params, stages.train_body(config, data)
    )
    generator, generator_fp = (
        records["train"]["outputs"]["generator"],
        records["train"]["output_fingerprints"]["generator"],
    )

    records["evaluate"] = run_stage(
        root,
        "evaluate",
        {"generator": generator_fp, "data": data_fp},
        {},
        stages.evaluate_body(generator, data),
    )
    metrics, metrics_fp = (
        records["evaluate"]["outputs"]["metrics"],
        records["evaluate"]["output_fingerprints"]["metrics"],
    )

    serving_dir = os.path.abspath(serving_dir)
    pushed_before = _pushed_model(serving_dir)
    records["gate"] = run_stage(
        root,
        "gate",
        {"metrics": metrics_fp},
        {
            "gate_min_gain": gate_min_gain,
            "gate_max_drop": gate_max_drop,
            "serving_dir": serving_dir,
        },
        _recording(
            stages.gate_body(metrics, data, serving_dir, gate_min_gain, gate_max_drop),
            pushed_before,
        ),
        # The decision compared against the model pushed then: it holds while that (or this) model
        # is pushed.
        still_valid=lambda record: (
            _pushed_model(serving_dir) in (record["metrics"]["pushed_model"], generator_fp)
        ),
    )
    records["push"] = run_stage(
        root,
        "push",
        {"blessing": records["gate"]["output_fingerprints"]["blessing"], "generator": generator_fp},
        {"serving_dir": serving_dir},
        stages.push_body(
            records["gate"]["outputs"]["blessing"], generator, generator_fp, metrics, serving_dir
        ),
    )
    return records


def _recording(body, pushed_model):
    def wrapped(output_dir):
        result = body(output_dir)
        result["metrics"]["pushed_model"] = pushed_model
        return result

    return wrapped


# The training flags, and the pipeline's own. The train stage's folder and its TFRecords are the
# pipeline's (under --pipeline_root), so --run_dir and --train/test_tfrecords are not read.
FLAGS_NOT_READ = ("run_dir", "train_tfrecords", "test_tfrecords")
FLAGS_USED = (
    *(name for name in f.TRAINING_FLAGS if name not in FLAGS_NOT_READ),
    "pipeline_root",
    "serving_dir",
    "gate_min_gain",
    "gate_max_drop",
    "num_shards",
    "beam_pipeline_args",
)


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    from keras_deblur.evaluation.report import format_summary

    config = f.train_config()
    records = run_pipeline(
        config,
        f.DATA_DIR.value,
        f.PIPELINE_ROOT.value,
        f.SERVING_DIR.value,
        f.GATE_MIN_GAIN.value,
        f.GATE_MAX_DROP.value,
        f.NUM_SHARDS.value,
        f.BEAM_PIPELINE_ARGS.value,
    )
    print(format_summary(records["evaluate"]["metrics"]))
    gate = records["gate"]["metrics"]
    print(f"gate: {'blessed' if gate['blessed'] else 'REFUSED'}: {gate['reason']}")
    pushed = records["push"]["metrics"].get("pushed")
    run_dir = os.path.dirname(records["train"]["outputs"]["generator"])
    print(f"figures: {os.path.dirname(records['evaluate']['outputs']['metrics'])}/figures/")
    print(f"TensorBoard: tensorboard --logdir={run_dir}")
    if pushed:
        base = os.path.dirname(pushed)
        print(
            f"pushed {pushed}; serve it: tensorflow_model_server --rest_api_port=8501 --port=8500 "
            f"--model_name={os.path.basename(base)} --model_base_path={base}"
        )
    print(
        json.dumps(
            {
                name: {"skipped": r["skipped"], "seconds": round(r["seconds"], 1)}
                for name, r in records.items()
            }
        )
    )
    return 0


if __name__ == "__main__":
    cli.run(main, FLAGS_USED)
