import dataclasses
import os

import pytest

from keras_deblur.serving import saved_model
from pipelines import run as pipeline
from pipelines import stages
from tests.training.conftest import tiny_config

STAGES = ["ingest", "train", "evaluate", "gate", "push"]


def _config(tmp_path, **overrides):
    return tiny_config(
        tmp_path / "unused", "", **{"train_steps": 3, "checkpoint_every_steps": 2, **overrides}
    )


def _run(config, scenes_dir, tmp_path, **kwargs):
    return pipeline.run_pipeline(
        config,
        scenes_dir,
        str(tmp_path / "root"),
        str(tmp_path / "savedmodels" / "deblur"),
        num_shards=2,
        **kwargs,
    )


def _skipped(records):
    return [name for name in STAGES if records[name]["skipped"]]


# The tiny models of these tests make images worse; a gain margin far below zero lets them through.
ANY_GAIN = {"gate_min_gain": -100.0}


def test_pipeline_runs_skips_reruns_what_changed_and_gates(scenes_dir, tmp_path, monkeypatch):
    first = _run(_config(tmp_path), scenes_dir, tmp_path, **ANY_GAIN)
    assert _skipped(first) == []
    assert first["gate"]["metrics"]["blessed"] and first["push"]["metrics"]["pushed"].endswith(
        "deblur/1"
    )
    assert first["evaluate"]["metrics"]["num_images"] == 2
    for name in STAGES:
        assert os.path.exists(
            os.path.join(str(tmp_path / "root"), name, first[name]["key"][:16], "stage.json")
        )

    again = _run(_config(tmp_path), scenes_dir, tmp_path, **ANY_GAIN)
    assert _skipped(again) == STAGES

    changed = _run(
        _config(tmp_path, learning_rate=2e-3),
        scenes_dir,
        tmp_path,
        gate_min_gain=-100.0,
        gate_max_drop=100.0,
    )
    assert _skipped(changed) == ["ingest"]
    assert changed["train"]["key"] != first["train"]["key"]

    assert changed["gate"]["metrics"]["blessed"]
    refused = _run(_config(tmp_path, learning_rate=3e-3), scenes_dir, tmp_path, gate_min_gain=99.0)
    assert not refused["gate"]["metrics"]["blessed"]
    assert (
        "FAILED gain over the blurry input > --gate_min_gain=99 dB"
        in refused["gate"]["metrics"]["reason"]
    )
    assert refused["push"]["metrics"]["pushed"] is None
    assert saved_model.versions(str(tmp_path / "savedmodels" / "deblur")) == [1, 2]


def test_the_default_gate_refuses_a_model_that_makes_images_worse(scenes_dir, tmp_path):
    records = _run(_config(tmp_path, train_steps=2), scenes_dir, tmp_path)
    gate = records["gate"]["metrics"]
    assert records["evaluate"]["metrics"]["gain"]["psnr"] < 0  # a 2-step tiny model
    assert not gate["blessed"] and records["push"]["metrics"]["pushed"] is None
    assert gate["reason"].startswith("FAILED gain over the blurry input > --gate_min_gain=0 dB: ")
    assert gate["rules"][0]["passed"] is False
    assert not os.path.exists(tmp_path / "savedmodels" / "deblur")


def test_a_run_killed_mid_stage_resumes_there(scenes_dir, tmp_path, monkeypatch):
    real = stages.evaluate_body

    def dies_once(generator, data):
        def body(output_dir):
            monkeypatch.setattr(stages, "evaluate_body", real)
            raise KeyboardInterrupt("killed")

        return body

    monkeypatch.setattr(stages, "evaluate_body", dies_once)
    with pytest.raises(KeyboardInterrupt):
        _run(_config(tmp_path), scenes_dir, tmp_path, **ANY_GAIN)
    resumed = _run(_config(tmp_path), scenes_dir, tmp_path, **ANY_GAIN)
    assert _skipped(resumed) == ["ingest", "train"]
    assert resumed["evaluate"]["resumed"] and resumed["push"]["metrics"]["pushed"]


def test_the_gate_compares_with_the_pushed_model_on_the_same_data(scenes_dir, tmp_path):
    records = _run(_config(tmp_path), scenes_dir, tmp_path, **ANY_GAIN)
    worse = dataclasses.replace(
        _config(tmp_path), learning_rate=1e-12, init_from=None, train_steps=1
    )
    second = _run(worse, scenes_dir, tmp_path, **ANY_GAIN)
    gate = second["gate"]["metrics"]
    assert "pushed_psnr" in gate and gate["pushed_psnr"] == pytest.approx(
        records["evaluate"]["metrics"]["deblurred"]["psnr"]
    )
    assert gate["blessed"] == (gate["candidate_psnr"] >= gate["pushed_psnr"])
    if not gate["blessed"]:
        assert "FAILED not worse than the pushed model" in gate["reason"]
        assert second["push"]["metrics"]["pushed"] is None


def test_new_starting_weights_train_again(scenes_dir, tmp_path):
    from keras_deblur.models import build_generator_from_spec

    start = str(tmp_path / "start.keras")
    build_generator_from_spec("tiny").save(start)
    config = _config(tmp_path, init_from=start)
    assert _skipped(_run(config, scenes_dir, tmp_path, **ANY_GAIN)) == []
    assert _skipped(_run(config, scenes_dir, tmp_path, **ANY_GAIN)) == STAGES
    build_generator_from_spec("tiny").save(start)  # other random weights under the same name
    skipped = _skipped(
        _run(config, scenes_dir, tmp_path, gate_min_gain=-100.0, gate_max_drop=100.0)
    )
    assert "ingest" in skipped and "train" not in skipped


def test_a_gate_run_again_scores_the_model_pushed_now_where_it_scored_the_last(
    scenes_dir, tmp_path
):
    # A gate whose record went stale (another model pushed meanwhile) runs again in its folder.
    from keras_deblur.evaluation.dataset import load_test_set
    from keras_deblur.models import build_generator_from_spec

    test_set = load_test_set(scenes_dir, max_images=1)
    candidate = {"test_set": {"fingerprint": "data"}, "settings": {}}
    scores = []
    for name in ("first", "second"):
        version = saved_model.export(build_generator_from_spec("tiny"), str(tmp_path / name))
        summary, how = stages._pushed_metrics(version, test_set, candidate, str(tmp_path / "gate"))
        assert how.startswith("re-evaluated")
        scores.append(summary["model"]["source"])
    assert scores == [f"{tmp_path}/first/1", f"{tmp_path}/second/1"]


def test_the_gate_uses_a_recorded_evaluation_only_if_made_as_the_candidates(scenes_dir, tmp_path):
    """An export's recorded evaluation on the same test set was used even when made with
    `evaluate --ensemble` (or another protocol or precision): the candidate met inflated scores."""
    from keras_deblur.evaluation.dataset import load_test_set
    from keras_deblur.models import build_generator_from_spec

    test_set = load_test_set(scenes_dir, max_images=1)
    fingerprint = test_set.fingerprint()[0]
    common = {"precision": "float32", "protocol": "deepdeblur"}
    settings = {**common, "ensemble_size": 1}
    candidate = {"test_set": {"fingerprint": fingerprint}, "settings": settings}
    # 8 symmetries, as recorded now and by the release before sizes (where True == 1 matched).
    for other in ({**common, "ensemble_size": 8}, {**common, "ensemble": True}):
        recorded = {
            "test_set": {"fingerprint": fingerprint},
            "settings": other,
            "deblurred": {"psnr": 99.0},
        }
        version = saved_model.export(
            build_generator_from_spec("tiny"),
            str(tmp_path / "m"),
            metadata={"evaluation": recorded},
        )
        summary, how = stages._pushed_metrics(version, test_set, candidate, str(tmp_path / "gate"))
        assert how.startswith("re-evaluated") and summary["deblurred"]["psnr"] < 99
    same = {**candidate, "settings": recorded["settings"]}
    summary, how = stages._pushed_metrics(version, test_set, same, str(tmp_path / "gate"))
    assert how == "its recorded evaluation on the same test set" and summary == recorded


def test_a_tree_without_a_test_split_is_named_before_ingest(scenes_dir, tmp_path):
    """Ingest ran, then training failed on the ingest folder's missing test-*.tfrecord."""
    import shutil

    shutil.copytree(os.path.join(scenes_dir, "train"), tmp_path / "tree" / "train")
    with pytest.raises(FileNotFoundError, match=r"tree: no test split .*evaluates and gates"):
        _run(_config(tmp_path), str(tmp_path / "tree"), tmp_path)
    assert not (tmp_path / "root").exists()
