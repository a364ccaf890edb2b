import numpy as np
import pytest

from keras_deblur.data.photo_blur import PhotoBlurConfig, render_photo_pair
from keras_deblur.metrics import psnr_uint8
from tests.data.crops import is_a_crop_of

STILL = dict(
    blur_length=(0.0, 0.0),
    rotation=0.0,
    zoom=0.0,
    num_objects=(0, 0),
    exposure=(1.0, 1.0),
    read_noise=(0.0, 0.0),
    shot_noise=(0.0, 0.0),
    jpeg_probability=0.0,
    optics_blur=(0.0, 0.0),
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


def _moving_dot(camera_frames):
    """A 2x2 white dot on black, shaken 16 px, split into `camera_frames` camera frames."""
    photo = np.zeros((96, 96, 3), np.uint8)
    photo[47:49, 47:49] = 255
    config = PhotoBlurConfig(
        size=64,
        camera_frames=camera_frames,
        **{**STILL, "blur_length": (0.25, 0.25), "photo_scale": (1.0, 1.0)},
    )
    return render_photo_pair(np.random.default_rng(2), photo, config)


def test_one_camera_frame_makes_the_whole_exposure_the_sharp_frame():
    pair = _moving_dot((1, 1))
    assert pair.blur.max() > 0
    assert np.abs(pair.blur.astype(int) - pair.sharp).max() <= 1


def _spread(image):
    """The root-mean-square distance of an image's brightness from its centroid, in pixels."""
    weight = image.astype(np.float64).sum(axis=-1)
    weight /= weight.sum()
    ys, xs = np.indices(weight.shape)
    centre_y, centre_x = (weight * ys).sum(), (weight * xs).sum()
    return np.sqrt((weight * ((ys - centre_y) ** 2 + (xs - centre_x) ** 2)).sum())


def test_the_sharp_frame_keeps_its_share_of_the_blur():
    # Paper section 2: the sharp frame is one 1/240 s frame of the N averaged, so it is blurred by
    # 1/N of the path: a dot's sharp image is a shorter streak the more frames there are (the dot
    # alone spreads ~1 px; the whole 16-px streak ~5 px).
    spreads = [_spread(_moving_dot((n, n)).sharp) for n in (3, 7, 15)]
    assert spreads[0] > spreads[1] > spreads[2]
    assert spreads[0] > 1.5 * spreads[2]
    assert _spread(_moving_dot((3, 3)).blur) > 2 * spreads[0]


def test_camera_frames_without_an_odd_count_are_refused():
    with pytest.raises(ValueError, match=r"camera_frames must be two integers 1 <= fewest <= most"):
        PhotoBlurConfig(camera_frames=(8, 8))


def test_the_sharp_target_is_the_photos_own_pixels(rng):
    # Sampled half a pixel off, the middle instant would be the average of 2x2 pixels: every
    # sharp target a little soft, and a model trained on them deblurs too little.
    photo = _photo(rng, 72)
    moving = {**STILL, "blur_length": (0.1, 0.1), "rotation": 0.02, "zoom": 0.02}
    for size in (47, 48):
        config = PhotoBlurConfig(size=size, **{**moving, "photo_scale": (1.0, 1.0)})
        for seed in range(3):
            pair = render_photo_pair(np.random.default_rng(seed), photo, config)
            assert is_a_crop_of(pair.sharp, photo, mirrored=True)  # photos are flipped at random


def test_camera_frames_must_be_two_integers_in_order():
    for bad in ((3, 1), (-3, 1), (3,), (2.5, 3)):
        with pytest.raises(ValueError, match=r"camera_frames must be two integers"):
            PhotoBlurConfig(camera_frames=bad)


def test_the_sharp_target_is_the_middle_camera_frame(monkeypatch, rng):
    # A camera path that stands still through the middle of 5 camera frames and jumps 1/4 of the
    # path's length per frame elsewhere: the target must be the still crop, whichever way the
    # other frames move, and the blurry frame must not be.
    frames = 5

    def path_by_frame(still):
        def fake_path(_, count):
            offsets = np.arange(count) // (count // frames) - frames // 2
            return np.stack([0.25 * offsets, 0.5 * offsets], axis=-1) * (0.0 if still else 1.0)

        return fake_path

    photo = _photo(rng, 96)
    config = PhotoBlurConfig(
        size=48,
        camera_frames=(frames, frames),
        **{**STILL, "blur_length": (0.25, 0.25), "photo_scale": (1.0, 1.0)},
    )
    pairs = {}
    for still in (True, False):
        monkeypatch.setattr("keras_deblur.data.photo_blur.smooth_path", path_by_frame(still))
        pairs[still] = render_photo_pair(np.random.default_rng(4), photo, config)
    np.testing.assert_array_equal(pairs[False].sharp, pairs[True].sharp)
    assert psnr_uint8(pairs[False].blur, pairs[True].blur) < 20


@pytest.mark.parametrize("sigma", [0.0, 1.0, 2.0])
def test_optics_blur_softens_the_sharp_frame_by_its_sigma(sigma):
    # A 2x2 dot (variance 1/4 per axis) through a Gaussian of this sigma: its mean squared
    # distance from its centre is 2 * (1/4 + sigma^2) in linear light (gamma 1 keeps it linear).
    photo = np.zeros((96, 96, 3), np.uint8)
    photo[47:49, 47:49] = 255
    config = PhotoBlurConfig(
        size=64,
        gamma=1.0,
        **{**STILL, "photo_scale": (1.0, 1.0), "optics_blur": (sigma, sigma)},
    )
    pair = render_photo_pair(np.random.default_rng(0), photo, config)
    assert _spread(pair.sharp) ** 2 == pytest.approx(2 * (0.25 + sigma**2), rel=0.1)
    np.testing.assert_array_equal(pair.blur, pair.sharp)  # no motion: the same softness


def test_optics_blur_range_is_checked():
    for bad in ((0.5, 0.2), (-1.0, 1.0), (0.0, 4.0)):
        with pytest.raises(ValueError, match=r"optics_blur must be two numbers 0 <= low <= high"):
            PhotoBlurConfig(optics_blur=bad)
