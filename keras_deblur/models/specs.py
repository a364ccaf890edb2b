"""Named model variants. Variants come from this table, never from new classes.

`paper`, `paper_k2` and `paper_k1` are the rows of the paper's Table 2: each keeps 120 conv layers
in all (section 3.1), so fewer scales get more ResBlocks per scale: 3 x (2 + 2 x 19) = 2 x (2 + 2 x
29)
= 1 x (2 + 2 x 59) = 120. `tiny` is for tests: small enough to train a step in a second on a CPU.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    """Arguments of `build_generator`."""

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


GENERATOR_SPECS = {
    "paper": GeneratorSpec(),
    "paper_k2": GeneratorSpec(num_scales=2, num_resblocks=29),
    "paper_k1": GeneratorSpec(num_scales=1, num_resblocks=59),
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
