import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_deblur import metrics
from keras_deblur.models import build_generator_from_spec
from keras_deblur.serving import saved_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    generator = build_generator_from_spec("tiny")
    base = str(tmp_path_factory.mktemp("savedmodels") / "deblur")
    path = saved_model.export(generator, base, metadata={"note": "test"})
    return generator, base, path


def _keras_output(generator, images):
    return np.clip(generator(images)[0].numpy(), 0, 1)


@pytest.mark.parametrize("size", [(37, 53), (64, 96)])
def test_float_signature_matches_keras(exported, size, rng):
    generator, base, _ = exported
    model, metadata = saved_model.load(base)
    images = rng.random((2, *size, 3), dtype=np.float32)
    served = model.signatures["deblur_float"](images=tf.constant(images))["deblurred"].numpy()
    np.testing.assert_allclose(served, _keras_output(generator, images), atol=1e-5)
    assert metadata["num_scales"] == 3 and metadata["note"] == "test"


@pytest.mark.parametrize("size", [(37, 53), (64, 96)])
def test_encoded_signature_gives_the_quantised_png(exported, size, rng):
    generator, base, _ = exported
    model, _ = saved_model.load(base)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    png = tf.io.encode_png(image).numpy()
    out = model.signatures["serving_default"](images_bytes=tf.constant([png, png]))[
        "deblurred_bytes"
    ].numpy()
    decoded = tf.io.decode_png(out[0]).numpy()
    expected = metrics.quantize(_keras_output(generator, image[None].astype(np.float32) / 255))[
        0
    ].numpy()
    # The same quantisation; a value within float error of a rounding boundary may land one level
    # apart (seen once in a full run on a busy machine: 1 of 5,883 values): oneDNN's kernels for a
    # batch of 2 and for 1 add in different orders.
    difference = np.abs(decoded.astype(int) - np.round(expected * 255).astype(int))
    assert difference.max() <= 1 and np.mean(difference > 0) < 1e-3
    assert out[0] == out[1]


def test_saved_model_cli_lists_both_signatures(exported):
    _, _, path = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run(
        [cli, "show", "--dir", path, "--all"], capture_output=True, text=True, timeout=300
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "signature_def['serving_default']" in shown.stdout
    assert "signature_def['deblur_float']" in shown.stdout
    assert "deblurred_bytes" in shown.stdout and "images_bytes" in shown.stdout


def test_warmup_requests_parse_and_run(exported):
    from tensorflow_serving.apis import prediction_log_pb2

    _, base, path = exported
    model, _ = saved_model.load(base)
    logs = [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(
            os.path.join(path, "assets.extra", saved_model.WARMUP_FILE)
        )
    ]
    assert {log.predict_log.request.model_spec.signature_name for log in logs} == {
        "serving_default",
        "deblur_float",
    }
    for log in logs:
        request = log.predict_log.request
        inputs = {key: tf.constant(tf.make_ndarray(value)) for key, value in request.inputs.items()}
        outputs = model.signatures[request.model_spec.signature_name](**inputs)
        assert all(value.shape[0] == 1 for value in outputs.values())


def test_second_export_is_version_2_and_leaves_1_intact(exported, tmp_path, leftover):
    generator, _, _ = exported
    base = str(tmp_path / "deblur")
    first = saved_model.export(generator, base)
    before = open(os.path.join(first, "saved_model.pb"), "rb").read()
    leftover(base, ".2")  # an export killed midway
    second = saved_model.export(generator, base)
    assert (first, second) == (f"{base}/1", f"{base}/2")
    assert open(os.path.join(first, "saved_model.pb"), "rb").read() == before
    assert sorted(os.listdir(base)) == ["1", "2"]
    with pytest.raises(
        FileExistsError, match=r"deblur/2 exists already; versions are never overwritten"
    ):
        saved_model.export(generator, base, version=2)
    assert 'name: "deblur"' in open(tmp_path / "models.config").read()
    # A version given as the base path: the export went to deblur/1/1, registered as model "1".
    with pytest.raises(
        ValueError, match=f"is a version of an export .* give the model's base path, {base}$"
    ):
        saved_model.export(generator, first)
    assert sorted(os.listdir(first)) == sorted(os.listdir(second))
    assert not os.path.exists(os.path.join(base, "models.config"))


def test_an_export_keeps_the_other_entries_of_models_config(exported, tmp_path):
    generator, _, _ = exported
    mine = 'model_config_list {\n  config { name: "other" base_path: "/data/other" }\n}\n'
    (tmp_path / "models.config").write_text(mine)
    saved_model.export(generator, str(tmp_path / "deblur"))
    saved_model.export(generator, str(tmp_path / "deblur"))
    config = _models_config(tmp_path)
    entries = [(entry.name, entry.base_path) for entry in config.model_config_list.config]
    assert entries == [("other", "/data/other"), ("deblur", "/models/deblur")]
    # A model folder deleted since: its entry goes at the next export; the user's stays.
    shutil.rmtree(tmp_path / "deblur")
    saved_model.export(generator, str(tmp_path / "second"))
    config = _models_config(tmp_path)
    entries = [(entry.name, entry.base_path) for entry in config.model_config_list.config]
    assert entries == [("other", "/data/other"), ("second", "/models/second")]


def test_a_models_config_that_does_not_parse_stops_the_export_before_it_writes(exported, tmp_path):
    generator, _, _ = exported
    (tmp_path / "models.config").write_text("my notes, not a config\n")
    with pytest.raises(ValueError, match=r"models.config is not a TF Serving model config"):
        saved_model.export(generator, str(tmp_path / "deblur"))
    assert sorted(os.listdir(tmp_path)) == ["models.config"]
    assert (tmp_path / "models.config").read_text() == "my notes, not a config\n"


def _models_config(folder):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    text = (folder / "models.config").read_text()
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_an_export_that_finishes_second_is_refused_and_leaves_nothing(
    exported, tmp_path, monkeypatch
):
    generator, _, _ = exported
    base = str(tmp_path / "deblur")
    save = tf.saved_model.save

    def another_export_finishes_first(module, path, **kwargs):
        save(module, path, **kwargs)
        os.makedirs(os.path.join(base, "1"))

    monkeypatch.setattr(tf.saved_model, "save", another_export_finishes_first)
    with pytest.raises(FileExistsError, match="deblur/1 was written by another export meanwhile"):
        saved_model.export(generator, base)
    assert os.listdir(base) == ["1"]


def test_bytes_that_are_not_an_image_are_refused(exported):
    _, base, _ = exported
    model, _ = saved_model.load(base)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        model.signatures["serving_default"](images_bytes=tf.constant([b"not an image"]))


def test_base_path_without_versions_is_named(tmp_path):
    os.makedirs(tmp_path / "empty")
    with pytest.raises(
        FileNotFoundError, match=r"empty is neither a SavedModel nor a model base path"
    ):
        saved_model.load(str(tmp_path / "empty"))
    os.makedirs(tmp_path / "broken" / "1")
    open(tmp_path / "broken" / "1" / "saved_model.pb", "wb").write(b"garbage")
    with pytest.raises(ValueError, match=r"cannot load the SavedModel .*broken/1"):
        saved_model.load(str(tmp_path / "broken"))
