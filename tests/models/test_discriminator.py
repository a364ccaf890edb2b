import keras
import numpy as np
import pytest

from keras_deblur.models import build_discriminator, build_discriminator_from_spec

# Table 1 of the paper: (maps, stride) per conv, and the side each leaves of a 256 x 256 input.
TABLE_1 = [
    (32, 2),
    (64, 1),
    (64, 2),
    (128, 1),
    (128, 2),
    (256, 1),
    (256, 4),
    (512, 1),
    (512, 4),
    (1024, 2),
]


def test_every_layer_shape_for_256_input():
    model = build_discriminator()
    side, in_maps, expected_params = 256, 3, 0
    for index, (maps, stride) in enumerate(TABLE_1, start=1):
        side //= stride
        conv = model.get_layer(f"conv{index:02d}")
        assert tuple(conv.output.shape) == (None, side, side, maps), conv.name
        assert tuple(conv.kernel.shape) == (5, 5, in_maps, maps), conv.name
        assert tuple(model.get_layer(f"lrelu{index:02d}").output.shape) == (None, side, side, maps)
        expected_params += 25 * in_maps * maps + maps
        in_maps = maps
    assert side == 1
    assert tuple(model.get_layer("flatten").output.shape) == (None, 1024)
    assert tuple(model.get_layer("fc").output.shape) == (None, 1)
    assert model.count_params() == expected_params + 1024 + 1


def test_leaky_relu_slope_is_the_authors():
    model = build_discriminator_from_spec("tiny")
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(layers) == 9
    assert all(layer.negative_slope == pytest.approx(0.2) for layer in layers)
    # The tenth is max(x, 0.2 x) (see discriminator.py on TensorFlow's remapper).
    assert isinstance(model.get_layer("lrelu10"), keras.layers.Maximum)
    assert model.get_layer("lrelu10_slope").scale == pytest.approx(0.2)


def test_tiny_forward_gives_one_logit_per_image(rng):
    model = build_discriminator_from_spec("tiny")
    logits = model(rng.random((2, 32, 32, 3)).astype(np.float32))
    assert tuple(logits.shape) == (2, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": (32, 64), "strides": (2,)}, "same length"),
        ({"strides": (2, 1, 2, 1, 2, 1, 4, 1, 4, 0)}, "strides must be a positive integer, got 0"),
        ({"kernel_size": 6}, "kernel_size must be odd .* got 6"),
        ({"image_size": 0}, "image_size must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_discriminator(**kwargs)
