"""The authors' networks and training step in PyTorch, for the benches to time against ours and the
weight-import tests to check against.

Written here from descriptions, not copied: the generator's structure is the one the import issue
records of the authors' PyTorch code (github.com/SeungjunNah/DeepDeblur-PyTorch, MSResNet;
`importing/deepdeblur_torch.py` lists its tensor names), the discriminator is the paper's Table 1
as `models/discriminator.py` reads it, and the step does what `DeblurGAN.train_step` does: the
generator runs once, the discriminator steps on its detached output, then the generator steps on
the content loss plus lambda times the adversarial loss asked of the updated discriminator.
Their data loader builds the pyramids on CPU workers before the step, so the step takes them
ready-made.

PyTorch is a test and bench extra, never a runtime dependency: import this module only where
`bench.torch_available()` says so.
"""

import numpy as np
import torch
from torch import nn

from keras_deblur.models.discriminator import LEAKY_SLOPE
from keras_deblur.models.pyramid import gaussian_pyramid
from keras_deblur.models.specs import GENERATOR_SPECS

PAPER = GENERATOR_SPECS["paper"]
PIXEL_SCALE = 255.0  # their networks work on [0, 255], 127.5 subtracted at every scale's input


def _conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=True)


class ResBlock(nn.Module):
    def __init__(self, filters, k):
        super().__init__()
        self.body = nn.Sequential(
            _conv(filters, filters, k), nn.ReLU(True), _conv(filters, filters, k)
        )

    def forward(self, x):
        return x + self.body(x)


class ResNet(nn.Module):
    def __init__(self, cin, filters, k, blocks):
        super().__init__()
        self.body = nn.Sequential(
            _conv(cin, filters, k),
            *[ResBlock(filters, k) for _ in range(blocks)],
            _conv(filters, 3, k),
        )

    def forward(self, x):
        return self.body(x)


class ConvEnd(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.uppath = nn.Sequential(_conv(3, 12, k), nn.PixelShuffle(2))

    def forward(self, x):
        return self.uppath(x)


class MSResNet(nn.Module):
    """Their generator: takes the blurry pyramid, finest first, each [N, 3, h, w] in [0, 255], and
    returns the latent pyramid the same way. Module names are their checkpoints' tensor names.
    The default size is the paper's (`GENERATOR_SPECS["paper"]`)."""

    def __init__(
        self,
        scales=PAPER.num_scales,
        filters=PAPER.filters,
        k=PAPER.kernel_size,
        blocks=PAPER.num_resblocks,
    ):
        super().__init__()
        self.scales = scales
        self.body_models = nn.ModuleList(
            [ResNet(6, filters, k, blocks) for _ in range(scales - 1)]
            + [ResNet(3, filters, k, blocks)]
        )
        self.conv_end_models = nn.ModuleList([None] + [ConvEnd(k) for _ in range(scales - 1)])

    def forward(self, pyramid):
        pyramid = [level - 127.5 for level in pyramid]
        outputs = [None] * self.scales
        x = pyramid[-1]
        for s in range(self.scales - 1, -1, -1):
            outputs[s] = self.body_models[s](x)
            if s > 0:
                x = torch.cat((pyramid[s - 1], self.conv_end_models[s](outputs[s])), 1)
        return [output + 127.5 for output in outputs]


class Discriminator(nn.Module):
    """The paper's Table 1 (`DiscriminatorSpec`): convs with LeakyReLU, then one logit."""

    def __init__(self, spec):
        super().__init__()
        layers, cin, side = [], 3, spec.image_size
        for width, stride in zip(spec.filters, spec.strides):
            # A LeakyReLU after every conv: `models/discriminator.py` writes the last one as
            # max(x, 0.2 x) only to dodge a TensorFlow graph-rewrite bug.
            layers += [_conv(cin, width, spec.kernel_size, stride), nn.LeakyReLU(LEAKY_SLOPE, True)]
            cin, side = width, -(-side // stride)  # 'same' padding: ceil(side / stride)
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(cin * side * side, 1))

    def forward(self, images):  # [N, 3, h, w] in [0, 255]
        return self.body(images / PIXEL_SCALE - 0.5)


def pyramid_tensors(images, num_scales):
    """NHWC images in [0, 1] (numpy) -> their pyramid: NCHW tensors in [0, 255], finest first."""
    return [
        torch.from_numpy(np.ascontiguousarray(np.asarray(level).transpose(0, 3, 1, 2)))
        * PIXEL_SCALE
        for level in gaussian_pyramid(images.astype(np.float32), num_scales)
    ]


class TrainStep:
    """One DeblurGAN step in PyTorch: Adam on both networks, the paper's multi-scale MSE (eq. 4) and
    adversarial losses (eq. 5-6) with weight `adversarial_weight` (0: no discriminator), as our
    step computes them. (The authors' released trainer defaults to L1 instead, which costs the
    same.) `bf16`: the forward passes under bf16 autocast, the backward passes and updates in fp32,
    as PyTorch advises."""

    def __init__(
        self, generator, discriminator, adversarial_weight, learning_rate=1e-4, bf16=False
    ):
        self.generator, self.discriminator = generator.train(), discriminator
        self.adversarial_weight = adversarial_weight
        self.bf16 = bf16
        self.g_optimizer = torch.optim.Adam(generator.parameters(), learning_rate, eps=1e-8)
        if adversarial_weight:
            discriminator.train()
            self.d_optimizer = torch.optim.Adam(discriminator.parameters(), learning_rate, eps=1e-8)
        self.bce = nn.BCEWithLogitsLoss()

    def _autocast(self):
        return torch.autocast("cpu", torch.bfloat16, enabled=self.bf16)

    def __call__(self, blurry, sharp):
        """`blurry` and `sharp`: pyramids from `pyramid_tensors`. Returns the generator's loss."""
        with self._autocast():
            latents = [latent.float() for latent in self.generator(blurry)]
        content = sum(
            torch.mean(((latent - target) / PIXEL_SCALE) ** 2)
            for latent, target in zip(latents, sharp)
        ) / (2.0 * len(latents))
        total = content
        if self.adversarial_weight:
            with self._autocast():
                real, fake = self.discriminator(sharp[0]), self.discriminator(latents[0].detach())
            d_loss = self.bce(real.float(), torch.ones_like(real.float())) + self.bce(
                fake.float(), torch.zeros_like(fake.float())
            )
            self.d_optimizer.zero_grad()
            d_loss.backward()
            self.d_optimizer.step()
            with self._autocast():
                asked = self.discriminator(latents[0]).float()
            total = content + self.adversarial_weight * self.bce(asked, torch.ones_like(asked))
        self.g_optimizer.zero_grad()
        total.backward()
        self.g_optimizer.step()
        return total.item()
