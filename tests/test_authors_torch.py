"""The authors' PyTorch networks and step that the benches time ours against
(`bench/authors_torch.py`): they must compute what ours compute, or the ratios compare different
work."""

import dataclasses

import numpy as np
import pytest
import torch

from keras_deblur import losses
from keras_deblur.bench import authors_torch
from keras_deblur.import_weights import import_checkpoint
from keras_deblur.models import build_discriminator_from_spec
from keras_deblur.models.specs import DISCRIMINATOR_SPECS


@pytest.mark.parametrize("spec_name, image_size", [("paper", 256), ("tiny", 32), ("tiny", 48)])
def test_discriminator_has_ours_parameters(spec_name, image_size):
    spec = dataclasses.replace(DISCRIMINATOR_SPECS[spec_name], image_size=image_size)
    theirs = authors_torch.Discriminator(spec)
    ours = build_discriminator_from_spec(spec_name, image_size=image_size)
    assert sum(p.numel() for p in theirs.parameters()) == ours.count_params()
    logits = theirs(torch.rand(2, 3, image_size, image_size) * 255.0)
    assert tuple(logits.shape) == (2, 1)


def test_step_loss_is_ours_on_the_same_weights(tmp_path, rng):
    torch.manual_seed(0)
    generator = authors_torch.MSResNet(scales=3, filters=8, k=5, blocks=2)
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.mul_(0.7)  # outputs in a range like images
    path = str(tmp_path / "model.pt")
    torch.save({"G": generator.state_dict()}, path)
    ours, _ = import_checkpoint(path)
    blurry, sharp = (rng.random((2, 32, 32, 3), dtype=np.float32) for _ in range(2))

    expected = float(np.mean(losses.multiscale_mse(sharp, ours(blurry))))
    discriminator = authors_torch.Discriminator(DISCRIMINATOR_SPECS["tiny"])
    step = authors_torch.TrainStep(generator, discriminator, adversarial_weight=0.0)
    first = step(*(authors_torch.pyramid_tensors(x, 3) for x in (blurry, sharp)))
    np.testing.assert_allclose(first, expected, rtol=1e-4)

    with_gan = authors_torch.TrainStep(generator, discriminator, adversarial_weight=1e-4)
    pyramids = [authors_torch.pyramid_tensors(x, 3) for x in (blurry, sharp)]
    before = [p.detach().clone() for p in discriminator.parameters()]
    second = with_gan(*pyramids)
    assert np.isfinite(second) and second != first
    assert any(
        not torch.equal(a, b) for a, b in zip(before, discriminator.parameters())
    )  # the discriminator stepped
