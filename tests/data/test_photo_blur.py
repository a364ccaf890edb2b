import numpy as np

from keras_deblur.data.photo_blur import PhotoBlurConfig, render_photo_pair
from keras_deblur.metrics import psnr_uint8

STILL = dict(
    blur_length=(0.0, 0.0),
    rotation=0.0,
    zoom=0.0,
    num_objects=(0, 0),
    exposure=(1.0, 1.0),
    read_noise=(0.0, 0.0),
    shot_noise=(0.0, 0.0),
    jpeg_probability=0.0,
)


def _photo(rng, side=96):
    return rng.integers(0, 256, (side, side, 3), dtype=np.uint8)


def test_the_same_seed_gives_the_same_pair(rng):
    photo = _photo(rng)
    first = render_photo_pair(np.random.default_rng(3), photo, PhotoBlurConfig(size=48))
    again = render_photo_pair(np.random.default_rng(3), photo, PhotoBlurConfig(size=48))
    for key in ("sharp", "blur", "blur_gamma"):
        np.testing.assert_array_equal(getattr(first, key), getattr(again, key))


def test_no_motion_no_noise_gives_the_sharp_frame(rng):
    pair = render_photo_pair(
        np.random.default_rng(0), _photo(rng), PhotoBlurConfig(size=48, **STILL)
    )
    assert np.abs(pair.blur_gamma.astype(int) - pair.sharp).max() <= 1
    assert np.abs(pair.blur.astype(int) - pair.sharp).max() <= 1


def test_a_longer_shake_blurs_more(rng):
    photo = _photo(rng, 128)
    settings = {**STILL, "rotation": 0.01}
    short = PhotoBlurConfig(size=64, **{**settings, "blur_length": (0.02, 0.02)})
    long = PhotoBlurConfig(size=64, **{**settings, "blur_length": (0.15, 0.15)})
    for seed in range(3):
        a = render_photo_pair(np.random.default_rng(seed), photo, short)
        b = render_photo_pair(np.random.default_rng(seed), photo, long)
        assert psnr_uint8(b.blur_gamma, b.sharp) < psnr_uint8(a.blur_gamma, a.sharp) - 3
        assert b.num_frames > a.num_frames  # finer sampling for a longer path


def test_highlights_saturate_along_their_streak():
    # A small light four times brighter than the sensor's range, on black, moved 16 px: averaged
    # in linear light and clipped after, its streak stays white (clipped first, it would be grey).
    photo = np.zeros((96, 96, 3), np.uint8)
    photo[46:50, 46:50] = 255
    config = PhotoBlurConfig(
        size=64,
        **{**STILL, "blur_length": (0.25, 0.25), "exposure": (4.0, 4.0), "photo_scale": (1.0, 1.0)},
    )
    pair = render_photo_pair(np.random.default_rng(1), photo, config)
    assert (pair.blur_gamma.min(axis=-1) >= 250).sum() >= 16  # a white streak, not a grey one
    assert (pair.sharp.min(axis=-1) >= 250).sum() <= 36  # the light itself, still small
