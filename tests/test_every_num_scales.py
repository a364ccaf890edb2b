"""K = 1, 2 and 3 (the rows of the paper's Table 2) each go through train -> evaluate -> export ->
deblur."""

import dataclasses

import numpy as np
import pytest

from keras_deblur.evaluation import evaluator
from keras_deblur.evaluation.dataset import load_test_set
from keras_deblur.runs import load_generator
from keras_deblur.serving import saved_model
from keras_deblur.serving.deblurrer import Deblurrer
from keras_deblur.training.loop import train
from tests.training.conftest import tiny_config


@pytest.mark.slow
@pytest.mark.parametrize("num_scales", [1, 2, 3])
def test_train_evaluate_export_deblur(num_scales, scenes_dir, tmp_path):
    config = tiny_config(tmp_path / "run", scenes_dir, train_steps=3, adversarial_weight=1e-4)
    config = dataclasses.replace(
        config, generator=dataclasses.replace(config.generator, num_scales=num_scales)
    )
    summary = train(config)
    assert summary["step"] == 3
    # Validation scored whole images: a PSNR of one image, not of a slice of the first one.
    assert np.isfinite(summary["best"]["psnr"])

    scores = evaluator.evaluate(
        evaluator.keras_model(str(tmp_path / "run")),
        load_test_set(scenes_dir),
        str(tmp_path / "evaluation"),
        all_scales=True,
        verbose=0,
    )
    assert scores["test_set"]["num_images"] == 2
    assert scores["model"]["num_scales"] == num_scales

    generator = load_generator(str(tmp_path / "run"))
    assert generator.spec.num_scales == num_scales
    version = saved_model.export(generator, str(tmp_path / "models" / "deblur"))
    image = np.random.default_rng(0).random(
        (37, 53, 3), dtype=np.float32
    )  # odd sides: padded and cropped
    deblurred = Deblurrer(version).deblur(image)
    expected = np.clip(np.asarray(generator(image[None])[0][0]), 0.0, 1.0)
    assert deblurred.shape == image.shape
    np.testing.assert_allclose(deblurred, expected, atol=1e-5)
