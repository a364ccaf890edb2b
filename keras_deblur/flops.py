"""FLOP counter computed from a functional model's layers.

Counts 2 FLOPs per multiply-accumulate of the convolution, transposed-convolution and dense
layers (biases, activations, additions, the pyramid and padding are left out: they are a rounding
error next to the convs). The paper generator comes to about 10.25 MFLOP per output pixel.
"""

import keras

_COUNTED = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)


def _with_static_input(model, height, width):
    """The same functional graph rebuilt for one [1, height, width, C] input, so shapes are
    known."""
    config = model.get_config()
    if (
        "layers" not in config
    ):  # a model that builds its own graph from arguments (models.Generator)
        return model.__class__.from_config(
            {**config, "input_shape": (height, width, config["input_shape"][-1])}
        )
    for layer_config in config["layers"]:
        if layer_config["class_name"] == "InputLayer":
            batch_shape = layer_config["config"]["batch_shape"]
            fixed = [
                declared if declared is not None else size
                for declared, size in zip(batch_shape[1:3], (height, width))
            ]
            layer_config["config"]["batch_shape"] = [1, *fixed, batch_shape[3]]
    return model.__class__.from_config(config)


def _layer_flops(layer):
    if isinstance(layer, keras.layers.Dense):
        return 2 * layer.input.shape[-1] * layer.units
    kernel_h, kernel_w, in_channels, out_channels = layer.kernel.shape
    if isinstance(layer, keras.layers.Conv2DTranspose):
        # Every input pixel scatters a full kernel: work scales with the input, not the output.
        in_channels, out_channels = out_channels, in_channels
        _, height, width, _ = layer.input.shape
    else:
        _, height, width, _ = layer.output.shape
    return 2 * height * width * kernel_h * kernel_w * in_channels * out_channels


def count_flops(model, height, width):
    """FLOPs of one forward pass of `model` on one height x width image.

    Args:
      model: a functional Keras model with one image input.
      height, width: the image size; sides the model fixes itself are kept.

    Returns:
      A dict: `total` FLOPs, `per_pixel` (total / (height * width)), and `by_layer` {name: FLOPs}.
    """
    static = _with_static_input(model, height, width)
    by_layer = {
        layer.name: _layer_flops(layer) for layer in static.layers if isinstance(layer, _COUNTED)
    }
    total = sum(by_layer.values())
    return {"total": total, "per_pixel": total / (height * width), "by_layer": by_layer}
