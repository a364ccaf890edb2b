"""The model the package ships: package data, loaded by name, used by default, exported."""

import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from keras_deblur.data.photo_blur import PhotoBlurConfig, render_photo_pair
from keras_deblur.data.photo_sources import load_photos
from keras_deblur.metrics import psnr_uint8
from keras_deblur.models import presets
from keras_deblur.serving.deblurrer import Deblurrer
from tests.commands import run_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def blurred_photo():
    """A 256-pixel pair of a photo scikit-image ships, with camera shake of 8-13 pixels."""
    photos = dict((os.path.basename(path), pixels) for path, pixels in load_photos())
    config = PhotoBlurConfig(blur_length=(0.03, 0.05), num_objects=(0, 0), jpeg_probability=0.0)
    return render_photo_pair(np.random.default_rng(5), photos["astronaut.png"], config)


@pytest.mark.parametrize("name", sorted(presets.WEIGHTS))
def test_each_trained_preset_is_package_data_under_10_mb(name):
    path = presets.weights_path(name)
    assert os.path.isfile(path) and os.path.getsize(path) <= 10 * 2**20
    setup = open(os.path.join(ROOT, "setup.py")).read()
    assert '"weights/*.weights.h5"' in setup  # installed with the package, not only in a checkout


def test_the_shipped_model_deblurs_a_shaken_photo(blurred_photo):
    # Not a measure of quality (the photo is one it trained on; BUILD.md has real frames): an
    # untrained global-residual generator returns its input (+0 dB), so this fails without weights.
    # `blur`, GOPRO's plain average, is what it was trained on (experiments.photo): +1.0 dB here.
    deblurred = Deblurrer().deblur(blurred_photo.blur)
    before = psnr_uint8(blurred_photo.blur, blurred_photo.sharp)
    assert psnr_uint8(deblurred, blurred_photo.sharp) > before + 0.5


def test_the_camera_preset_deblurs_blur_a_sensor_integrated(blurred_photo):
    # The same shake averaged in linear light (`blur_gamma`), as a camera's sensor integrates it:
    # `photo`'s later stages trained on `blur` only, and it gains -0.1 dB here; `photo_camera`
    # learnt both, +0.6 dB.
    image, sharp = blurred_photo.blur_gamma, blurred_photo.sharp
    before = psnr_uint8(image, sharp)
    camera = psnr_uint8(Deblurrer("photo_camera").deblur(image), sharp)
    assert camera > before + 0.4
    assert camera > psnr_uint8(Deblurrer("photo").deblur(image), sharp) + 0.4


def test_its_export_serves_the_same_pixels(blurred_photo, tmp_path):
    base = str(tmp_path / "photo")
    result = run_module("keras_deblur.export", "--preset=photo", f"--export_dir={base}")
    assert result.returncode == 0, result.stderr
    metadata = json.loads(open(f"{base}/1/assets.extra/keras_deblur.json").read())
    assert metadata["preset"] == "photo" and metadata["num_scales"] == 3
    image = blurred_photo.blur[:200, :232]
    np.testing.assert_array_equal(Deblurrer(base).deblur(image), Deblurrer("photo").deblur(image))


def test_winograd_convolutions_give_its_pixels(blurred_photo):
    image = blurred_photo.blur[:96, :136]
    direct = Deblurrer("photo", memory_budget=2**30)
    winograd = Deblurrer("photo", memory_budget=2**30, conv_algorithm="winograd")
    assert winograd.scales.conv_algorithm == "winograd"
    assert winograd.tile_size < direct.tile_size  # its budget counts its larger buffers
    difference = winograd.deblur(image).astype(int) - direct.deblur(image).astype(int)
    assert np.abs(difference).max() <= 1  # float32 rounding, seen across one uint8 step


def test_deblur_uses_it_without_model_and_times_each_image(blurred_photo, tmp_path):
    Image.fromarray(blurred_photo.blur[:120, :160]).save(tmp_path / "shaken.png")
    result = run_module(
        "keras_deblur.deblur", f"--input={tmp_path}/shaken.png", f"--output_dir={tmp_path}/out"
    )
    assert result.returncode == 0, result.stderr
    assert re.search(rf"{tmp_path}/shaken.png: 160x120 deblurred in \d+\.\d\d s", result.stdout)
    assert os.path.isfile(tmp_path / "out" / "shaken.png")
    # in the precision `auto` picks for this CPU, named (bf16 only where it is faster), and with
    # the convolutions that go with it: Winograd's in float32
    found = re.search(r"^precision: (float32|mixed_bfloat16) \(", result.stdout, re.M)
    assert found, result.stdout
    convs = "winograd" if found[1] == "float32" else "direct"
    assert re.search(rf"^convolutions: {convs} \(", result.stdout, re.M), result.stdout


@pytest.mark.parametrize(
    "precision, convs", [("float32", "winograd"), ("mixed_bfloat16", "direct")]
)
def test_auto_convolutions_are_winograd_in_float32(precision, convs):
    from keras_deblur.serving.deblurrer import Deblurrer

    deblurrer = Deblurrer(conv_algorithm="auto", mixed_precision=precision)
    assert deblurrer.conv_algorithm == convs
    assert deblurrer.scales.conv_algorithm == convs


@pytest.mark.parametrize(
    "flag, conv_algorithm, asked",
    [(None, "direct", "auto"), (None, "winograd", "float32"), ("float32", "direct", "float32")],
)
def test_deblur_asks_for_bf16_where_faster_unless_told(flag, conv_algorithm, asked):
    from keras_deblur.deblur import requested_precision

    assert requested_precision(flag, conv_algorithm) == asked


def test_evaluate_scores_a_preset(scenes_dir, tmp_path):
    result = run_module(
        "keras_deblur.evaluate",
        "--preset=photo",
        f"--data_dir={scenes_dir}",
        "--blur_key=blur_gamma",
        f"--output_dir={tmp_path}/eval",
    )
    assert result.returncode == 0, result.stderr
    model = json.loads((tmp_path / "eval" / "metrics.json").read_text())["model"]
    assert model["source"] == "preset:photo" and model["precision"] == "float32"


@pytest.mark.parametrize(
    "module, args, message",
    [
        ("keras_deblur.export", ["--preset=nope"], "error: --preset=nope: no such preset"),
        ("keras_deblur.export", ["--preset=photo", "--run_dir=x"], "exactly one of --run_dir"),
        ("keras_deblur.evaluate", ["--preset=photo", "--saved_model=x"], "exactly one of"),
        ("keras_deblur.deblur", ["--model=nope", "--input=setup.py"], "--model=nope: no such"),
        (
            "keras_deblur.deblur",
            ["--ensemble=3", "--input=setup.py"],
            "error: --ensemble=3: the number of symmetries to average over must be one of",
        ),
        ("keras_deblur.export", ["--preset=photo", "--ensemble=0"], "error: --ensemble=0: the"),
        (
            "keras_deblur.deblur",
            ["--server=localhost:1", "--conv_algorithm=winograd", "--input=setup.py"],
            "error: --conv_algorithm: with --server=localhost:1, TF Serving runs the model as",
        ),
        (  # each was ignored without a word
            "keras_deblur.deblur",
            ["--server=localhost:1", "--ensemble=2", "--tile_size=-3", "--input=setup.py"],
            "error: --tile_size, --ensemble: with --server=localhost:1, TF Serving runs",
        ),
        (
            "keras_deblur.deblur",
            ["--model_name=deblur", "--input=setup.py"],
            "error: --model_name names the model a --server serves; give --server too",
        ),
    ],
)
def test_a_wrong_model_is_one_error_line(module, args, message, tmp_path):
    output = {
        "keras_deblur.export": f"--export_dir={tmp_path}/e",
        "keras_deblur.evaluate": f"--output_dir={tmp_path}/o",
        "keras_deblur.deblur": f"--output_dir={tmp_path}/o",
    }
    result = run_module(module, *args, output[module])
    assert result.returncode != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
