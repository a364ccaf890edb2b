import numpy as np
import pytest
from PIL import Image

from keras_deblur.data.photo_sources import load_photos, packaged_photo_paths
from keras_deblur.data.scene_rendering import SceneConfig
from keras_deblur.data.scenes import render_dataset
from keras_deblur.errors import DataError


def test_packaged_photos_ship_with_the_installed_packages():
    paths = packaged_photo_paths()
    assert (
        len(paths) >= 10
        and any("astronaut" in p for p in paths)
        and any("china" in p for p in paths)
    )


def test_a_photos_folder_skips_bad_files_by_name_and_refuses_an_empty_one(tmp_path, rng):
    Image.fromarray(rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)).save(tmp_path / "good.png")
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "tiny.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("not a photo")
    photos = load_photos(str(tmp_path), min_side=64)
    assert [path.rsplit("/", 1)[1] for path, _ in photos] == ["good.png"]
    assert photos[0][1].shape == (80, 96, 3)

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no photo of at least 64 pixels"):
        load_photos(str(tmp_path / "empty"), min_side=64)
    with pytest.raises(DataError, match="is not a folder"):
        load_photos(str(tmp_path / "nowhere"))


def test_a_16_bit_photo_keeps_its_values_and_a_file_broken_after_its_start_is_skipped(
    tmp_path, rng, caplog
):
    """A 16-bit grayscale photo became pure white (PIL's convert("RGB") clips mode I;16), and a
    PNG whose damage lies past its first pixel chunk stopped the command with a traceback."""
    gray = rng.integers(0, 65536, (70, 90), dtype=np.uint16)
    Image.fromarray(gray).save(tmp_path / "gray16.png")
    Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    png = (tmp_path / "a.png").read_bytes()
    second_chunk = png.index(b"IDAT", png.index(b"IDAT") + 4)
    (tmp_path / "a.png").write_bytes(png[:second_chunk] + b"I\x01AT" + png[second_chunk + 4 :])
    (tmp_path / "clip.heic").write_bytes(b"a format this package does not read")
    photos = dict(load_photos(str(tmp_path), min_side=64))
    assert list(photos) == [str(tmp_path / "gray16.png")]
    expected = np.round(gray / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(
        photos[str(tmp_path / "gray16.png")], np.stack([expected] * 3, -1)
    )
    assert f"skipping {tmp_path}/a.png is not an image" in caplog.text
    assert "clip.heic" in caplog.text


def test_the_embedded_dataset_mixes_blurred_photos_in(tmp_path, rng):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(photos / "p.png")
    config = SceneConfig(size=48, photo_blur_probability=1.0, photos_dir=str(photos))
    summary = render_dataset(str(tmp_path / "out"), 3, seed=0, config=config)
    assert summary["pairs"] == {"train": 2, "test": 1}
    assert 10 < summary["psnr_blur_gamma_mean"] < 45
    with pytest.raises(DataError, match="no photo"):
        render_dataset(
            str(tmp_path / "other"),
            3,
            seed=0,
            config=SceneConfig(
                size=48, photo_blur_probability=0.5, photos_dir=str(tmp_path / "out")
            ),
        )
    assert not (tmp_path / "other").exists()  # refused before anything was written
