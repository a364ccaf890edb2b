"""Self-ensemble (test-time augmentation): the mean of the outputs for 2, 4 or all 8 flips and
transpositions of the input, each output turned back first.

The 8 are the symmetries of a square (the dihedral group D4). Averaging over them is the geometric
self-ensemble of Lim et al. (EDSR, CVPRW 2017); the DeepDeblur authors' PyTorch code has it but
leaves it switched off. It costs one forward pass per symmetry, so fewer of them are offered too:
on the real-dev frames the shipped model gains +1.07 dB alone, +1.20 with 2, +1.22 with 4 and +1.29
with 8 (BUILD.md, "Self-ensemble of 2, 4 or 8"). Written with `keras.ops`, so it runs on NumPy
arrays, eagerly and inside a tf.function (the export's signatures) alike.
"""

from keras import ops

NUM_TRANSFORMS = 8

# The symmetries each ensemble size averages over (indices into `transform`). Each set is a group
# (closed under composition), so the averaged model is exactly symmetric under it: 2 pairs the
# input with its 180° rotation (every direction of motion reversed), 4 adds the two mirror images.
SYMMETRIES = {1: (0,), 2: (0, 3), 4: (0, 1, 2, 3), 8: tuple(range(NUM_TRANSFORMS))}


def check_size(size):
    """`size` if it is an ensemble size `SYMMETRIES` has, else a ValueError naming --ensemble."""
    if isinstance(size, bool) or size not in SYMMETRIES:
        raise ValueError(
            f"--ensemble={size}: the number of symmetries to average over must be one of "
            f"{', '.join(map(str, SYMMETRIES))} (1: no ensemble)"
        )
    return size


def recorded_size(value):
    """The ensemble size an export's metadata names: exports written before sizes recorded True
    (all 8) or False (none). (Evaluations record `ensemble_size`, evaluator.py.)"""
    if isinstance(value, bool) or value is None:
        return NUM_TRANSFORMS if value else 1
    return check_size(int(value))


def transform(images, index, inverse=False):
    """Symmetry `index` (0-7; 0 is the identity) of NHWC `images`, or its inverse.

    Bit 2 of the index transposes height and width, bit 1 flips rows, bit 0 flips columns; the
    inverse undoes them in the opposite order.
    """
    steps = [
        (index & 4, lambda x: ops.swapaxes(x, 1, 2)),
        (index & 2, lambda x: ops.flip(x, axis=1)),
        (index & 1, lambda x: ops.flip(x, axis=2)),
    ]
    for active, step in reversed(steps) if inverse else steps:
        if active:
            images = step(images)
    return images


def self_ensemble(run, images, size=NUM_TRANSFORMS):
    """The mean over `size` symmetries (`SYMMETRIES`) of run(transformed images), each turned back.

    `run` maps NHWC images to one NHWC output or to a list of them (a pyramid, finest first);
    the result has the same structure.
    """
    indices = SYMMETRIES[check_size(size)]
    total = None
    for index in indices:
        outputs = run(transform(images, index))
        single = not isinstance(outputs, (list, tuple))
        turned = [transform(o, index, inverse=True) for o in ([outputs] if single else outputs)]
        total = turned if total is None else [a + b for a, b in zip(total, turned)]
    mean = [t / len(indices) for t in total]
    return mean[0] if single else mean
