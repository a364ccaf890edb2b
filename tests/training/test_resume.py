"""A rerun on an existing run folder: what it may change, and what it may not."""

import dataclasses

import pytest

from keras_deblur.training import resume
from keras_deblur.training.loop import train
from tests.training.conftest import tiny_config


def test_a_resume_with_other_settings_stops_before_it_writes(scenes_dir, tmp_path):
    run_dir = tmp_path / "run"
    config = tiny_config(run_dir, scenes_dir, train_steps=2, num_validation_images=0)
    train(config)
    recorded = (run_dir / "config.json").read_text()
    other = dataclasses.replace(
        config, train_steps=4, input=dataclasses.replace(config.input, batch_size=1)
    )
    with pytest.raises(
        ValueError, match=r"started with other settings \(input.batch_size 2 -> 1\)"
    ):
        train(other)
    assert (run_dir / "config.json").read_text() == recorded
    assert train(dataclasses.replace(config, train_steps=3))["step"] == 3  # longer: allowed


def test_a_decay_moved_by_train_steps_past_the_step_is_refused_naming_the_flag_that_keeps_it():
    stored = resume._as_json(tiny_config("runs/x", "d", train_steps=4000, lr_decay_steps=(3000,)))
    moved = tiny_config("runs/x", "d", train_steps=30000, lr_decay_steps=(22500,))
    assert resume.check_settings("runs/x", stored, moved) == [
        "lr_decay_steps [3000] -> [22500]",
        "train_steps 4000 -> 30000",
    ]
    with pytest.raises(ValueError, match=r"--train_steps=4000 --lr_decay_steps=3000"):
        resume.check_rate("runs/x", stored, moved, 3500, 4000, 30000)
    raised = dataclasses.replace(moved, learning_rate=1e-2)  # a rate the user sets is theirs
    resume.check_rate("runs/x", stored, raised, 3500, 4000, 30000)


def test_a_resume_that_would_raise_the_rate_again_is_refused():
    # A budgeted run planned 1,000 of 40,000 steps: its decay (30,000) came at step 750.
    stored = resume._as_json(
        tiny_config(
            "runs/x",
            "d",
            train_steps=40000,
            train_minutes=10,
            lr_decay_steps=(30000,),
            learning_rate=1e-4,
        )
    )
    unbudgeted = tiny_config(
        "runs/x", "d", train_steps=40000, lr_decay_steps=(30000,), learning_rate=1e-4
    )
    resume.check_rate("runs/x", stored, unbudgeted, 700, 1000, 40000)  # before the decay: fine
    with pytest.raises(ValueError, match=r"the rate would rise from 1e-05 to 0.0001"):
        resume.check_rate("runs/x", stored, unbudgeted, 800, 1000, 40000)


def test_the_same_data_folder_spelled_another_way_is_not_a_change(tmp_path, monkeypatch):
    """A pipeline rerun from another folder, or `d64` for `/data/d64`, stopped the resume, and the
    error sent the user to a flags file that pipeline runs do not have."""
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    stored = {"data_dir": str(tmp_path / "data"), "train_steps": 2}
    config = {"data_dir": "data", "train_steps": 2}
    monkeypatch.setattr(resume, "_as_json", lambda config: config)
    assert resume.check_settings(str(tmp_path / "run"), stored, config) == []
    (tmp_path / "other").mkdir()
    with pytest.raises(ValueError, match=r"data_dir .*/data -> other\): rerun with its flags to"):
        resume.check_settings(str(tmp_path / "run"), stored, {**config, "data_dir": "other"})
