"""The scripts under tools/ as BUILD.md runs them."""

import re
import subprocess
import sys

from tests.commands import ROOT


def test_gain_by_blur_length_prints_a_gain_per_bucket():
    result = subprocess.run(
        [
            sys.executable,
            "tools/gain_by_blur_length.py",
            "--size=48",
            "--pairs=1",
            "--buckets=1-2,6-8",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = re.findall(r"camera path (\S+) px at 48²: gain ([+-]\d+\.\d\d) dB", result.stdout)
    assert [bucket for bucket, _ in lines] == ["1-2", "6-8"], result.stdout
