"""A deeper or wider generator that starts as exactly the function of a trained one (Net2Net's
idea: Chen, Goodfellow and Shlens, ICLR 2016), so that training goes on from the trained model
instead of from noise.

Deeper: each scale gets extra ResBlocks after its last one. A ResBlock adds `conv2(relu(conv1(x)))`
to `x`, so with conv2's kernel and bias at zero it is the identity. conv1 keeps its random
initialisation, so the new blocks learn as soon as conv2 leaves zero (conv2's gradient is conv1's
activations, not zero).

Wider: every convolution gets more feature maps. The old maps keep their weights and the weights
from new maps into old ones are zero, so the old maps, and so the output, are what they were; the
new maps start from half their fresh initialisation (zero bias) and join in as training moves
those zero weights.
"""

import dataclasses

import numpy as np

from keras_deblur.models.generator import Generator


def grow(generator, spec):
    """`generator` made `spec` (deeper, wider or both) as its exact function; a ValueError if
    `spec` differs in anything else, or is shallower or narrower."""
    old = generator.spec
    if dataclasses.replace(old, num_resblocks=spec.num_resblocks, filters=spec.filters) != spec:
        raise ValueError(f"only the depth and width can grow: {old} -> {spec}")
    if spec.filters != old.filters:
        generator = widen(generator, spec.filters)
    if spec.num_resblocks != old.num_resblocks:
        generator = deepen(generator, spec.num_resblocks)
    return generator


def widen(generator, filters):
    """A `Generator` with `filters` maps per convolution whose output equals `generator`'s (same
    dtype policy; see the module's docstring)."""
    if filters < generator.spec.filters:
        raise ValueError(f"cannot widen a generator of {generator.spec.filters} maps to {filters}")
    spec = dataclasses.replace(generator.spec, filters=filters)
    wider = Generator(spec, dtype=generator.get_config()["dtype"], name=generator.name)
    trained = {layer.name: layer for layer in generator.layers if layer.weights}
    for layer in wider.layers:
        if not layer.weights:
            continue
        old_kernel, old_bias = trained.pop(layer.name).get_weights()
        kernel, bias = layer.get_weights()
        # [kh, kw, in, out] (a transposed convolution's are [kh, kw, out, in], but its 3 -> 3 maps
        # between scales never grow).
        fan_in, fan_out = old_kernel.shape[2:]
        kernel = kernel * 0.5
        kernel[:, :, :fan_in, :fan_out] = old_kernel
        kernel[:, :, fan_in:, :fan_out] = 0.0  # new maps do not reach the old ones
        bias = np.zeros_like(bias)
        bias[:fan_out] = old_bias
        layer.set_weights([kernel, bias])
    return wider


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
