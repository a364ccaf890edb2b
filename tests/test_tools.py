"""The scripts under tools/ as BUILD.md runs them."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.commands import ROOT


def _tool(script, *args):
    return subprocess.run(
        [sys.executable, f"tools/{script}", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_gain_by_blur_length_prints_a_gain_per_bucket():
    result = _tool("gain_by_blur_length.py", "--size=48", "--pairs=1", "--buckets=1-2,6-8")
    assert result.returncode == 0, result.stderr
    lines = re.findall(r"camera path (\S+) px at 48²: gain ([+-]\d+\.\d\d) dB", result.stdout)
    assert [bucket for bucket, _ in lines] == ["1-2", "6-8"], result.stdout


def test_wiener_with_the_fitted_kernel_undoes_a_known_blur(rng, monkeypatch):
    import scipy.ndimage

    monkeypatch.syspath_prepend(os.path.join(ROOT, "tools"))
    from gain_by_blur_length import wiener_deblur

    sharp = scipy.ndimage.gaussian_filter(rng.uniform(0, 255, (96, 96, 3)), (1.5, 1.5, 0))
    kernel = np.zeros((9, 9, 1))
    kernel[4, :, 0] = 1 / 9  # a 9-pixel horizontal streak
    blur = scipy.ndimage.convolve(sharp, kernel, mode="wrap")
    sharp, blur = (np.clip(np.round(x), 0, 255).astype(np.uint8) for x in (sharp, blur))
    inside = (slice(12, -12),) * 2

    def psnr(x):
        error = np.mean((x[inside].astype(float) - sharp[inside]) ** 2)
        return 10 * np.log10(255**2 / error)

    assert psnr(wiener_deblur(blur, sharp, (0.01,))[0.01]) > psnr(blur) + 3


def test_gain_by_blur_length_prints_the_wiener_ceiling():
    result = _tool("gain_by_blur_length.py", "--size=64", "--pairs=1", "--buckets=3-5", "--wiener")
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"camera path 3-5 px at 64²: gain [+-]\d+\.\d\d dB .*; Wiener with the true kernel "
        r"[+-]\d+\.\d\d dB \(NSR [\d.]+\)",
        result.stdout,
    ), result.stdout


def test_gain_by_blur_length_names_a_bad_bucket():
    result = _tool("gain_by_blur_length.py", "--buckets=4-15,long")
    assert result.returncode == 2
    assert "error: --buckets: 'long' is not LOW-HIGH pixels" in result.stderr
    assert "Traceback" not in result.stderr


needs_dpkg_deb = pytest.mark.skipif(
    shutil.which("dpkg-deb") is None, reason="reads .debs with Debian's dpkg-deb"
)


def _fake_debs(folder, monkeypatch, leave_out=None):
    """The four wallpaper packages as .debs holding a small JPEG at each path the tool reads
    (except `leave_out`); the first photo is 1600 pixels wide, to be resized."""
    from PIL import Image

    monkeypatch.syspath_prepend(f"{ROOT}/tools")
    import wallpaper_photos

    for index, ((package, prefix), members) in enumerate(wallpaper_photos.PHOTOS.items()):
        tree = folder / package
        (tree / "DEBIAN").mkdir(parents=True)
        (tree / "DEBIAN" / "control").write_text(
            f"Package: {package}\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\n"
            "Description: test\n"
        )
        for number, member in enumerate(members):
            if member == leave_out:
                continue
            path = tree / prefix / member
            path.parent.mkdir(parents=True, exist_ok=True)
            width = 1600 if index == number == 0 else 64
            Image.new("RGB", (width, 48), (number * 9, 80, 120)).save(path)
        deb = str(folder / f"{package}_1_all.deb")
        build = ["dpkg-deb", "--build", "--root-owner-group", str(tree), deb]
        subprocess.run(build, check=True, capture_output=True)


def _wallpaper_photos(tmp_path, debs):
    return _tool("wallpaper_photos.py", f"--debs_dir={debs}", f"--output_dir={tmp_path}/out")


@needs_dpkg_deb
def test_wallpaper_photos_extracts_resizes_and_holds_six_out(tmp_path, monkeypatch):
    from PIL import Image

    _fake_debs(tmp_path / "debs", monkeypatch)
    result = _wallpaper_photos(tmp_path, tmp_path / "debs")
    assert result.returncode == 0, result.stderr
    train = sorted(p.name for p in (tmp_path / "out" / "train").iterdir())
    held_out = sorted(p.name for p in (tmp_path / "out" / "heldout").iterdir())
    assert len(train) == 25 and len(held_out) == 6
    assert "plasma-workspace-wallpapers__EveningGlow.png" in held_out  # named by its folder
    first = tmp_path / "out" / "train" / "lomiri-wallpapers-16.04__Bridge_by_Sander_Klootwijk.png"
    assert Image.open(first).size == (1280, 38)  # long side to 1280, aspect kept
    assert Image.open(tmp_path / "out" / "train" / train[-1]).size == (64, 48)  # never enlarged


def test_wallpaper_photos_names_a_missing_package(tmp_path):
    result = _wallpaper_photos(tmp_path, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"error: --debs_dir={tmp_path}: expected one lomiri-wallpapers-16.04_*.deb" in (
        result.stderr
    )
    assert not (tmp_path / "out").exists()


@needs_dpkg_deb
def test_wallpaper_photos_names_a_missing_photo_and_writes_nothing(tmp_path, monkeypatch):
    _fake_debs(tmp_path / "debs", monkeypatch, leave_out="Storm.jpg")  # in the third package
    result = _wallpaper_photos(tmp_path, tmp_path / "debs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mate-backgrounds_1_all.deb: no ./usr/share/backgrounds/mate/nature/Storm.jpg" in (
        result.stderr
    )
    assert not (tmp_path / "out").exists()  # the first two packages' photos neither


def test_error_bands_add_up_to_the_mse_and_place_a_wave_in_its_ring(monkeypatch):
    monkeypatch.syspath_prepend(f"{ROOT}/tools")
    import error_by_frequency as tool

    rng = np.random.default_rng(0)
    noise = rng.normal(size=(30, 44, 3))
    np.testing.assert_allclose(tool.band_mse(noise).sum(), np.mean(noise**2), rtol=1e-12)
    # 0.25 cycles per pixel along x, nothing along y: all of its power in the 0.2-0.3 ring.
    wave = np.cos(2 * np.pi * 0.25 * np.arange(48))[None, :, None] * np.ones((32, 48, 3))
    bands = tool.band_mse(wave)
    ring = tool.BAND_EDGES.index(0.2)
    np.testing.assert_allclose(bands[ring], np.mean(wave**2))
    np.testing.assert_allclose(np.delete(bands, ring), 0, atol=1e-20)


def test_error_by_frequency_prints_the_bands_of_a_gopro_tree(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    blurry_mse = []
    for sequence in ("a", "b"):
        sharp = rng.integers(0, 256, (36, 52, 3), dtype=np.uint8)
        blurry = np.clip(sharp.astype(int) + rng.integers(-9, 10, sharp.shape), 0, 255)
        blurry_mse.append(np.mean((blurry - sharp.astype(float)) ** 2))
        for key, image in (("sharp", sharp), ("blur", blurry.astype(np.uint8))):
            (tmp_path / "test" / sequence / key).mkdir(parents=True)
            Image.fromarray(image).save(tmp_path / "test" / sequence / key / "000000.png")
    result = _tool("error_by_frequency.py", f"--data_dir={tmp_path}", "--model=photo")
    assert result.returncode == 0, result.stderr
    assert f"2 pairs of {tmp_path}/test (blur)" in result.stdout
    assert "error_by_frequency: 2/2 pairs" in result.stderr  # progress, off the table's stream
    total = re.search(r"^all\s+\S+\s+(\S+)\s+\S+\s+\S+%", result.stdout, re.MULTILINE)
    assert total and float(total.group(1)) == pytest.approx(np.mean(blurry_mse), abs=0.05)
    assert len(re.findall(r"^\d[\d.]*-[\d.]+\s", result.stdout, re.MULTILINE)) == 6


def test_error_by_frequency_names_a_missing_tree(tmp_path):
    result = _tool("error_by_frequency.py", f"--data_dir={tmp_path}/none")
    assert result.returncode == 2
    assert f"error: --data_dir: {tmp_path}/none/test does not exist" in result.stderr
    assert "Traceback" not in result.stderr
