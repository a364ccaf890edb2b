"""Self-ensemble (test-time augmentation): the mean of the outputs for the 8 flips and
transpositions of the input, each output turned back first.

The 8 are the symmetries of a square (the dihedral group D4). Averaging over them is the geometric
self-ensemble of Lim et al. (EDSR, CVPRW 2017); the DeepDeblur authors' PyTorch code has it but
leaves it switched off. It costs 8 forward passes. Written with `keras.ops`, so it runs on NumPy
arrays, eagerly and inside a tf.function (the export's signatures) alike.
"""

from keras import ops

NUM_TRANSFORMS = 8


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


def self_ensemble(run, images):
    """The mean over the 8 symmetries of run(transformed images), each turned back.

    `run` maps NHWC images to one NHWC output or to a list of them (a pyramid, finest first);
    the result has the same structure.
    """
    total = None
    for index in range(NUM_TRANSFORMS):
        outputs = run(transform(images, index))
        single = not isinstance(outputs, (list, tuple))
        turned = [transform(o, index, inverse=True) for o in ([outputs] if single else outputs)]
        total = turned if total is None else [a + b for a, b in zip(total, turned)]
    mean = [t / NUM_TRANSFORMS for t in total]
    return mean[0] if single else mean
