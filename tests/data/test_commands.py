"""The data commands as users run them: `python -m keras_deblur.data.{scenes,synthesize}`."""

import numpy as np

from keras_deblur.data import images
from keras_deblur.data.pairs import discover_pairs
from tests.commands import run_module

_run = run_module


def test_scenes_command_prints_its_summary(tmp_path):
    result = _run(
        "keras_deblur.data.scenes",
        f"--output_dir={tmp_path}",
        "--num_pairs=4",
        "--size=32",
        "--seed=3",
        "--num_workers=1",
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 3 train + 1 test pairs" in result.stdout
    assert "blurry vs sharp PSNR, blur_gamma: mean" in result.stdout
    assert len(discover_pairs(str(tmp_path), "test").pairs) == 1

    bad = _run(
        "keras_deblur.data.scenes",
        f"--output_dir={tmp_path / 'other'}",
        "--photo_num_objects=3",
    )
    assert bad.returncode == 1
    assert "error: --photo_num_objects must be two int values LOW,HIGH, got 3" in bad.stderr
    assert "Traceback" not in bad.stderr
    negative = _run(  # rendered in one process without a word
        "keras_deblur.data.scenes", f"--output_dir={tmp_path / 'other'}", "--num_workers=-3"
    )
    assert negative.returncode == 1
    assert "error: flag --num_workers=-3: -3 is not a non-negative integer" in negative.stderr
    assert not (tmp_path / "other").exists()


def test_synthesize_command_writes_pairs_and_names_bad_input(tmp_path):
    rng = np.random.default_rng(0)
    for index in range(9):
        images.write_png(
            str(tmp_path / "frames" / "seq" / f"{index:03d}.png"),
            rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
        )
    result = _run(
        "keras_deblur.data.synthesize",
        f"--frames_dir={tmp_path / 'frames'}",
        f"--output_dir={tmp_path / 'out'}",
        "--min_frames=9",
        "--max_frames=9",
        "--test_fraction=0",
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 1 train + 0 test pairs" in result.stdout

    missing = _run(
        "keras_deblur.data.synthesize",
        f"--frames_dir={tmp_path / 'nope'}",
        f"--output_dir={tmp_path / 'out'}",
    )
    assert missing.returncode == 1
    assert f"error: --frames_dir {tmp_path / 'nope'} is not a folder" in missing.stderr
    assert "Traceback" not in missing.stderr
