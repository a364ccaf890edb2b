"""The scripts under tools/ as BUILD.md runs them."""

import re
import subprocess
import sys

from tests.commands import ROOT


def _gain_by_blur_length(*args):
    return subprocess.run(
        [sys.executable, "tools/gain_by_blur_length.py", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_gain_by_blur_length_prints_a_gain_per_bucket():
    result = _gain_by_blur_length("--size=48", "--pairs=1", "--buckets=1-2,6-8")
    assert result.returncode == 0, result.stderr
    lines = re.findall(r"camera path (\S+) px at 48²: gain ([+-]\d+\.\d\d) dB", result.stdout)
    assert [bucket for bucket, _ in lines] == ["1-2", "6-8"], result.stdout


def test_gain_by_blur_length_names_a_bad_bucket():
    result = _gain_by_blur_length("--buckets=4-15,long")
    assert result.returncode == 2
    assert "error: --buckets: 'long' is not LOW-HIGH pixels" in result.stderr
    assert "Traceback" not in result.stderr
