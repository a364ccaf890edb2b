"""Importing the authors' PyTorch checkpoints, checked against a PyTorch model in their
structure."""

import io
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from keras_deblur.bench.authors_torch import MSResNet
from keras_deblur.import_weights import import_checkpoint
from keras_deblur.importing import torch_pickle
from keras_deblur.importing.deepdeblur_torch import build_imported_generator, generator_state_dict
from keras_deblur.models import build_generator
from keras_deblur.models.layers import pixel_shuffle
from keras_deblur.models.pyramid import gaussian_pyramid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _reference(scales=3, filters=8, k=5, blocks=2):  # small: the structure is what is checked
    torch.manual_seed(0)
    model = MSResNet(scales, filters, k, blocks).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(0.7)  # keeps the random network's outputs in a range like images
    return model


def _compare(model, keras_model, rng, size=(40, 56)):
    image = rng.random((1, *size, 3), dtype=np.float32)
    pyramid = [np.asarray(level) for level in gaussian_pyramid(image, model.scales)]
    with torch.no_grad():
        theirs = model([torch.from_numpy(level.transpose(0, 3, 1, 2) * 255.0) for level in pyramid])
    ours = keras_model(image)
    for level, (a, b) in enumerate(zip(theirs, ours)):
        np.testing.assert_allclose(
            np.asarray(b) * 255.0,
            a.numpy().transpose(0, 2, 3, 1),
            atol=0.05,
            err_msg=f"output scale {level}",
        )


def test_imported_generator_gives_the_authors_outputs(tmp_path, rng):
    model = _reference()
    path = str(tmp_path / "model.pt")
    torch.save({"G": model.state_dict(), "epoch": 3}, path)
    reloaded = MSResNet(3, 8, 5, 2)
    reloaded.load_state_dict(
        torch.load(path)["G"], strict=True
    )  # the file is a real checkpoint of that structure
    generator, architecture = import_checkpoint(path)
    assert architecture == {
        "num_scales": 3,
        "num_resblocks": 2,
        "filters": 8,
        "kernel_size": 5,
        "upsample": "pixel_shuffle",
    }
    _compare(model, generator, rng)


def test_pixel_shuffle_is_pytorchs_order(rng):
    x = rng.random((2, 12, 5, 7), dtype=np.float32)  # NCHW
    theirs = nn.PixelShuffle(2)(torch.from_numpy(x)).numpy().transpose(0, 2, 3, 1)
    ours = np.asarray(pixel_shuffle(x.transpose(0, 2, 3, 1), 2))
    np.testing.assert_array_equal(ours, theirs)


def test_reader_matches_torch_on_every_dtype_and_layout(tmp_path):
    tensors = {
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4),
        "transposed": torch.arange(12, dtype=torch.float64).reshape(3, 4).t(),
        "slice": torch.arange(20, dtype=torch.int64)[5:9],
        "half": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "scalar": torch.tensor(7, dtype=torch.int32),
        "flags": torch.tensor([True, False]),
    }
    torch.save({"nested": {"list": [tensors["f32"], 2]}, **tensors}, str(tmp_path / "t.pt"))
    loaded = torch_pickle.load(str(tmp_path / "t.pt"))
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.numpy().dtype and loaded[name].shape == tuple(
            tensor.shape
        )
        np.testing.assert_array_equal(loaded[name], tensor.numpy())
    np.testing.assert_array_equal(loaded["nested"]["list"][0], tensors["f32"].numpy())


def test_a_checkpoint_that_does_not_fit_lists_every_problem(tmp_path):
    state = _reference().state_dict()
    del state["body_models.1.body.2.body.0.weight"]
    state["body_models.0.body.1.body.2.bias"] = torch.zeros(5)
    state["D.extra.weight"] = torch.zeros(1)
    torch.save({"G": state}, str(tmp_path / "bad.pt"))
    with pytest.raises(ValueError) as error:
        import_checkpoint(str(tmp_path / "bad.pt"))
    message = str(error.value)
    assert "3 problems" in message
    assert "missing body_models.1.body.2.body.0.weight (8, 8, 5, 5)" in message
    assert "unexpected D.extra.weight (1,)" in message
    assert "mis-shaped body_models.0.body.1.body.2.bias: (5,), expected (8,)" in message


def test_files_that_are_not_checkpoints_are_refused(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(torch_pickle.CheckpointError, match="is not a PyTorch checkpoint"):
        torch_pickle.load(str(text))
    legacy = str(tmp_path / "legacy.pt")
    torch.save({"G": {}}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(torch_pickle.CheckpointError, match="pre-1.6 format"):
        torch_pickle.load(legacy)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "x")
    with pytest.raises(torch_pickle.CheckpointError, match="no <name>/data.pkl"):
        torch_pickle.load(str(tmp_path / "other.zip"))
    torch.save({"weights": torch.zeros(2)}, str(tmp_path / "other.pt"))
    with pytest.raises(ValueError, match="no generator state_dict"):
        generator_state_dict(torch_pickle.load(str(tmp_path / "other.pt")), "other.pt")
    with pytest.raises(FileNotFoundError, match="no such file"):
        torch_pickle.load(str(tmp_path / "missing.pt"))


def test_a_checkpoint_whose_tensor_data_is_damaged_is_refused(tmp_path):
    """A storage member failing its CRC raised zipfile.BadZipFile: a traceback."""
    path = tmp_path / "damaged.pt"
    torch.save({"w": torch.arange(64, dtype=torch.float32)}, str(path))
    data = bytearray(path.read_bytes())
    start = bytes(data).index(np.arange(64, dtype=np.float32).tobytes())  # stored, not deflated
    data[start + 8] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(torch_pickle.CheckpointError, match="damaged.pt: its archive is damaged"):
        torch_pickle.load(str(path))


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path):
    exploit = _Exploit()
    exploit.marker = str(tmp_path / "pwned")
    with zipfile.ZipFile(tmp_path / "evil.pt", "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"G": exploit}, protocol=2))
    with pytest.raises(
        torch_pickle.CheckpointError, match=r"refusing to unpickle (posix|os)\.system"
    ):
        torch_pickle.load(str(tmp_path / "evil.pt"))
    assert not (tmp_path / "pwned").exists()


def test_import_command_writes_a_keras_file_and_an_export(tmp_path):
    torch.save({"G": _reference().state_dict()}, str(tmp_path / "model.pt"))
    command = [
        sys.executable,
        "-m",
        "keras_deblur.import_weights",
        f"--torch_checkpoint={tmp_path / 'model.pt'}",
        f"--output={tmp_path / 'out' / 'generator.keras'}",
        f"--export_dir={tmp_path / 'savedmodels' / 'gopro'}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "generator.keras").exists()
    assert (tmp_path / "savedmodels" / "gopro" / "1" / "saved_model.pb").exists()
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 1 and "exists already" in again.stderr
    # An export version that exists stops the import before the .keras file is written.
    command[4] = f"--output={tmp_path / 'second.keras'}"
    taken = subprocess.run(
        [*command, "--export_version=1"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert taken.returncode == 1
    assert "gopro/1 exists already; versions are never overwritten" in taken.stderr
    assert not (tmp_path / "second.keras").exists()
    (tmp_path / "savedmodels" / "models.config").write_text("notes\n")
    unreadable = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert unreadable.returncode == 1
    assert "models.config is not a TF Serving model config" in unreadable.stderr
    assert not (tmp_path / "second.keras").exists()


@pytest.mark.slow
def test_the_paper_size_checkpoint_imports(tmp_path, rng):
    model = _reference(filters=64, blocks=19)
    torch.save({"G": model.state_dict()}, str(tmp_path / "paper.pt"))
    generator, _ = import_checkpoint(str(tmp_path / "paper.pt"))
    assert (
        generator.count_params()
        == build_generator(upsample="pixel_shuffle").count_params()
        == 11_721_321
    )
    _compare(model, generator, rng, size=(32, 48))


def test_build_imported_generator_needs_a_generator():
    with pytest.raises(ValueError, match="not a DeepDeblur MSResNet generator"):
        build_imported_generator({"other.weight": np.zeros((1,))}, "x.pt")


def _crafted(tmp_path, offset, size, stride, values=(0.0, 1.0, 2.0, 3.0)):
    """A .pt file whose one tensor views a 4-float storage with the given offset, size and
    stride."""
    import collections

    storage = np.asarray(values, np.float32)

    class _Storage:
        pass

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return (
                ("storage", torch.FloatStorage, "0", "cpu", storage.size)
                if isinstance(obj, _Storage)
                else None
            )

    class _Tensor:
        def __reduce__(self):
            return (
                torch._utils._rebuild_tensor_v2,
                (_Storage(), offset, size, stride, False, collections.OrderedDict()),
            )

    payload = io.BytesIO()
    _Pickler(payload, protocol=2).dump({"G": {"body_models.0.body.0.weight": _Tensor()}})
    path = tmp_path / "crafted.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("crafted/data.pkl", payload.getvalue())
        archive.writestr("crafted/byteorder", "little")
        archive.writestr("crafted/data/0", storage.tobytes())
    return str(path)


def test_a_well_formed_crafted_tensor_reads_back(tmp_path):
    loaded = torch_pickle.load(_crafted(tmp_path, 1, (2, 1), (2, 1)))
    np.testing.assert_array_equal(loaded["G"]["body_models.0.body.0.weight"], [[1.0], [3.0]])


@pytest.mark.parametrize(
    "offset, size, stride, message",
    [
        (0, (2, 2), (-(1 << 40), 1), "must be non-negative"),  # segfaulted the importer
        (3, (2, 3, 4, 5), (-100000, -1000, -100, -1), "must be non-negative"),  # copied heap memory
        (0, (1 << 40,), (0,), "more than the"),  # MemoryError
        (-5, (2,), (1,), "must be non-negative"),
        (0, (2, 2), (2, 2), "reaches element 4 of a storage of 4"),
        (4, (), (), "reaches element 4 of a storage of 4"),
        (0, (2, 2), (1,), "as many strides as sizes"),
    ],
)
def test_a_crafted_tensor_cannot_reach_outside_its_storage(tmp_path, offset, size, stride, message):
    # In a child process: before the fix, the first case crashed the interpreter (SIGSEGV).
    path = _crafted(tmp_path, offset, size, stride)
    code = (
        "import sys\nfrom keras_deblur.importing import torch_pickle\n"
        "try:\n    torch_pickle.load(sys.argv[1])\nexcept torch_pickle.CheckpointError as error:\n"
        "    print(error)\n    sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, path],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    )
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr[-2000:])
    assert f"--torch_checkpoint={path}: " in result.stdout and message in result.stdout


def test_non_finite_weights_are_named_in_a_warning(monkeypatch):
    from keras_deblur.importing import deepdeblur_torch

    state = {"body_models.0.body.0.weight": np.array([1.0, np.nan, np.inf], np.float32)}
    warnings = []
    monkeypatch.setattr(
        deepdeblur_torch.logging, "warning", lambda message, *args: warnings.append(message % args)
    )
    generator_state_dict({"G": state}, "w.pt")
    assert warnings == [
        "--torch_checkpoint=w.pt: body_models.0.body.0.weight holds 2 NaN or infinite values"
    ]
