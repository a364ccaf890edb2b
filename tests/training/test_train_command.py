"""`python -m keras_deblur.train` as users run it: flagfiles, bad input, and a SIGKILL mid-run."""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from absl import flags

from tests.training.conftest import TINY_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _command(*args):
    return [sys.executable, "-m", "keras_deblur.train", *args]


def _run(*args, env=None):
    return subprocess.run(
        _command(*args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def parsed_flags():
    """Parses a command line into the global FLAGS for one test, and restores them afterwards."""
    import keras_deblur.train  # noqa: F401  (defines nothing new: every flag lives in keras_deblur.flags)

    def parse(*args):
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["train", *args])

    yield parse
    flags.FLAGS.unparse_flags()


def test_flagfiles_parse_and_later_flags_win(parsed_flags):
    from keras_deblur.flags import train_config as train_config_from_flags

    parsed_flags(
        f"--flagfile={ROOT}/gopro.flags", "--run_dir=runs/x", "--train_steps=7", "--crop_size=128"
    )
    config = train_config_from_flags()
    assert config.train_steps == 7 and config.input.augment.crop_size == 128  # the overrides
    # The paper's blur (eq. 3) and the authors' code's right-angle rotations, in auto precision.
    assert config.generator.num_resblocks == 19 and config.input.augment.rotation == "right_angles"
    assert config.blur_key == "blur_gamma" and config.mixed_precision == "auto"
    assert config.learning_rate_values() == pytest.approx([5e-5, 5e-6])
    # --train_steps moves the paper's decay (150,000 of 450,000) to the same third of 7 steps.
    assert config.lr_decay_steps == (2,) and config.adversarial_weight == 1e-4

    parsed_flags(f"--flagfile={ROOT}/gopro_release.flags", "--run_dir=runs/y")
    release = train_config_from_flags()
    assert release.generator.upsample == "pixel_shuffle" and release.content_loss == "l1"
    assert release.adversarial_weight == 0 and release.blur_key == "blur_gamma"
    assert release.learning_rate_values() == pytest.approx([1e-4, 5e-5, 2.5e-5, 1.25e-5])

    parsed_flags(f"--flagfile={ROOT}/smoke.flags", "--run_dir=runs/z")
    assert train_config_from_flags().train_steps > 0

    # The main job: a time budget instead of a step count that takes 9 to 53 minutes by machine.
    parsed_flags(f"--flagfile={ROOT}/small.flags", "--run_dir=runs/s")
    small = train_config_from_flags()
    assert small.train_minutes > 0 and small.mixed_precision == "auto"


def test_bad_command_lines_are_named(tmp_path):
    missing = _run("--flagfile=no_such.flags", f"--run_dir={tmp_path}")
    assert missing.returncode != 0 and "no_such.flags" in missing.stderr
    unknown = _run("--bogus_flag=1", f"--run_dir={tmp_path}")
    assert unknown.returncode != 0 and "bogus_flag" in unknown.stderr
    tf_config = _run(
        "--strategy=multi_worker",
        f"--run_dir={tmp_path}",
        "--data_dir=x",
        env={"TF_CONFIG": "{not json"},
    )
    assert tf_config.returncode == 1
    assert "error: TF_CONFIG does not parse" in tf_config.stderr and "{not json" in tf_config.stderr
    assert not os.listdir(tmp_path)  # nothing was written before the error


def _final_weights(run_dir):
    return keras.saving.load_model(os.path.join(run_dir, "generator.keras")).get_weights()


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(scenes_dir, tmp_path):
    args = [
        *TINY_FLAGS,
        "--deterministic",
        f"--data_dir={scenes_dir}",
        "--train_steps=60",
        "--checkpoint_every_steps=5",
        "--num_validation_images=0",
    ]
    straight = _run(*args, f"--run_dir={tmp_path / 'straight'}")
    assert straight.returncode == 0, straight.stderr[-3000:]

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(
        _command(*args, f"--run_dir={killed_dir}"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while not (killed_dir / "checkpoints" / "ckpt-10.index").exists():
        assert process.poll() is None and time.time() < deadline, (
            "the run ended before it could be killed"
        )
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed_dir / "generator.keras").exists()  # it really stopped mid-run
    # What a kill in the middle of a save leaves: files of a checkpoint the state file never names.
    (killed_dir / "checkpoints" / "ckpt-99.index").write_bytes(b"half-written")

    resumed = _run(*args, f"--run_dir={killed_dir}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stdout
    assert "trained to step 60" in resumed.stdout
    for a, b in zip(_final_weights(tmp_path / "straight"), _final_weights(killed_dir)):
        np.testing.assert_allclose(a, b, atol=1e-6)
