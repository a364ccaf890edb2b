import hashlib
import json

import numpy as np
import pytest

from keras_deblur.data.pairs import discover_pairs
from keras_deblur.data.scene_rendering import RENDERER_VERSION, SceneConfig, render_pair
from keras_deblur.data.scenes import render_dataset, split_sizes
from keras_deblur.errors import DataError
from keras_deblur.metrics import psnr_uint8
from tests.data.crops import is_a_crop_of

# sha256 of sharp + blur + blur_gamma bytes of pair (seed, split 0, index 0) at 48 x 48, as
# scene_rendering.RENDERER_VERSION renders them. A change here means every embedded dataset
# changes: update it only on purpose, bump RENDERER_VERSION with it, and say so in the commit.
PINNED = {
    0: "e5dcd3bc0e72bf9c59bc6346362bdc4a7b3fc5fd8e1e8ac83154cbc734b298cc",
    1: "9b6a72388e95fa5281d2483e0fac07483865227546c871c498288d5d721c1a37",
}


def _digest(pair):
    return hashlib.sha256(
        pair.sharp.tobytes() + pair.blur.tobytes() + pair.blur_gamma.tobytes()
    ).hexdigest()


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_pixels_are_pinned_per_seed(seed):
    pair = render_pair(np.random.default_rng([seed, 0, 0]), SceneConfig(size=48))
    assert _digest(pair) == PINNED[seed], (
        f"renderer version {RENDERER_VERSION} renders other pixels: if on purpose, bump "
        "scene_rendering.RENDERER_VERSION and update PINNED"
    )


def test_same_seed_same_pixels_other_seed_other_pixels():
    config = SceneConfig(size=40)
    first = render_pair(np.random.default_rng([5, 0, 3]), config)
    again = render_pair(np.random.default_rng([5, 0, 3]), config)
    other = render_pair(np.random.default_rng([6, 0, 3]), config)
    assert _digest(first) == _digest(again) != _digest(other)


def test_pair_is_blurred_and_objects_move(rng):
    pair = render_pair(np.random.default_rng([0, 0, 1]), SceneConfig(size=64))
    assert pair.sharp.shape == pair.blur.shape == pair.blur_gamma.shape == (64, 64, 3)
    assert pair.sharp.dtype == np.uint8
    assert 7 <= pair.num_frames <= 13
    assert not np.array_equal(pair.blur_gamma, pair.sharp)
    assert 0.0 < pair.object_fraction <= 1.0


def test_split_sizes():
    assert split_sizes(200, 0.3) == (140, 60)
    assert split_sizes(2, 0.0) == (1, 1)
    assert split_sizes(1, 0.3) == (1, 0)


def test_dataset_is_gopro_layout_with_summary_in_band(tmp_path):
    """20 pairs at 128 px: the acceptance figures of the defaults hold at this size too."""
    output = str(tmp_path / "scenes")
    summary = render_dataset(output, 20, seed=0, config=SceneConfig(size=128), test_fraction=0.25)
    assert summary["pairs"] == {"train": 15, "test": 5}
    assert len(discover_pairs(output, "train").pairs) == 15
    assert len(discover_pairs(output, "test", blur_key="blur_gamma").pairs) == 5
    assert 21.0 <= summary["psnr_blur_gamma_mean"] <= 28.0, summary
    assert summary["object_fraction_mean"] >= 0.10, summary
    assert json.load(open(f"{output}/scenes_summary.json"))["pairs"] == summary["pairs"]


def test_workers_do_not_change_pixels(tmp_path):
    config = SceneConfig(size=32)
    render_dataset(str(tmp_path / "one"), 3, seed=1, config=config, num_workers=1)
    render_dataset(str(tmp_path / "two"), 3, seed=1, config=config, num_workers=2)
    for name in (
        "train/scene000/sharp/000000.png",
        "train/scene000/blur/000001.png",
        "test/scene000/blur_gamma/000000.png",
    ):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_a_rerun_resumes_the_same_dataset_and_never_mixes_in_another(tmp_path):
    output, config = str(tmp_path / "scenes"), SceneConfig(size=32)
    render_dataset(output, 3, seed=0, config=config)
    pair = tmp_path / "scenes" / "train" / "scene000" / "blur" / "000001.png"
    first = pair.read_bytes()
    pair.unlink()  # as if killed while writing it
    assert render_dataset(output, 3, seed=0, config=config)["resumed_pairs"] == 2
    assert pair.read_bytes() == first

    with pytest.raises(
        DataError, match=r"other settings \(num_pairs 3 there, 4 now\).*--overwrite"
    ):
        render_dataset(output, 4, seed=0, config=config)
    assert render_dataset(output, 4, seed=0, config=config, overwrite=True)["resumed_pairs"] == 0
    # A setting an older version of the writer did not record is named, even at None now.
    settings_file = tmp_path / "scenes" / "dataset.json"
    record = json.loads(settings_file.read_text())
    # Which code wrote it is recorded, and is no reason to refuse a resume by itself.
    assert record["written_by"]["git_commit"]
    record["written_by"]["git_commit"] = "another commit"
    settings_file.write_text(json.dumps(record))
    assert render_dataset(output, 4, seed=0, config=config)["resumed_pairs"] == 4
    # Another renderer's pixels are never resumed into the folder.
    assert record["settings"]["renderer_version"] == RENDERER_VERSION
    record["settings"]["renderer_version"] = RENDERER_VERSION - 1
    settings_file.write_text(json.dumps(record))
    with pytest.raises(
        DataError,
        match=rf"renderer_version {RENDERER_VERSION - 1} there, {RENDERER_VERSION} now",
    ):
        render_dataset(output, 4, seed=0, config=config)
    record["settings"]["renderer_version"] = RENDERER_VERSION
    del record["settings"]["config"]["photo_max_blur"]
    settings_file.write_text(json.dumps(record))
    with pytest.raises(DataError, match=r"photo_max_blur not recorded there, None now"):
        render_dataset(output, 4, seed=0, config=config)

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(DataError, match="not empty and holds no dataset written by"):
        render_dataset(str(tmp_path / "mine"), 3, seed=0, config=config, overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "years of work"


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="size must be >= 16 pixels, got 8"):
        SceneConfig(size=8)
    with pytest.raises(ValueError, match="--num_pairs must be >= 1, got 0"):
        render_dataset(str(tmp_path), 0, seed=0, config=SceneConfig())
    with pytest.raises(ValueError, match="photo_max_blur must be in"):
        SceneConfig(photo_max_blur=0.7)
    for gamma in (0, -1, float("nan")):  # -1 rendered garbage pairs, 0 a ZeroDivisionError
        with pytest.raises(ValueError, match=f"gamma must be > 0, got {gamma}"):
            SceneConfig(gamma=gamma)
    with pytest.raises(ValueError, match="photo_blur_skew must be > 0, got 0"):
        SceneConfig(photo_blur_skew=0)
    with pytest.raises(ValueError, match=r"photo_num_objects must be 0 <= fewest <= most"):
        SceneConfig(photo_num_objects=(3, 1))
    with pytest.raises(ValueError, match=r"photo_object_size must be 0 < smallest"):
        SceneConfig(photo_object_size=(0.1, 0.7))
    with pytest.raises(
        ValueError, match=r"photo_camera_frames must be two integers 1 <= fewest <= most"
    ):
        SceneConfig(photo_camera_frames=(4, 4))
    with pytest.raises(ValueError, match=r"photo_optics_blur must be two numbers 0 <= low <= high"):
        SceneConfig(photo_optics_blur=(1.0, 0.5))
    with pytest.raises(ValueError, match=r"photo_blur_probability must be in \[0, 1\], got 1.5"):
        SceneConfig(photo_blur_probability=1.5)
    with pytest.raises(ValueError, match=r"--test_fraction must be in \[0, 1\), got 2"):
        render_dataset(str(tmp_path), 4, seed=0, config=SceneConfig(), test_fraction=2)
    assert list(tmp_path.iterdir()) == []  # refused before the folder records anything


def _photo_pairs(count, **config_fields):
    """`count` photo pairs rendered at 64² with these SceneConfig fields."""
    from keras_deblur.data.photo_sources import load_photos
    from keras_deblur.data.scene_mix import render_scene

    config = SceneConfig(size=64, photo_blur_probability=1.0, **config_fields)
    photos = [pixels for _, pixels in load_photos(min_side=64)]
    return [render_scene(np.random.default_rng([0, i]), config, photos) for i in range(count)]


def _mean_blurry_psnr(**config_fields):
    pairs = _photo_pairs(6, **config_fields)
    return np.mean([psnr_uint8(pair.blur, pair.sharp) for pair in pairs])


def test_photo_max_blur_lengthens_the_camera_path():
    assert _mean_blurry_psnr(photo_max_blur=0.3) < _mean_blurry_psnr(photo_max_blur=0.02) - 3


def test_photo_blur_skew_of_one_draws_longer_paths_than_a_strong_skew():
    uniform = _mean_blurry_psnr(photo_max_blur=0.3, photo_blur_skew=1.0)
    assert uniform < _mean_blurry_psnr(photo_max_blur=0.3, photo_blur_skew=8.0) - 2


def test_more_photo_objects_move_more_of_the_frame():
    def mean_moved(num_objects):
        pairs = _photo_pairs(4, photo_num_objects=num_objects, photo_object_size=(0.05, 0.1))
        return np.mean([pair.object_fraction for pair in pairs])

    assert mean_moved((0, 0)) == 0
    assert mean_moved((8, 8)) > 0.1


def test_photo_camera_frames_leave_the_sharp_target_part_of_the_blur():
    # One camera frame is the whole exposure (sharp target = blurry frame, but for the noise and
    # JPEG the blurry one gets); by default the target is one instant, far sharper than the blur.
    whole = _photo_pairs(4, photo_max_blur=0.2, photo_camera_frames=(1, 1))
    instant = _photo_pairs(4, photo_max_blur=0.2)
    whole_psnr = np.mean([psnr_uint8(pair.blur, pair.sharp) for pair in whole])
    assert whole_psnr > 36
    assert np.mean([psnr_uint8(pair.blur, pair.sharp) for pair in instant]) < whole_psnr - 6


def test_the_sharp_frame_is_the_canvas_own_pixels(monkeypatch):
    # The camera moves relative to the middle frame: a fractional offset there would make the
    # sharp target a bilinear blend of neighbouring pixels.
    from keras_deblur.data import scene_rendering

    canvases = []

    def random_canvas(rng, side, config):
        canvases.append(np.random.default_rng(7).integers(0, 256, (side, side, 3)) / 255.0)
        return canvases[-1]

    monkeypatch.setattr(scene_rendering, "_background", random_canvas)
    for seed, num_frames in enumerate((7, 8, 13)):  # odd and even: the middle frame differs
        config = SceneConfig(
            size=32, num_objects=(0, 0), min_frames=num_frames, max_frames=num_frames
        )
        pair = render_pair(np.random.default_rng([seed, 0, 0]), config)
        assert is_a_crop_of(pair.sharp, np.round(canvases[-1] * 255).astype(np.uint8))
