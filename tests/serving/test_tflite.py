"""TFLite files: the Keras model's pixels for each weight kind at any size, and the commands that
write and score them."""

import json
import os
import weakref

import numpy as np
import pytest

from keras_deblur.models import build_generator_from_spec, presets
from keras_deblur.serving import tflite
from tests.commands import run_module


@pytest.fixture(scope="module")
def generator():
    # 32 maps: kernels of 9,216 weights; the converter leaves tensors under 1,024 in float32.
    return build_generator_from_spec("tiny", num_scales=2, filters=32)


@pytest.fixture(scope="module")
def files(generator):
    return {weights: tflite.convert(generator, weights) for weights in tflite.WEIGHTS}


# float16 and int8 store rounded weights: their outputs move by about the rounding.
@pytest.mark.parametrize(
    "weights, tolerance", [("float32", 1e-5), ("float16", 2e-3), ("int8", 0.1)]
)
def test_each_weight_kind_gives_the_keras_output_at_any_size(
    generator, files, weights, tolerance, rng
):
    interpreter = tflite.Interpreter(files[weights])
    for size in [(37, 53), (64, 96), (37, 53)]:  # odd sizes are padded inside; back to the first
        image = rng.random((1, *size, 3), dtype=np.float32)
        output = interpreter(image)
        expected = np.clip(generator(image)[0].numpy(), 0.0, 1.0)
        assert output.shape == image.shape
        np.testing.assert_allclose(output, expected, atol=tolerance)


def test_rounded_weights_make_smaller_files(files):
    assert len(files["float16"]) < 0.6 * len(files["float32"])
    assert len(files["int8"]) < 0.4 * len(files["float32"])


def test_write_never_replaces_a_file_unless_asked(tmp_path, files):
    path = str(tmp_path / "deblur.tflite")
    tflite.write(files["float32"], path)
    with pytest.raises(FileExistsError, match="--overwrite"):
        tflite.write(files["int8"], path)
    assert open(path, "rb").read() == files["float32"]
    tflite.write(files["int8"], path, overwrite=True)
    assert open(path, "rb").read() == files["int8"]
    assert os.listdir(tmp_path) == ["deblur.tflite"]
    # --overwrite replaced any file: --tflite_file=<the .keras model being exported> replaced it.
    model = tmp_path / "generator.keras"
    model.write_bytes(b"PK\x03\x04 a Keras model")
    with pytest.raises(ValueError, match="holds something other than a TFLite model"):
        tflite.write(files["int8"], str(model), overwrite=True)
    assert model.read_bytes() == b"PK\x03\x04 a Keras model"


def test_a_file_that_is_not_tflite_is_named(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_text("not a model")
    with pytest.raises(ValueError, match=f"{path} is not a TFLite model"):
        tflite.Interpreter(str(path))


def test_export_the_shipped_model_then_evaluate_the_file(tmp_path, scenes_dir):
    path = tmp_path / "photo.tflite"
    args = ("--preset=photo", f"--tflite_file={path}", "--tflite_weights=float16")
    result = run_module("keras_deblur.export_tflite", *args)
    assert result.returncode == 0, result.stderr
    megabytes = float(result.stdout.split(f"exported {path}: ")[1].split()[0])
    parameters = presets.load("photo", load_weights=False).count_params()
    assert megabytes == pytest.approx(parameters * 2 / 1e6, rel=0.05)  # 2 bytes a weight
    assert "float16 weights" in result.stdout
    difference = float(result.stdout.split("256x256 photo: ")[1].split()[0])
    assert difference < 2e-3

    written = path.read_bytes()
    result = run_module("keras_deblur.export_tflite", *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: --tflite_file={path} exists already; --overwrite replaces it"
    )
    assert path.read_bytes() == written
    result = run_module(
        "keras_deblur.export_tflite", "--preset=photo", f"--tflite_file={tmp_path}", "--overwrite"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: --tflite_file={tmp_path} is a folder; name the .tflite file to write"
    )

    result = run_module(
        "keras_deblur.evaluate",
        f"--tflite_file={path}",
        f"--data_dir={scenes_dir}",
        "--blur_key=blur",
        f"--output_dir={tmp_path / 'eval'}",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["model"]["kind"] == "tflite" and metrics["num_images"] == 2


def test_bench_section_keeps_one_interpreter_alive_at_a_time(generator, monkeypatch):
    # An interpreter holds every activation of its frame (6.7 GB for the 64-map shipped model at
    # 1280x720): the section's three at once were killed for memory on a 24 GB machine.
    from keras_deblur.bench import BenchConfig
    from keras_deblur.bench import tflite as bench_tflite

    alive, counts = weakref.WeakSet(), []

    class CountedInterpreter(tflite.Interpreter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            alive.add(self)
            counts.append(len(alive))

    monkeypatch.setattr(tflite, "Interpreter", CountedInterpreter)
    monkeypatch.setattr(presets, "load_shipped", lambda name: generator)
    monkeypatch.setattr(bench_tflite, "HEIGHT", 24)
    monkeypatch.setattr(bench_tflite, "WIDTH", 40)
    rows = {row.name: row.value for row in bench_tflite.run(BenchConfig(quick=True))}
    assert counts == [1] * len(tflite.WEIGHTS)
    assert rows["keras fp32 40x24"] > 0
    for kind in tflite.WEIGHTS:
        assert rows[f"{kind} vs keras"] > 0 and rows[f"{kind} file size"] > 0
    assert rows["float32 max abs diff from keras"] < 1e-5
