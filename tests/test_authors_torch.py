"""The authors' PyTorch networks and step that the benches time ours against
(`bench/authors_torch.py`): they must compute what ours compute, or the ratios compare different
work."""

import copy
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

    # With lambda > 0 the loss adds lambda x the adversarial loss of the updated discriminator,
    # which a generator copy in the same state lets us compute.
    state = copy.deepcopy(generator.state_dict())
    with_gan = authors_torch.TrainStep(generator, discriminator, adversarial_weight=0.5)
    pyramids = [authors_torch.pyramid_tensors(x, 3) for x in (blurry, sharp)]
    before = [p.detach().clone() for p in discriminator.parameters()]
    total = with_gan(*pyramids)
    assert any(not torch.equal(a, b) for a, b in zip(before, discriminator.parameters()))
    twin = authors_torch.MSResNet(scales=3, filters=8, k=5, blocks=2)
    twin.load_state_dict(state)
    with torch.no_grad():
        latents = twin(pyramids[0])
        asked = discriminator(latents[0])
        mse = sum(torch.mean(((a - b) / 255.0) ** 2) for a, b in zip(latents, pyramids[1])) / 6.0
        adversarial = torch.nn.functional.binary_cross_entropy_with_logits(
            asked, torch.ones_like(asked)
        )
    np.testing.assert_allclose(total, float(mse + 0.5 * adversarial), rtol=1e-4)
