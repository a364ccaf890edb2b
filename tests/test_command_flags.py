"""Each command's flags: `--help` lists what it reads, and the recipes behind the flagfiles."""

import dataclasses
import importlib
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from keras_deblur import experiments
from keras_deblur import flags as f

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = {  # command module -> the source files whose flag reads it answers for
    "keras_deblur.train": ["keras_deblur/train.py"],
    "keras_deblur.evaluate": ["keras_deblur/evaluate.py"],
    "keras_deblur.export": ["keras_deblur/export.py"],
    "keras_deblur.export_tflite": ["keras_deblur/export_tflite.py"],
    "keras_deblur.deblur": ["keras_deblur/deblur.py"],
    "keras_deblur.import_weights": ["keras_deblur/import_weights.py"],
    "keras_deblur.data.scenes": ["keras_deblur/data/scenes.py"],
    "keras_deblur.data.synthesize": ["keras_deblur/data/synthesize.py"],
    "keras_deblur.bench.__main__": [
        f"keras_deblur/bench/{n}"
        for n in os.listdir(f"{ROOT}/keras_deblur/bench")
        if n.endswith(".py")
    ],
    "pipelines.run": ["pipelines/run.py"],
    "pipelines.bulk_deblur": ["pipelines/bulk_deblur.py"],
}


def _flags_read(path):
    source = open(os.path.join(ROOT, path)).read()
    read = {
        getattr(f, name).name
        for name in re.findall(r"\b(?:f|deblur_flags)\.([A-Z0-9_]+)\.value", source)
    }
    read |= set(re.findall(r'FLAGS\["(\w+)"\]', source))
    if "f.run_dir()" in source:
        read |= {"run_dir", "model_dir"}
    if "f.train_config()" in source:
        read |= set(f.TRAINING_FLAGS)
    return read


@pytest.mark.parametrize("module_name", sorted(COMMANDS))
def test_each_command_declares_the_flags_it_reads(module_name):
    module = importlib.import_module(module_name)
    used = set(f.TRAINING_FLAGS if module_name == "keras_deblur.train" else module.FLAGS_USED)
    read = set().union(*(_flags_read(path) for path in COMMANDS[module_name]))
    read -= set(getattr(module, "FLAGS_NOT_READ", ()))  # in train_config, replaced by the command
    assert read <= used, (
        f"{module_name} reads flags its --help does not list: {sorted(read - used)}"
    )
    assert used <= set(flags.FLAGS), sorted(used - set(flags.FLAGS))


def test_help_lists_only_the_command_flags():
    result = subprocess.run(
        [sys.executable, "-m", "keras_deblur.export", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    listed = set(re.findall(r"^  --(?:\[no\])?(\w+):", result.stdout, re.M))
    expected = {"run_dir", "model_dir", "preset", "export_dir", "export_version", "ensemble"}
    assert listed == expected, result.stdout


def test_an_empty_run_dir_is_named():
    """`--run_dir=` said only "[Errno 2] No such file or directory: ''"."""
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(["train", "--experiment=small", "--run_dir="])
        with pytest.raises(ValueError, match="--run_dir is empty"):
            f.train_config()
    finally:
        flags.FLAGS.unparse_flags()


@pytest.mark.parametrize(
    "flagfile, name",
    [
        ("gopro.flags", "paper_gopro"),
        ("gopro_release.flags", "release_gopro"),
        ("small.flags", "small"),
        ("smoke.flags", "smoke"),
    ],
)
def test_each_flagfile_is_its_experiment_and_the_data(flagfile, name):
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(["train", f"--flagfile={ROOT}/{flagfile}", "--run_dir=runs/x", "--data_dir=d"])
        assert f.train_config() == experiments.get(name, run_dir="runs/x", data_dir="d")
    finally:
        flags.FLAGS.unparse_flags()


def test_flags_override_nested_values_and_the_seed_reaches_the_input():
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(
            [
                "train",
                "--experiment=small",
                "--crop_size=64",
                "--seed=5",
                "--nodeterministic",
                "--lr_decay_steps=10,20",
            ]
        )
        config = f.train_config()
    finally:
        flags.FLAGS.unparse_flags()
    expected = experiments.small()
    assert config.input.augment.crop_size == 64 and config.seed == config.input.seed == 5
    assert config.lr_decay_steps == (10, 20) and config.generator == expected.generator
    assert (
        dataclasses.replace(config, input=expected.input, seed=0, lr_decay_steps=(3000,))
        == expected
    )
    with pytest.raises(ValueError, match="--experiment must be one of"):
        experiments.get("nope")


@pytest.mark.parametrize(
    "argv, decays",
    [
        (["--experiment=small", "--train_steps=30000"], (22500,)),  # still at 3/4
        (["--experiment=small", "--train_steps=30000", "--lr_decay_steps=500"], (500,)),
        (["--experiment=release_gopro", "--train_steps=1314"], (657, 986, 1183)),
        (["--experiment=small", "--train_steps=1"], (1,)),
    ],
)
def test_train_steps_move_the_recipes_decay_unless_it_is_given(argv, decays):
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(["train", *argv])
        config = f.train_config()
    finally:
        flags.FLAGS.unparse_flags()
    assert config.lr_decay_steps == decays


def test_the_schedule_is_told_with_its_share_of_the_steps():
    recipe = experiments.small()
    assert recipe.schedule_summary().startswith(
        "learning rate 5e-05, times 0.1 at step 3000 (75%) of 4000"
    )
    budget = dataclasses.replace(recipe, train_minutes=10).schedule_summary()
    assert budget.endswith("each keeps its share of the steps the budget allows")


def test_a_decay_past_the_end_is_told_as_none():
    past = dataclasses.replace(experiments.small(), train_steps=1000)  # decay at 3,000
    assert past.schedule_summary() == (
        "learning rate 5e-05, constant: no decay within 1000 steps (--lr_decay_steps is past the "
        "end)"
    )
    none = dataclasses.replace(experiments.small(), lr_decay_steps=())
    assert none.schedule_summary() == "learning rate 5e-05, constant: no decay within 4000 steps"


def test_the_flagfile_a_run_writes_asks_for_the_same_run(tmp_path):
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(["train", "--experiment=small", "--crop_size=64", "--run_dir=runs/x"])
        text, config = f.training_flagfile(), f.train_config()
        (tmp_path / "flags.txt").write_text(text)
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["train", f"--flagfile={tmp_path / 'flags.txt'}"])
        assert f.train_config() == config
    finally:
        flags.FLAGS.unparse_flags()
    assert "blur_key" not in text and "--crop_size=64" in text.splitlines()
