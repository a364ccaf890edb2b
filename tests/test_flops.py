import pytest

from keras_deblur.flops import count_flops
from keras_deblur.models import build_generator, build_generator_from_spec


def _scale_macs_per_pixel(in_channels, filters, blocks, k):
    """Multiply-accumulates per pixel of one scale: first conv, 2 convs per ResBlock, last conv."""
    return k * k * (in_channels * filters + 2 * blocks * filters * filters + filters * 3)


def test_paper_generator_flops_per_pixel():
    k = 5
    finest = _scale_macs_per_pixel(6, 64, 19, k)
    middle = _scale_macs_per_pixel(6, 64, 19, k) / 4
    coarsest = _scale_macs_per_pixel(3, 64, 19, k) / 16
    links = k * k * 3 * 3 * (1 / 16 + 1 / 4)  # each up-convolution works per input pixel
    expected = 2 * (finest + middle + coarsest + links)
    result = count_flops(build_generator_from_spec("paper"), 256, 256)
    assert result["per_pixel"] == pytest.approx(expected)
    assert result["per_pixel"] == pytest.approx(10.25e6, rel=1e-3)
    assert result["total"] == pytest.approx(expected * 256 * 256)


def test_single_scale_by_hand():
    model = build_generator(num_scales=1, num_resblocks=1, filters=4, kernel_size=3)
    result = count_flops(model, 10, 6)
    per_pixel = 2 * 9 * (3 * 4 + 2 * 4 * 4 + 4 * 3)
    assert result["total"] == per_pixel * 60
    assert len(result["by_layer"]) == 4
