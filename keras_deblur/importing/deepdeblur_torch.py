"""The authors' PyTorch DeepDeblur generator state_dict -> our `pixel_shuffle` generator.

Facts from the authors' PyTorch code (github.com/SeungjunNah/DeepDeblur-PyTorch, MSResNet), as the
import issue records them: scale index s = 0 is the finest (our scale s + 1);
`body_models.{s}.body.0` is the first conv (6 input channels, 3 at the coarsest scale),
`body_models.{s}.body.{i}.body.{0,2}` for i = 1..R are ResBlock i's two convs (index 1 is the
ReLU), `body_models.{s}.body.{R+1}` is the last conv, and `conv_end_models.{s}.uppath.0`
(s = 1..K-1) is the 3 -> 12 conv before PixelShuffle(2) that links scale s up to scale s - 1.
Weights are OIHW; Keras wants HWIO, so each kernel is transposed (2, 3, 1, 0). Our PixelShuffle
uses PyTorch's channel order, so the link conv's output channels stay as they are.

Their network works on [0, 255] with 127.5 subtracted at every scale's input and added back at
every output; ours on [0, 1] with 0.5. Every layer is linear or a ReLU (positively homogeneous), so
with every bias divided by 255 our network computes theirs divided by 255, exactly.
"""

import re

import numpy as np
from absl import logging

from keras_deblur.importing.torch_pickle import CheckpointError
from keras_deblur.models.generator import build_generator

PIXEL_SCALE = 255.0
_BODY = re.compile(r"body_models\.(\d+)\.body\.(\d+)\.(weight|bias)$")
_RESBLOCK = re.compile(r"body_models\.(\d+)\.body\.(\d+)\.body\.([02])\.(weight|bias)$")
_LINK = re.compile(r"conv_end_models\.(\d+)\.uppath\.0\.(weight|bias)$")


def _warn_non_finite(state, path):
    """A warning per tensor holding NaN or infinite values: they import, but deblur nothing."""
    for name, value in state.items():
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            logging.warning(
                "--torch_checkpoint=%s: %s holds %d NaN or infinite values",
                path,
                name,
                int(np.size(value) - np.count_nonzero(np.isfinite(value))),
            )
    return state


def generator_state_dict(checkpoint, path):
    """The generator's tensors: `checkpoint["G"]` (the authors' format) or a bare state_dict."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("G"), dict):
        return _warn_non_finite(checkpoint["G"], path)
    if isinstance(checkpoint, dict) and any(str(k).startswith("body_models.") for k in checkpoint):
        return _warn_non_finite(checkpoint, path)
    keys = (
        sorted(map(str, checkpoint)) if isinstance(checkpoint, dict) else type(checkpoint).__name__
    )
    raise CheckpointError(
        f"--torch_checkpoint={path}: no generator state_dict: expected a dict with key 'G' "
        f"holding body_models.* tensors, found {keys}"
    )


def infer_architecture(state, path):
    """(num_scales, num_resblocks, filters, kernel_size) read off the tensor names and shapes."""
    scales = {int(m.group(1)) for m in map(_BODY.match, state) if m} | {
        int(m.group(1)) for m in map(_RESBLOCK.match, state) if m
    }
    blocks = [int(m.group(2)) for m in map(_RESBLOCK.match, state) if m]
    first = state.get("body_models.0.body.0.weight")
    if not scales or not blocks or first is None or np.ndim(first) != 4:
        raise CheckpointError(
            f"--torch_checkpoint={path}: not a DeepDeblur MSResNet generator "
            "(no body_models.0.body.0.weight or no ResBlocks)"
        )
    filters, _, kernel_size, _ = first.shape
    return max(scales) + 1, max(blocks), int(filters), int(kernel_size)


def _expected(num_scales, num_resblocks, filters, kernel_size):
    """{torch name: (Keras layer name, torch shape)} for every tensor the generator needs."""
    k = kernel_size
    expected = {}

    def conv(torch_prefix, layer, out_channels, in_channels):
        expected[f"{torch_prefix}.weight"] = (layer, "kernel", (out_channels, in_channels, k, k))
        expected[f"{torch_prefix}.bias"] = (layer, "bias", (out_channels,))

    for s in range(num_scales):
        ours = f"scale{s + 1}"
        conv(
            f"body_models.{s}.body.0",
            f"{ours}_conv_first",
            filters,
            3 if s == num_scales - 1 else 6,
        )
        for i in range(1, num_resblocks + 1):
            for index, which in ((0, "conv1"), (2, "conv2")):
                conv(
                    f"body_models.{s}.body.{i}.body.{index}",
                    f"{ours}_resblock{i:02d}_{which}",
                    filters,
                    filters,
                )
        conv(f"body_models.{s}.body.{num_resblocks + 1}", f"{ours}_conv_last", 3, filters)
        if s > 0:
            conv(f"conv_end_models.{s}.uppath.0", f"link{s + 1}to{s}_conv", 12, 3)
    return expected


def build_imported_generator(state, path):
    """A Keras `pixel_shuffle` generator holding the checkpoint's weights (biases / 255).

    Every missing, unexpected or mis-shaped tensor is listed in one CheckpointError.
    """
    num_scales, num_resblocks, filters, kernel_size = infer_architecture(state, path)
    expected = _expected(num_scales, num_resblocks, filters, kernel_size)
    problems = [
        f"missing {name} {shape}" for name, (_, _, shape) in expected.items() if name not in state
    ]
    problems += [
        f"unexpected {name} {tuple(np.shape(state[name]))}"
        for name in state
        if name not in expected
    ]
    problems += [
        f"mis-shaped {name}: {tuple(np.shape(state[name]))}, expected {shape}"
        for name, (_, _, shape) in expected.items()
        if name in state and tuple(np.shape(state[name])) != shape
    ]
    if problems:
        raise CheckpointError(
            f"--torch_checkpoint={path} does not fit a K={num_scales}, {num_resblocks}-ResBlock, "
            f"{filters}-map, "
            f"{kernel_size}x{kernel_size} DeepDeblur generator ({len(problems)} problems):\n  "
            + "\n  ".join(problems)
        )

    generator = build_generator(
        num_scales=num_scales,
        num_resblocks=num_resblocks,
        filters=filters,
        kernel_size=kernel_size,
        upsample="pixel_shuffle",
    )
    for name, (layer_name, kind, _) in expected.items():
        if kind == "bias":
            continue
        layer = generator.get_layer(layer_name)
        kernel = np.transpose(np.asarray(state[name], np.float32), (2, 3, 1, 0))  # OIHW -> HWIO
        bias = np.asarray(state[name[: -len("weight")] + "bias"], np.float32) / PIXEL_SCALE
        layer.set_weights([kernel, bias])
    return generator, {
        "num_scales": num_scales,
        "num_resblocks": num_resblocks,
        "filters": filters,
        "kernel_size": kernel_size,
        "upsample": "pixel_shuffle",
    }
