import numpy as np
import pytest
from keras import ops

from keras_deblur.models import pyramid


def _reference_blur(image):
    """scipy.ndimage.gaussian_filter(sigma=2/3, mode='reflect', truncate=4) on H and W, in NumPy."""
    taps = pyramid.gaussian_kernel_1d()
    radius = len(taps) // 2
    for axis in (0, 1):
        pad = [(0, 0)] * image.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(image, pad, mode="symmetric")  # scipy's "reflect" is NumPy's "symmetric".
        size = image.shape[axis]
        image = sum(
            tap * np.take(padded, np.arange(offset, offset + size), axis=axis)
            for offset, tap in enumerate(taps)
        )
    return image


def _reference_bilinear_resize(image, out_h, out_w):
    """Bilinear resize with half-pixel centres (skimage `resize(order=1)`, TF `resize`), in
    NumPy."""

    def coordinates(out_size, in_size):
        src = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
        src = np.clip(src, 0, in_size - 1)
        low = np.floor(src).astype(int)
        high = np.minimum(low + 1, in_size - 1)
        return low, high, src - low

    y0, y1, fy = coordinates(out_h, image.shape[0])
    x0, x1, fx = coordinates(out_w, image.shape[1])
    rows = image[y0] * (1 - fy)[:, None, None] + image[y1] * fy[:, None, None]
    return rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]


def _reference_pyramid(image, num_scales):
    levels = [image]
    for _ in range(num_scales - 1):
        blurred = _reference_blur(levels[-1])
        levels.append(
            _reference_bilinear_resize(blurred, blurred.shape[0] // 2, blurred.shape[1] // 2)
        )
    return levels


def test_kernel_is_the_scipy_gaussian():
    taps = pyramid.gaussian_kernel_1d()
    assert len(taps) == 7  # radius int(4 * 2/3 + 0.5) = 3
    np.testing.assert_allclose(taps.sum(), 1.0)
    np.testing.assert_allclose(taps, taps[::-1])
    np.testing.assert_allclose(taps[3] / taps[4], np.exp(0.5 / (2 / 3) ** 2))


def test_pyramid_matches_numpy_reference(rng):
    images = rng.random((2, 32, 48, 3)).astype(np.float32)
    levels = pyramid.gaussian_pyramid(ops.convert_to_tensor(images), 3)
    assert [tuple(level.shape) for level in levels] == [
        (2, 32, 48, 3),
        (2, 16, 24, 3),
        (2, 8, 12, 3),
    ]
    for n in range(2):
        expected = _reference_pyramid(images[n].astype(np.float64), 3)
        for got, want in zip(levels, expected):
            np.testing.assert_allclose(ops.convert_to_numpy(got)[n], want, atol=1e-5)


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 3), (45, 67)])
def test_constant_image_stays_constant(size):
    images = np.full((1, *size, 3), 0.3, dtype=np.float32)
    for level in pyramid.gaussian_pyramid(ops.convert_to_tensor(images), 3):
        np.testing.assert_allclose(ops.convert_to_numpy(level), 0.3, atol=1e-6)


@pytest.mark.parametrize(
    "size, expected",
    [
        (1, [0, 0, 0, 0, 0, 0, 0]),
        # scipy "reflect" on [a b]: ... b a | a b | b a a b ... for positions -3 .. 4.
        (2, [1, 1, 0, 0, 1, 1, 0, 0]),
        (7, np.pad(np.arange(7), 3, mode="symmetric")),
    ],
)
def test_symmetric_indices_work_below_the_radius(size, expected):
    got = ops.convert_to_numpy(pyramid.symmetric_indices(size, 3))
    np.testing.assert_array_equal(got, expected)


def test_level_sizes_are_ceiled():
    images = np.zeros((1, 45, 67, 3), np.float32)
    shapes = [
        tuple(level.shape) for level in pyramid.gaussian_pyramid(ops.convert_to_tensor(images), 3)
    ]
    assert shapes == [(1, 45, 67, 3), (1, 23, 34, 3), (1, 12, 17, 3)]


def test_num_scales_must_be_positive():
    with pytest.raises(ValueError, match="num_scales must be >= 1, got 0"):
        pyramid.gaussian_pyramid(ops.zeros((1, 4, 4, 3)), 0)
