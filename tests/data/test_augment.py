import math

import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.data.augment import augment_pair
from keras_deblur.data.augment_config import AUGMENTATIONS, AugmentConfig

SEED = tf.constant([3, 4], tf.int64)


def _image(rng, height=96, width=120):
    return tf.constant(rng.random((height, width, 3)), tf.float32)


def _coordinates(height=64, width=80):
    """Channel 0 encodes the row, channel 1 the column, channel 2 a constant: positions are
    readable."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return tf.constant(np.stack([ys / height, xs / width, np.full_like(ys, 0.5)], -1))


@pytest.mark.parametrize("rotation", ["none", "right_angles", "any"])
def test_identical_inputs_stay_identical(rotation, rng):
    image = _image(rng)
    no_noise = tuple(a for a in AUGMENTATIONS if a != "noise")
    config = AugmentConfig(crop_size=32, rotation=rotation, augmentations=no_noise)
    for seed in range(5):
        blurry, sharp = augment_pair(image, image, tf.constant([seed, 1], tf.int64), config)
        np.testing.assert_array_equal(blurry.numpy(), sharp.numpy())


def test_noise_touches_only_the_blurry_image(rng):
    image = _image(rng)
    config = AugmentConfig(crop_size=32, rotation="none", augmentations=("noise",))
    differences = []
    for seed in range(8):
        blurry, sharp = augment_pair(image, image, tf.constant([seed, 0], tf.int64), config)
        differences.append(float(tf.math.reduce_std(blurry - sharp)))
    assert max(differences) > 0
    assert max(differences) < 5 * 2 / 255  # sigma is |N(0, (2/255)^2)|: a few 2/255 at most


def test_same_seed_same_crop_other_seed_other_crop(rng):
    blurry, sharp = _image(rng), _image(rng)
    config = AugmentConfig(crop_size=32)
    first = augment_pair(blurry, sharp, SEED, config)
    again = augment_pair(blurry, sharp, SEED, config)
    other = augment_pair(blurry, sharp, tf.constant([3, 5], tf.int64), config)
    np.testing.assert_array_equal(first[0].numpy(), again[0].numpy())
    np.testing.assert_array_equal(first[1].numpy(), again[1].numpy())
    assert not np.array_equal(first[0].numpy(), other[0].numpy())


def test_eager_and_tf_data_agree(rng):
    blurry, sharp = _image(rng), _image(rng)
    config = AugmentConfig(crop_size=32)
    eager = augment_pair(blurry, sharp, SEED, config)
    ds = tf.data.Dataset.from_tensors((blurry, sharp, SEED)).map(
        lambda b, s, seed: augment_pair(b, s, seed, config)
    )
    in_graph = next(iter(ds))
    np.testing.assert_allclose(eager[0].numpy(), in_graph[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(eager[1].numpy(), in_graph[1].numpy(), atol=1e-6)
    assert in_graph[0].shape == (32, 32, 3)


def test_lists_in_the_config_work_as_tuples(rng):
    image = _image(rng)
    as_lists = AugmentConfig(crop_size=32, augmentations=["flip_vertical", "saturation"])
    as_tuples = AugmentConfig(crop_size=32, augmentations=("flip_vertical", "saturation"))
    np.testing.assert_array_equal(
        augment_pair(image, image, SEED, as_lists)[0].numpy(),
        augment_pair(image, image, SEED, as_tuples)[0].numpy(),
    )


def test_everything_off_is_a_plain_crop():
    image = _coordinates()
    config = AugmentConfig(crop_size=16, rotation="none", augmentations=())
    blurry, _ = augment_pair(image, image, SEED, config)
    top, left = round(float(blurry[0, 0, 0]) * 64), round(float(blurry[0, 0, 1]) * 80)
    np.testing.assert_array_equal(blurry.numpy(), image[top : top + 16, left : left + 16].numpy())


def test_any_angle_shows_no_padded_border():
    ones = tf.ones((80, 80, 3))
    config = AugmentConfig(crop_size=48, rotation="any", augmentations=())
    assert config.window_size == math.ceil(48 * math.sqrt(2)) + 2
    for seed in range(10):
        blurry, _ = augment_pair(ones, ones, tf.constant([seed, 9], tf.int64), config)
        np.testing.assert_allclose(blurry.numpy(), 1.0, atol=1e-5)


@pytest.mark.parametrize("crop_size", [64, 48, 33])
def test_any_angle_at_right_angles_moves_whole_pixels_of_a_texture(crop_size, rng):
    # On texture (an all-ones image cannot tell): at 0 and 90 degrees the rotated crop must be the
    # window's centre crop exactly, not a resampled (softened) one.
    from keras_deblur.data.augment import _rotate_and_crop

    window_size = AugmentConfig(crop_size=crop_size, rotation="any").window_size
    window = rng.random((window_size, window_size, 6), dtype=np.float32)
    margin = (window_size - crop_size) // 2
    centre = window[margin : margin + crop_size, margin : margin + crop_size]
    straight = _rotate_and_crop(tf.constant(window), tf.constant(0.0), crop_size).numpy()
    np.testing.assert_allclose(straight, centre, atol=1e-5)
    quarter = _rotate_and_crop(tf.constant(window), tf.constant(math.pi / 2), crop_size).numpy()
    assert any(np.allclose(quarter, np.rot90(centre, k), atol=1e-5) for k in (1, 3))


def test_right_angles_keep_every_pixel_value():
    image = _coordinates(32, 32)
    config = AugmentConfig(crop_size=32, rotation="right_angles", augmentations=())
    rotated = {
        augment_pair(image, image, tf.constant([s, 0], tf.int64), config)[0].numpy().tobytes()
        for s in range(12)
    }
    expected = {np.rot90(image.numpy(), k).tobytes() for k in range(4)}
    assert rotated <= expected and len(rotated) > 1


def test_channel_permutation_and_saturation():
    colour = tf.constant(np.broadcast_to([0.2, 0.5, 0.9], (20, 20, 3)), tf.float32)
    config = AugmentConfig(crop_size=8, rotation="none", augmentations=("channel_permutation",))
    permuted = {
        tuple(
            np.round(
                augment_pair(colour, colour, tf.constant([s, 2], tf.int64), config)[0][
                    0, 0
                ].numpy(),
                4,
            )
        )
        for s in range(20)
    }
    assert all(sorted(p) == [0.2, 0.5, 0.9] for p in permuted) and len(permuted) > 1

    grey = tf.fill((20, 20, 3), 0.4)
    config = AugmentConfig(crop_size=8, rotation="none", augmentations=("saturation",))
    saturated, _ = augment_pair(grey, grey, SEED, config)
    np.testing.assert_allclose(saturated.numpy(), 0.4, atol=1e-6)  # no colour to scale
    changed, _ = augment_pair(colour, colour, SEED, config)
    assert not np.allclose(changed.numpy(), colour[:8, :8].numpy())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rotation": "diagonal"}, "--rotation must be one of .* got 'diagonal'"),
        ({"augmentations": ("flip", "noise")}, r"--augmentations has unknown names \['flip'\]"),
        ({"crop_size": 0}, "--crop_size must be >= 1, got 0"),
    ],
)
def test_bad_config_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**kwargs)


# Three values of the noise table, pinned when it was made (NumPy's RandomState stream is frozen).
PINNED_TABLE_VALUES = [0.06536904, 2.1692076, -0.029746236]


def test_noise_is_standard_normal_and_differs_per_crop():
    from keras_deblur.data.augment import _noise_table, _noise_window

    draws = [_noise_window(tf.constant([s, 4], tf.int64), 64) for s in range(40)]
    crops = [window.numpy() for window, _ in draws]
    values = np.concatenate([c.ravel() for c in crops])
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1.0) < 0.02
    assert len({c.tobytes() for c in crops}) == 40
    assert {int(orientation) for _, orientation in draws} == set(range(8))
    again, _ = _noise_window(tf.constant([3, 4], tf.int64), 64)
    np.testing.assert_array_equal(crops[3], again.numpy())
    # The table is part of the augmentation's definition: the same values on every machine.
    np.testing.assert_allclose(
        _noise_table().numpy()[[0, 511, 1023], [0, 700, 1023], [0, 1, 2]],
        PINNED_TABLE_VALUES,
        rtol=1e-6,
    )
    big, orientation = _noise_window(tf.constant([1, 4], tf.int64), 1100)  # past the table
    assert big.shape == (1100, 1100, 3) and abs(big.numpy().std() - 1.0) < 0.01
    assert int(orientation) == 0


@pytest.mark.parametrize("quarter_turns", range(4))
def test_orient_is_rot90_then_flips(quarter_turns, rng):
    from keras_deblur.data.augment import _orient

    image = rng.integers(0, 65536, (5, 5, 3)).astype(np.uint16)
    for flip_horizontal in (False, True):
        for flip_vertical in (False, True):
            expected = np.rot90(image, quarter_turns)
            expected = expected[:, ::-1] if flip_horizontal else expected
            expected = expected[::-1] if flip_vertical else expected
            oriented = _orient(
                tf.constant(image),
                tf.constant(quarter_turns),
                tf.constant(flip_horizontal),
                tf.constant(flip_vertical),
            )
            np.testing.assert_array_equal(oriented.numpy(), expected)


def test_saturation_is_adjust_saturation(rng):
    from keras_deblur.data.augment import _scale_saturation

    colours = rng.random((4000, 3), dtype=np.float32)
    colours[:4] = [[0, 0, 0], [0.3, 0.3, 0.3], [1, 0, 0], [0.2, 0.2, 0.9]]  # black, grey, pure
    colours = tf.constant(colours[:, None])
    for factor in (0.0, 0.5, 0.93, 1.0, 1.5, 4.0):
        np.testing.assert_allclose(
            _scale_saturation(colours, tf.constant(factor)).numpy(),
            tf.image.adjust_saturation(colours, factor).numpy(),
            atol=1e-6,
        )
