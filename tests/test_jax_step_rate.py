"""tools/jax_step_rate.py: the training step's rate on Keras's JAX backend (BUILD.md, "Training
input")."""

import os
import re
import subprocess
import sys

import pytest

from tests.commands import ROOT


def _run(backend, *flags):
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, "tools/jax_step_rate.py", *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def test_times_each_case_of_the_tiny_step_with_gan():
    flags = ["--spec=tiny", "--crop_size=32", "--batch_sizes=2", "--steps=2"]
    result = _run("jax", *flags, "--precisions=float32,mixed_bfloat16")
    assert result.returncode == 0, result.stderr
    lines = re.findall(
        r"tiny 32x32 batch 2 (\S+) adversarial_weight 0.0001: first call [\d.]+ s, "
        r"([\d.]+) steps/s, ([\d.]+) pairs/s",
        result.stdout,
    )
    assert [precision for precision, _, _ in lines] == ["float32", "mixed_bfloat16"]
    for _, steps, pairs in lines:
        assert float(steps) > 0 and abs(float(pairs) - 2 * float(steps)) < 0.1


def test_refuses_another_backend_in_one_error_line():
    result = _run("tensorflow", "--spec=tiny")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]  # after TensorFlow's start-up messages
    assert last_line == "error: this tool runs on Keras's JAX backend, not tensorflow"


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--spec=papr", "argument --spec: 'papr' is not one of"),
        ("--batch_sizes=4,0", "argument --batch_sizes: '0' is not a positive integer"),
        ("--precisions=float32,bf16", "argument --precisions: 'bf16' is not one of"),
        ("--steps=x", "argument --steps: 'x' is not a positive integer"),
        ("--adversarial_weight=-1", "argument --adversarial_weight: -1.0 is negative"),
    ],
)
def test_a_bad_flag_is_one_error_line_naming_it(flag, message):
    result = _run("jax", flag)
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"jax_step_rate.py: error: {message}"), last_line
