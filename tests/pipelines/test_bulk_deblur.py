"""Bulk deblurring on Beam (in process): same relative names, resumable, dead letters."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_deblur.serving.deblurrer import Deblurrer
from keras_deblur.serving.image_files import read_image
from pipelines import bulk_deblur
from tests.commands import run_module


@pytest.fixture
def archive(tmp_path, rng):
    """input/a.png, input/b.jpg, input/deeper/c.png, and input/deeper/broken.png (not an image)."""
    root = tmp_path / "input"
    (root / "deeper").mkdir(parents=True)
    for name, size in (("a.png", (40, 56)), ("b.jpg", (48, 32)), ("deeper/c.png", (33, 47))):
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / name)
    (root / "deeper" / "broken.png").write_text("not an image")
    return root


def _dead_letters(output_dir):
    with open(output_dir / "dead_letters-00000-of-00001.jsonl") as f:
        return [json.loads(line) for line in f]


def _run(archive, output_dir, handler=None):
    handler = handler or bulk_deblur.DeblurrerHandler("photo", None, None, 1)
    return bulk_deblur.run(str(archive), str(output_dir), handler, max_megapixels=128.0)


def test_every_image_under_its_relative_name_and_a_rerun_skips_them(archive, tmp_path):
    out = tmp_path / "out"
    counts = _run(archive, out)
    assert (counts["files"], counts["deblurred"], counts["skipped"], counts["failed"]) == (
        4,
        3,
        0,
        1,
    )
    deblurrer = Deblurrer("photo")
    for name in ("a.png", "deeper/c.png"):  # PNG keeps the pixels exactly
        expected = deblurrer.deblur(read_image(str(archive / name)).pixels)
        np.testing.assert_array_equal(read_image(str(out / name)).pixels, expected)
    assert read_image(str(out / "b.jpg")).format == "JPEG"
    [letter] = _dead_letters(out)
    assert letter["name"] == "deeper/broken.png" and letter["stage"] == "read"
    assert "broken.png is not an image this command can read" in letter["reason"]

    written = {name: os.path.getmtime(out / name) for name in ("a.png", "b.jpg", "deeper/c.png")}
    os.remove(out / "b.jpg")
    counts = _run(archive, out)
    assert (counts["deblurred"], counts["skipped"], counts["failed"]) == (1, 2, 1)
    for name in ("a.png", "deeper/c.png"):
        assert os.path.getmtime(out / name) == written[name]
    assert (out / "b.jpg").exists()


class _FailsOnTallImages(bulk_deblur.DeblurrerHandler):
    """Runs out of memory on images taller than 40 pixels, as a huge photo would."""

    def load_model(self):
        model = super().load_model()
        original = model.deblur

        def deblur(pixels):
            if pixels.shape[0] > 40:
                raise MemoryError("out of memory")
            return original(pixels)

        model.deblur = deblur
        return model


def test_an_image_the_model_fails_on_is_a_dead_letter(archive, tmp_path):
    (archive / "deeper" / "broken.png").unlink()
    out = tmp_path / "out"
    counts = _run(archive, out, _FailsOnTallImages("photo", None, None, 1))
    assert (counts["deblurred"], counts["failed"]) == (2, 1)
    [letter] = _dead_letters(out)
    assert letter == {"name": "b.jpg", "stage": "deblur", "reason": "MemoryError: out of memory"}
    assert sorted(os.listdir(out)) == ["a.png", "dead_letters-00000-of-00001.jsonl", "deeper"]


def test_hidden_folders_are_left_out_as_hidden_files_are(tmp_path):
    (tmp_path / "in" / ".git" / "objects").mkdir(parents=True)
    (tmp_path / "in" / ".git" / "objects" / "pack").write_bytes(b"not a photo")
    (tmp_path / "in" / "trip").mkdir()
    (tmp_path / "in" / "trip" / "a.jpg").write_bytes(b"a photo")
    (tmp_path / "in" / "trip" / ".b.jpg").write_bytes(b"hidden")
    names = bulk_deblur.list_inputs(str(tmp_path / "in"), str(tmp_path / "out"))
    assert names == ["trip/a.jpg"]


def test_folders_that_cannot_work_are_refused(archive, tmp_path):
    with pytest.raises(ValueError, match="is inside --input"):
        bulk_deblur.list_inputs(str(archive), str(archive / "out"))
    with pytest.raises(ValueError, match="is inside --input"):  # the same folder, named otherwise
        bulk_deblur.list_inputs(os.path.relpath(archive), str(archive / "deeper" / ".." / "out"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no files"):
        bulk_deblur.list_inputs(str(tmp_path / "empty"), str(tmp_path / "out"))
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        bulk_deblur.list_inputs(str(tmp_path / "missing"), str(tmp_path / "out"))


def test_a_wrong_ensemble_size_is_refused_before_the_pipeline_runs(archive, tmp_path):
    result = run_module(
        "pipelines.bulk_deblur",
        f"--input={archive}",
        f"--output_dir={tmp_path / 'out'}",
        "--ensemble=5",
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: --ensemble=5: the number of symmetries to average over must be one of 1, 2, 4, "
        "8 (1: no ensemble)"
    ]
    assert not (tmp_path / "out").exists()


def test_the_command_reports_counts_and_fails_when_a_file_did(archive, tmp_path):
    result = run_module(
        "pipelines.bulk_deblur", f"--input={archive}", f"--output_dir={tmp_path / 'out'}"
    )
    assert result.returncode == 1
    assert "4 files: 3 deblurred, 0 skipped (output exists), 1 failed;" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 files failed")
