"""tools/train_on_jax.py: training on the JAX backend from pairs rendered in memory (BUILD.md,
"Stage 7")."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.commands import ROOT


@pytest.fixture
def tool(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "tools"))
    import train_on_jax

    return train_on_jax


@pytest.mark.parametrize("factor", [0.5, 0.9, 1.5])
def test_saturation_is_tensorflows(tool, rng, factor):
    import jax.numpy as jnp
    import tensorflow as tf

    image = rng.random((16, 16, 3)).astype(np.float32)
    image[0, 0] = 0.4  # grey: no hue to scale
    image[0, 1] = 0.0  # black
    ours = np.asarray(tool._saturate(jnp.asarray(image), factor))
    np.testing.assert_allclose(ours, tf.image.adjust_saturation(image, factor).numpy(), atol=1e-5)


def test_augmentation_keeps_the_pair_aligned_and_noises_the_blurry_crop_alone(tool, rng):
    import jax

    from keras_deblur.data.augment_config import AugmentConfig

    image = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    noiseless = AugmentConfig(crop_size=16, augmentations=AugmentConfig().augmentations[:-1])
    crops = [tool.augment(jax.random.key(k), image, image, noiseless) for k in range(6)]
    for blurry, sharp in crops:
        assert blurry.shape == (16, 16, 3)
        np.testing.assert_array_equal(np.asarray(blurry), np.asarray(sharp))
    assert len({float(blurry.sum()) for blurry, _ in crops}) > 1  # crops differ by key
    blurry, sharp = tool.augment(jax.random.key(1), image, image, AugmentConfig(crop_size=16))
    assert 0 < np.abs(np.asarray(blurry) - np.asarray(sharp)).max() < 0.1
    np.testing.assert_array_equal(np.asarray(sharp), np.asarray(crops[1][1]))  # noise: blurry only


def test_rendered_pairs_are_the_embedded_datasets(tool, tmp_path):
    from PIL import Image

    from keras_deblur.data.pairs import discover_pairs
    from keras_deblur.data.scene_rendering import SceneConfig
    from keras_deblur.data.scenes import render_dataset

    # Seed 1: both pairs are photo pairs, so the packed photos' order is checked too.
    render_dataset(str(tmp_path / "scenes"), 2, seed=1, config=SceneConfig(), test_fraction=0.5)
    tool.pack("", str(tmp_path / "photos.npz"))
    for split in ("train", "test"):
        blurry, sharp = tool.render_pairs(str(tmp_path / "photos.npz"), 1, split, 1, workers=1)
        (pair,) = discover_pairs(str(tmp_path / "scenes"), split, "blur").pairs
        np.testing.assert_array_equal(blurry[0], np.asarray(Image.open(pair.blurry)))
        np.testing.assert_array_equal(sharp[0], np.asarray(Image.open(pair.sharp)))


def test_training_writes_weights_the_preset_loads(tmp_path):
    from keras_deblur.models import presets

    photos, out = tmp_path / "photos.npz", tmp_path / "out"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    tool = [sys.executable, "tools/train_on_jax.py"]
    for command in (
        ["pack", f"--output={photos}"],
        # photo_camera: the smaller shipped preset, for speed
        ["train", f"--photos={photos}", f"--output_dir={out}", "--preset=photo_camera"]
        + ["--num_train=3", "--num_test=2", "--workers=1", "--batch_size=2", "--crop_size=32"]
        + ["--train_steps=3", "--decay_step=2", "--log_every=1", "--validate_every=3"],
    ):
        result = subprocess.run(
            tool + command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
        )
        assert result.returncode == 0, result.stderr
    curve = json.loads((out / "curve.json").read_text())
    assert [entry["step"] for entry in curve["log"]] == [0, 1, 2, 3]
    rates = [entry["learning_rate"] for entry in curve["log"][1:]]
    np.testing.assert_allclose(rates, [1e-4, 1e-4, 1e-5], rtol=1e-6)  # a tenth after 2 updates
    assert "validation_psnr" in curve["log"][-1] and curve["steps"] == 3
    shipped = presets.load("photo_camera").get_weights()
    trained = presets.load("photo_camera", load_weights=False)
    trained.load_weights(str(out / "generator.weights.h5"))
    before_decay = presets.load("photo_camera", load_weights=False)
    before_decay.load_weights(str(out / "before_decay.weights.h5"))
    moved = [not np.array_equal(a, b) for a, b in zip(trained.get_weights(), shipped)]
    assert all(moved)  # every weight trained, from the preset's (within float16's rounding)
    assert max(np.abs(a - b).max() for a, b in zip(trained.get_weights(), shipped)) < 0.05
    for other in (trained.get_weights(), shipped):
        assert any(not np.array_equal(a, b) for a, b in zip(other, before_decay.get_weights()))
