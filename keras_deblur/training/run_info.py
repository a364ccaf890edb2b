"""What a run records about itself: its config, flags, git commit and package versions."""

import dataclasses
import json
import os
import subprocess
import sys

from keras_deblur.file_io import write_text
from keras_deblur.run_layout import RunLayout


def _git(*args):
    """The output of `git ARGS` run in this package's folder."""
    here = os.path.dirname(os.path.abspath(__file__))
    return subprocess.run(
        ["git", *args], cwd=here, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def git_commit():
    """The checkout's commit (with "-dirty" if it has changes), or "unknown" outside a git
    checkout."""
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def package_versions():
    import keras
    import numpy
    import tensorflow

    import keras_deblur

    return {
        "python": sys.version.split()[0],
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "keras_deblur": keras_deblur.__version__,
    }


def write_run_info(run_dir, config, flags_text=None, extra=None):
    """Writes config.json (config, commit, versions, `extra`) and flags.txt (a reusable
    flagfile)."""
    info = {
        "config": dataclasses.asdict(config),
        "git_commit": git_commit(),
        "versions": package_versions(),
        **(extra or {}),
    }
    write_text(RunLayout(run_dir).config, json.dumps(info, indent=2, default=str))
    if flags_text is not None:
        write_text(RunLayout(run_dir).flags, flags_text)
    return info
