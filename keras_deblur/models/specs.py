"""Named model variants. Variants come from this table, never from new classes.

`paper`, `paper_k2` and `paper_k1` are the rows of the paper's Table 2: each keeps 120 conv layers
in all (section 3.1), so fewer scales get more ResBlocks per scale: 3 x (2 + 2 x 19) = 2 x (2 + 2 x
29)
= 1 x (2 + 2 x 59) = 120. `tiny` is for tests: small enough to train a step in a second on a CPU.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    """The generator's architecture (`Generator`); the defaults are the paper's.

    num_scales: K, the number of pyramid levels (the paper uses 3).
    num_resblocks: ResBlocks per scale (19 in the paper, so each scale has 40 convs).
    filters: feature maps of every conv inside a scale (64).
    kernel_size: side of every conv kernel, odd (5).
    upsample: the link between scales: "conv_transpose" (the paper's up-convolution, 5x5 stride 2,
      3 -> 3 channels) or "pixel_shuffle" (a 3 -> 12 conv then depth-to-space x2 in PyTorch's
      channel order, as in the authors' released code).
    global_residual: if True, every scale adds its output to its own blurry input, so an untrained
      network starts at the identity instead of at noise. NOT the paper's network (its scales
      output the image itself); it is what lets a small model beat the blurry input within
      minutes on a CPU (BUILD.md, the `small` preset). Adds no weights.
    """

    num_scales: int = 3
    num_resblocks: int = 19
    filters: int = 64
    kernel_size: int = 5
    upsample: str = "conv_transpose"
    global_residual: bool = False


@dataclasses.dataclass(frozen=True)
class DiscriminatorSpec:
    """Arguments of `build_discriminator`."""

    filters: tuple = (32, 64, 64, 128, 128, 256, 256, 512, 512, 1024)
    strides: tuple = (2, 1, 2, 1, 2, 1, 4, 1, 4, 2)
    kernel_size: int = 5
    image_size: int = 256


_PHOTO = GeneratorSpec(
    num_scales=3, num_resblocks=6, filters=32, kernel_size=5, global_residual=True
)
GENERATOR_SPECS = {
    "paper": GeneratorSpec(),
    "paper_k2": GeneratorSpec(num_scales=2, num_resblocks=29),
    "paper_k1": GeneratorSpec(num_scales=1, num_resblocks=59),
    # The main job's network (small.flags) until it fine-tuned the shipped `photo` instead: 3
    # ResBlocks of 32 maps per scale, output added to the input (`from_preset("small",
    # load_weights=False)` builds it untrained).
    "small": GeneratorSpec(
        num_scales=3, num_resblocks=3, filters=32, kernel_size=3, global_residual=True
    ),
    # The models the package ships (presets.py): trained on motion blur synthesised from photos;
    # sized to deblur a 1280x720 photo in a few seconds on 2 CPU cores (BUILD.md). `photo` is the
    # 32-map model of its first stages widened to 48 maps, then to the paper's 64 (models/grow.py),
    # and trained on at each width; `photo_camera` kept 32 maps and learnt the blur a camera's
    # sensor integrates too.
    "photo": dataclasses.replace(_PHOTO, filters=64),
    "photo_camera": _PHOTO,
    "tiny": GeneratorSpec(num_scales=3, num_resblocks=1, filters=8, kernel_size=3),
}

DISCRIMINATOR_SPECS = {
    "paper": DiscriminatorSpec(),
    "tiny": DiscriminatorSpec(
        filters=(4, 8, 8, 8, 8, 16, 16, 16, 16, 32), kernel_size=3, image_size=32
    ),
}


def _lookup(table, name, kind):
    if name not in table:
        raise ValueError(f"unknown {kind} spec {name!r}; known specs: {sorted(table)}")
    return table[name]


def generator_spec(name):
    """The `GeneratorSpec` called `name`; a ValueError lists the known names otherwise."""
    return _lookup(GENERATOR_SPECS, name, "generator")


def discriminator_spec(name):
    """The `DiscriminatorSpec` called `name`; a ValueError lists the known names otherwise."""
    return _lookup(DISCRIMINATOR_SPECS, name, "discriminator")
