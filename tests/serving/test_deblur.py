import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_deblur.models import build_generator_from_spec
from keras_deblur.serving import saved_model
from keras_deblur.serving.client import GrpcClient, RestClient
from keras_deblur.serving.deblurrer import Deblurrer, RemoteDeblurrer
from keras_deblur.serving.tiling import deblur_tiled
from tests.commands import run_module
from tests.serving.test_image_files import _png_claiming


@pytest.fixture(scope="module")
def export_base(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("models") / "deblur")
    saved_model.export(build_generator_from_spec("tiny"), base)
    return base


@pytest.fixture
def legacy_export(export_base, monkeypatch):
    """The export as one written before its scales were saved one by one (no exact tiling)."""
    from keras_deblur.serving.scale_tiling import ScaleFunctions

    monkeypatch.setattr(ScaleFunctions, "from_loaded", classmethod(lambda cls, *args: None))
    return export_base


def test_tiles_equal_the_whole_image(export_base, rng):
    image = rng.random((301, 703, 3), dtype=np.float32)
    whole = Deblurrer(export_base, tile_size=1024).deblur(image)
    for tile_size in (37, 256):  # exact at any tile size: scale by scale, halos as wide as needed
        tiled = Deblurrer(export_base, tile_size=tile_size).deblur(image)
        np.testing.assert_allclose(tiled, whole, atol=1e-4)
    assert tiled.shape == image.shape


def test_older_exports_blend_overlapping_tiles(legacy_export, rng):
    # The tiny model sees ~45 px around a pixel; tiles ignore the outer quarter of the overlap.
    image = rng.random((300, 700, 3), dtype=np.float32)
    whole = Deblurrer(legacy_export, tile_size=1024, tile_overlap=0).deblur(image)
    tiled = Deblurrer(legacy_export, tile_size=256, tile_overlap=192, tile_batch=2).deblur(image)
    np.testing.assert_allclose(tiled, whole, atol=1e-4)


def test_an_image_within_one_batch_of_tiles_runs_whole(rng):
    image = rng.random((100, 150, 3), dtype=np.float32)
    shapes = []

    def run_batch(tiles):
        shapes.append(tiles.shape)
        return tiles

    np.testing.assert_array_equal(deblur_tiled(run_batch, image, 64, 16, 4, batch_size=4), image)
    assert shapes == [(1, 100, 152, 3)]
    shapes.clear()
    deblur_tiled(run_batch, image, 64, 16, 4, batch_size=3)  # 100 x 152 > 3 tiles of 64 x 64: tiled
    assert shapes[0] == (3, 64, 64, 3) and len(shapes) > 1


def test_uint8_in_uint8_out(export_base, rng):
    image = rng.integers(0, 256, (33, 45, 3), dtype=np.uint8)
    out = Deblurrer(export_base).deblur(image)
    assert out.dtype == np.uint8 and out.shape == image.shape


def test_bad_tiling_is_named(export_base):
    with pytest.raises(ValueError, match="--tile_size must be a positive number of pixels, got 0"):
        Deblurrer(export_base, tile_size=0)
    with pytest.raises(ValueError, match="leaves tiles smaller than the model's reach"):
        Deblurrer(export_base, memory_budget=1000)
    # --memory_budget=1e-10 (GiB) is 0 bytes: the default budget was used without a word.
    with pytest.raises(ValueError, match="--memory_budget must be positive, got 0 bytes"):
        Deblurrer(export_base, memory_budget=0)


def test_winograd_is_for_presets(export_base):
    with pytest.raises(ValueError, match="--conv_algorithm=winograd runs a preset's Keras model"):
        Deblurrer(export_base, conv_algorithm="winograd")
    with pytest.raises(ValueError, match="--conv_algorithm must be one of .*, got 'fft'"):
        Deblurrer(export_base, conv_algorithm="fft")
    assert Deblurrer(export_base, conv_algorithm="auto").conv_algorithm == "direct"


def test_a_preset_runs_in_the_precision_asked(rng):
    image = rng.random((64, 96, 3), dtype=np.float32)
    full = Deblurrer("photo_camera")
    half = Deblurrer("photo_camera", mixed_precision="mixed_bfloat16")
    assert (full.precision, half.precision) == ("float32", "mixed_bfloat16")
    difference = np.abs(half.deblur(image) - full.deblur(image))
    assert difference.max() > 0 and difference.mean() < 0.01  # bf16 maps: near, not equal


def test_an_export_runs_in_the_precision_it_was_exported_in(export_base):
    with pytest.raises(ValueError, match=r"--mixed_precision=mixed_bfloat16 applies to a Keras"):
        Deblurrer(export_base, mixed_precision="mixed_bfloat16")
    with pytest.raises(ValueError, match=r"--mixed_precision must be one of .*, got 'fp16'"):
        Deblurrer(export_base, mixed_precision="fp16")
    assert Deblurrer(export_base, mixed_precision="auto").precision == "float32"


def test_bad_tiling_of_older_exports_is_named(legacy_export):
    with pytest.raises(ValueError, match="--tile_size must be a positive multiple of 4"):
        Deblurrer(legacy_export, tile_size=250)
    with pytest.raises(ValueError, match="--tile_overlap must be a multiple of 4"):
        Deblurrer(legacy_export, tile_size=256, tile_overlap=256)
    with pytest.raises(ValueError, match="--tile_batch must be >= 1, got 0"):
        Deblurrer(legacy_export, tile_batch=0)


def _run(*args):
    return run_module("keras_deblur.deblur", *args, timeout=600)


def _write_inputs(folder, rng):
    os.makedirs(folder)
    colour = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(colour).save(os.path.join(folder, "photo.png"))
    Image.fromarray(colour[..., 0]).save(os.path.join(folder, "gray.jpg"), quality=95)
    rgba = np.concatenate([colour, np.full((40, 60, 1), 77, np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(os.path.join(folder, "alpha.png"))
    with open(os.path.join(folder, "deep.png"), "wb") as f:
        f.write(tf.io.encode_png((colour.astype(np.uint16) * 257)).numpy())
    rotated = Image.fromarray(colour)
    exif = rotated.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees clockwise to view
    rotated.save(os.path.join(folder, "turned.jpg"), exif=exif.tobytes(), quality=95)
    with open(os.path.join(folder, "broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not really")
    deep_bomb = _png_claiming(20000, 20000, bit_depth=16, colour_type=2)
    with open(os.path.join(folder, "bomb.png"), "wb") as f:
        f.write(deep_bomb)
    frames = [Image.fromarray(colour), Image.fromarray(255 - colour)]
    frames[0].save(os.path.join(folder, "moving.gif"), save_all=True, append_images=frames[1:])
    with open(os.path.join(folder, "icon.xpm"), "w") as f:  # PIL reads XPM but cannot write it
        f.write('/* XPM */\nstatic char *icon[] = {\n"2 2 2 1",\n"a c #ff0000",\n"b c #00ff00",\n')
        f.write('"ab",\n"ba"\n};\n')


def test_command_keeps_formats_and_goes_on_after_bad_files(export_base, tmp_path, rng, leftover):
    inputs, outputs = str(tmp_path / "in"), str(tmp_path / "out")
    _write_inputs(inputs, rng)
    leftover(outputs, ".photo.png")  # a killed run's half-written output
    result = _run(f"--model={export_base}", f"--input={inputs}", f"--output_dir={outputs}")
    assert result.returncode == 1
    for bad in ("broken.png", "bomb.png", "icon.xpm", "moving.gif"):  # named; the rest done
        assert f"error: {inputs}/{bad}" in result.stdout
    assert "icon.xpm is in XPM format, which deblur reads but cannot write" in result.stdout
    assert "deblurred 5 of 9 images" in result.stdout
    assert "error: 4 of 9 images failed" in result.stderr
    assert sorted(os.listdir(outputs)) == [
        "alpha.png",
        "deep.png",
        "gray.jpg",
        "photo.png",
        "turned.jpg",
    ]
    assert Image.open(os.path.join(outputs, "gray.jpg")).mode == "L"
    assert Image.open(os.path.join(outputs, "gray.jpg")).format == "JPEG"
    alpha = Image.open(os.path.join(outputs, "alpha.png"))
    assert alpha.mode == "RGBA" and np.all(np.asarray(alpha)[..., 3] == 77)
    deep = tf.io.decode_png(open(os.path.join(outputs, "deep.png"), "rb").read(), dtype=tf.uint16)
    assert deep.dtype == tf.uint16 and deep.shape == (40, 60, 3)
    turned = Image.open(os.path.join(outputs, "turned.jpg"))
    assert turned.size == (40, 60)  # upright: the EXIF rotation was applied
    assert turned.getexif().get(0x0112, 1) == 1

    again = _run(f"--model={export_base}", f"--input={inputs}/photo.png", f"--output_dir={outputs}")
    assert again.returncode == 1 and "exists (pass --overwrite to replace it)" in again.stdout


def test_command_names_bad_paths(export_base, tmp_path):
    nothing = _run(
        f"--model={export_base}", f"--input={tmp_path}/none*.png", f"--output_dir={tmp_path}/o"
    )
    assert nothing.returncode == 1 and "matches no files" in nothing.stderr
    (tmp_path / "a_file").write_text("x")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "x.png")
    unwritable = _run(
        f"--model={export_base}", f"--input={tmp_path}/x.png", f"--output_dir={tmp_path}/a_file/out"
    )
    assert (
        unwritable.returncode == 1
        and "--output_dir=" in unwritable.stderr
        and "cannot be written" in unwritable.stderr
    )
    no_versions = _run(
        f"--model={tmp_path}", f"--input={tmp_path}/x.png", f"--output_dir={tmp_path}/o"
    )
    assert (
        no_versions.returncode == 1
        and "neither a SavedModel nor a model base path" in no_versions.stderr
    )


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--memory_budget=-1", "--memory_budget must be positive GiB, got -1.0"),
        (
            "--max_megapixels=nan",
            "--max_megapixels must be positive (inf: no limit), got nan",
        ),
        ("--tile_batch=0", "--tile_batch must be 1 or more tiles, got 0"),
    ],
)
def test_command_names_a_number_it_cannot_mean_before_it_writes(tmp_path, flag, message):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "x.png")
    result = _run(f"--input={tmp_path}/x.png", f"--output_dir={tmp_path}/o", flag)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {message}"
    assert not (tmp_path / "o").exists()


def test_a_savedmodel_that_does_not_deblur_is_named(tmp_path):
    class Other(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def double(self, x):
            return {"y": 2 * x}

    module = Other()
    tf.saved_model.save(module, str(tmp_path / "other" / "1"), signatures={"double": module.double})
    with pytest.raises(ValueError, match=r"other/1 is a SavedModel but not a deblurring export"):
        Deblurrer(str(tmp_path / "other"))


def _bit_depth(png):
    return png[24]  # IHDR's bit depth


class _FakeTfServing(BaseHTTPRequestHandler):
    """TF Serving's REST predict API in front of the SavedModel, on loopback, for the client
    test."""

    model = None

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert (
            self.path == "/v1/models/deblur:predict" and body["signature_name"] == "serving_default"
        )
        images = [
            base64.b64decode(instance["images_bytes"]["b64"]) for instance in body["instances"]
        ]
        _FakeTfServing.bit_depths = [_bit_depth(image) for image in images]
        out = self.model.signatures["serving_default"](images_bytes=tf.constant(images))[
            "deblurred_bytes"
        ]
        answer = {"predictions": [{"b64": base64.b64encode(data).decode()} for data in out.numpy()]}
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_rest_client_against_a_loopback_server(export_base, rng):
    _FakeTfServing.model, _ = saved_model.load(export_base)
    server = HTTPServer(("127.0.0.1", 0), _FakeTfServing)
    thread = threading.Thread(
        target=lambda: [server.handle_request() for _ in range(2)], daemon=True
    )
    thread.start()
    try:
        remote = RemoteDeblurrer(f"127.0.0.1:{server.server_port}", "deblur")
        image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        local = Deblurrer(export_base).deblur(image)
        assert np.max(np.abs(remote.deblur(image).astype(int) - local.astype(int))) <= 1
        assert _FakeTfServing.bit_depths == [8]
        # A 16-bit image was cut to 8 bits before it was sent; it goes at 16 (the answer is 8).
        deep = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
        assert remote.deblur(deep).dtype == np.uint16
        assert _FakeTfServing.bit_depths == [16]
    finally:
        thread.join(timeout=60)
        server.server_close()


def test_an_answer_without_predictions_is_named():
    """Another server's JSON answer (a proxy's, say) was a KeyError traceback."""
    from keras_deblur.serving.client import _outputs

    for answer in ({"outputs": []}, ["a list"], {"predictions": "no list"}):
        with pytest.raises(ValueError, match="answer has no predictions .*TF Serving's REST API"):
            _outputs(answer)


def test_rest_and_grpc_requests_are_built_for_serving_default():
    body = json.loads(RestClient("h:8501", "deblur").request_body([b"\x89PNG"]))
    assert body == {
        "signature_name": "serving_default",
        "instances": [{"images_bytes": {"b64": "iVBORw=="}}],
    }
    request = GrpcClient("127.0.0.1:1", "deblur").request([b"abc", b"de"])
    assert (
        request.model_spec.name == "deblur"
        and request.model_spec.signature_name == "serving_default"
    )
    assert list(tf.make_ndarray(request.inputs["images_bytes"])) == [b"abc", b"de"]


class _Identity:
    def deblur(self, pixels):
        return pixels


def _png(path, rng):
    from keras_deblur.data import images

    os.makedirs(os.path.dirname(path), exist_ok=True)
    images.write_png(path, rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    return path


def test_an_output_folder_linked_to_the_inputs_never_replaces_them(tmp_path, rng):
    from keras_deblur.deblur import deblur_files

    source = _png(str(tmp_path / "photos" / "a.png"), rng)
    before = open(source, "rb").read()
    os.symlink(tmp_path / "photos", tmp_path / "out")
    failures = deblur_files(_Identity(), [source], str(tmp_path / "out"), overwrite=True)
    assert list(failures) == [source] and "would replace the input" in failures[source]
    assert open(source, "rb").read() == before and not os.path.islink(source)


def test_inputs_sharing_a_file_name_are_refused_before_anything_is_written(tmp_path, rng):
    from keras_deblur.deblur import deblur_files

    files = [_png(str(tmp_path / folder / "x.png"), rng) for folder in ("day1", "day2")]
    with pytest.raises(
        ValueError, match=r"day1/x.png and .*day2/x.png would both be written to .*out/x.png"
    ):
        deblur_files(_Identity(), files, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / "x.png")


def test_self_ensemble_is_equivariant_and_exports_with_it(export_base, tmp_path, rng):
    from keras_deblur.serving.ensemble import transform

    image = rng.random((40, 52, 3), dtype=np.float32)
    plain = Deblurrer(export_base).deblur(image)
    averaged = Deblurrer(export_base, ensemble=8).deblur(image)
    assert np.abs(averaged - plain).max() > 1e-3  # the random tiny model is not symmetric
    flipped = np.asarray(transform(image[None], 5))[0]  # transposed and flipped
    np.testing.assert_allclose(
        Deblurrer(export_base, ensemble=8).deblur(flipped),
        np.asarray(transform(averaged[None], 5))[0],
        atol=1e-5,
    )


def test_an_ensembled_export_gives_its_signature_pixels_where_outputs_leave_0_1(tmp_path, rng):
    from keras_deblur.models import build_generator_from_spec

    generator = build_generator_from_spec("tiny")
    last = generator.get_layer("scale1_conv_last")
    last.kernel.assign(last.kernel * 20.0)  # outputs far outside [0, 1] on many pixels
    base = str(tmp_path / "ensembled")
    saved_model.export(generator, base, ensemble=8)
    image = rng.random((40, 52, 3), dtype=np.float32)
    raw = Deblurrer(base)._deblur_float(image, clip=False)
    assert raw.min() < 0 and raw.max() > 1
    # Deblurrer clipped each of the 8 outputs before averaging; the signature clips the average.
    served = Deblurrer(base)._run_batch(image[None])[0]
    np.testing.assert_allclose(Deblurrer(base).deblur(image), served, atol=1e-5)
    # Evaluated, it was recorded as no ensemble, and --ensemble averaged it again (64 passes).
    from keras_deblur.evaluation import evaluator

    model = evaluator.exported_model(f"{base}/1")
    assert model.info["ensemble"] == 8
    with pytest.raises(ValueError, match="exported with --ensemble=8 and averages"):
        evaluator.with_ensemble(model, 2)


class _WritesTheTarget:
    """A deblurrer during whose work another process writes the output file."""

    def __init__(self, target):
        self.target = target

    def deblur(self, pixels):
        with open(self.target, "wb") as f:
            f.write(b"written meanwhile")
        return pixels


def test_an_output_that_appears_while_deblurring_is_kept(tmp_path, rng):
    from keras_deblur.deblur import deblur_files

    source = _png(str(tmp_path / "photos" / "a.png"), rng)
    target = tmp_path / "out" / "a.png"
    os.makedirs(target.parent)
    failures = deblur_files(_WritesTheTarget(target), [source], str(target.parent))
    assert "appeared while it was being deblurred; kept it" in failures[source]
    assert target.read_bytes() == b"written meanwhile"
    assert os.listdir(target.parent) == ["a.png"]  # no temporary left behind


def test_an_output_folder_it_made_is_removed_when_every_file_fails(tmp_path):
    from keras_deblur.deblur import deblur_files

    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    failures = deblur_files(_Identity(), [str(bad)], str(tmp_path / "new" / "out"))
    assert list(failures) == [str(bad)]
    assert not os.path.exists(tmp_path / "new" / "out")
    kept = tmp_path / "kept"  # a folder the user made stays, empty or not
    kept.mkdir()
    deblur_files(_Identity(), [str(bad)], str(kept))
    assert kept.is_dir()


def test_a_folders_subfolders_and_hidden_files_are_counted_not_read(tmp_path, rng, capsys):
    """They were left out without a word: a user with photos in dated subfolders got 1 of 1."""
    from keras_deblur.deblur import input_files

    _png(str(tmp_path / "photos" / "a.png"), rng)
    _png(str(tmp_path / "photos" / ".hidden.png"), rng)
    _png(str(tmp_path / "photos" / "2023" / "b.png"), rng)
    assert input_files(str(tmp_path / "photos")) == [str(tmp_path / "photos" / "a.png")]
    printed = capsys.readouterr().out
    assert f"not read in {tmp_path / 'photos'}: 2 subfolders and hidden files" in printed
