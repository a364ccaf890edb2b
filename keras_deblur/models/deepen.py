"""A deeper generator that starts as exactly the function of a trained one (Net2DeeperNet's idea:
Chen, Goodfellow and Shlens, ICLR 2016).

Each scale gets extra ResBlocks after its last one. A ResBlock adds `conv2(relu(conv1(x)))` to
`x`, so with conv2's kernel and bias at zero it is the identity: the deeper model's output equals
the trained model's, and training goes on from there instead of from noise. conv1 keeps its random
initialisation, so the new blocks learn as soon as conv2 leaves zero (conv2's gradient is conv1's
activations, not zero).
"""

import dataclasses

import numpy as np

from keras_deblur.models.generator import Generator


def deepen(generator, num_resblocks):
    """A `Generator` with `num_resblocks` ResBlocks per scale whose output equals `generator`'s.

    Every layer of `generator` gives its weights to the layer of the same name; the new blocks
    (numbered after the existing ones) start as identities. Same dtype policy.
    """
    old_count = generator.spec.num_resblocks
    if num_resblocks < old_count:
        raise ValueError(
            f"cannot deepen a generator of {old_count} ResBlocks per scale to {num_resblocks}"
        )
    spec = dataclasses.replace(generator.spec, num_resblocks=num_resblocks)
    deeper = Generator(spec, dtype=generator.get_config()["dtype"], name=generator.name)
    new_blocks = {
        f"scale{scale}_resblock{index:02d}_conv{conv}"
        for scale in range(1, spec.num_scales + 1)
        for index in range(old_count + 1, num_resblocks + 1)
        for conv in (1, 2)
    }
    trained = {layer.name: layer for layer in generator.layers if layer.weights}
    for layer in deeper.layers:
        if layer.name in trained:
            layer.set_weights(trained.pop(layer.name).get_weights())
        elif layer.name.endswith("_conv2") and layer.name in new_blocks:
            layer.set_weights([np.zeros(w.shape, w.dtype) for w in layer.get_weights()])
        elif layer.weights and layer.name not in new_blocks:
            raise ValueError(f"the deeper generator's layer {layer.name} has no trained weights")
    if trained:  # every trained weight must land somewhere, or the output would change
        raise ValueError(f"layers with no place in the deeper generator: {sorted(trained)}")
    return deeper
