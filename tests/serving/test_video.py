"""Videos through `deblur`: frame by frame into a video of the same size, frame rate and audio;
bad videos named; nothing half-written."""

import os
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from keras_deblur import metrics
from keras_deblur.deblur import deblur_files
from keras_deblur.serving.deblurrer import Deblurrer


def _make_video(path, size="64x48", rate="30000/1001", seconds=0.4, audio=True, pix_fmt="yuv420p"):
    """A test pattern (moving, in colour) with a 440 Hz tone, made by imageio-ffmpeg's ffmpeg.
    (yuv444p: odd sides are possible; the `testsrc2` pattern rounds them to even, `testsrc` not.)"""
    pattern = "testsrc2" if pix_fmt == "yuv420p" else "testsrc"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi"]
    command += ["-i", f"{pattern}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    command += ["-c:v", "libx264", "-pix_fmt", pix_fmt, "-crf", "10", str(path)]
    subprocess.run(command, check=True)
    return str(path)


def _frames(path):
    reader = imageio_ffmpeg.read_frames(path)
    meta = reader.send(None)
    width, height = meta["size"]
    frames = [np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader]
    return meta, frames


class _Unchanged:
    def deblur(self, frame):
        return frame


class _Negative:
    """Turns every frame into its negative: a change no video coding could pass off as the input,
    whatever the shipped model's weights do to a sharp test pattern."""

    def deblur(self, frame):
        return 255 - frame


def test_colours_are_written_as_bt709_and_tagged_so(tmp_path):
    """Written with BT.601's matrix and no tags, which players take for BT.709 in HD video: red
    (255, 0, 0) was shown as about (255, 24, 0)."""
    source = str(tmp_path / "red.mp4")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi"]
    command += ["-i", "color=c=red:size=64x48:rate=10:duration=0.3", "-c:v", "libx264"]
    command += ["-pix_fmt", "yuv420p", "-crf", "0", source]
    subprocess.run(command, check=True)
    assert deblur_files(_Unchanged(), [source], str(tmp_path / "out")) == {}
    target = str(tmp_path / "out" / "red.mp4")
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", target], capture_output=True, text=True
    )
    assert "yuv420p(tv, bt709, progressive)" in probe.stderr, probe.stderr
    # Decoded by its tags, as a player does: red, up to limited range and H.264's rounding.
    _, frames = _frames(target)
    assert np.abs(frames[0][24, 32].astype(int) - [255, 0, 0]).max() <= 6, frames[0][24, 32]


@pytest.fixture(scope="module")
def deblurrer():
    return Deblurrer("photo")


def test_a_video_keeps_its_size_rate_frames_and_audio(tmp_path, capsys):
    source = _make_video(tmp_path / "clip.mp4")
    deblurrer = _Negative()
    failures = deblur_files(deblurrer, [source], str(tmp_path / "out"))
    assert failures == {}
    target = str(tmp_path / "out" / "clip.mp4")
    meta_in, frames_in = _frames(source)
    meta_out, frames_out = _frames(target)
    assert meta_out["size"] == meta_in["size"] == (64, 48)
    assert meta_out["fps"] == pytest.approx(30000 / 1001, abs=0.005)
    assert len(frames_out) == len(frames_in) == 12
    assert meta_out.get("audio_codec") == "aac"
    # Each frame is the deblurrer's output for the input frame, up to H.264's coding (its yuv420p
    # halves the colour resolution, which costs most on this sharp, saturated pattern).
    for frame_in, frame_out in zip(frames_in, frames_out):
        to_deblurred = metrics.psnr_uint8(frame_out, deblurrer.deblur(frame_in))
        assert to_deblurred > 30 and to_deblurred > metrics.psnr_uint8(frame_out, frame_in) + 2
    assert "64x48, 12 frames at 29.97 fps deblurred in" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "out")) == ["clip.mp4"]


def test_a_video_without_audio_stays_silent(tmp_path, deblurrer):
    source = _make_video(tmp_path / "silent.mkv", rate="25", audio=False)
    assert deblur_files(deblurrer, [source], str(tmp_path / "out")) == {}
    meta, frames = _frames(str(tmp_path / "out" / "silent.mkv"))
    assert "audio_codec" not in meta and len(frames) == 10 and meta["fps"] == 25


def test_bad_videos_are_named_and_leave_nothing(tmp_path, deblurrer):
    odd = _make_video(tmp_path / "odd.mp4", size="65x48", audio=False, pix_fmt="yuv444p")
    fake = tmp_path / "fake.mov"
    fake.write_text("not a video")
    out = tmp_path / "out"
    out.mkdir()  # a folder deblur did not make stays when every file fails
    failures = deblur_files(deblurrer, [odd, str(fake)], str(out))
    assert failures[odd] == "65x48: H.264 needs even sides; crop the video first"
    assert failures[str(fake)].startswith("not a video ffmpeg can read")
    assert os.listdir(out) == []


class _FailsAtFrame:
    """A deblurrer that stops at its third frame, as a full disk or Ctrl-C would."""

    def __init__(self, error):
        self.error, self.calls = error, 0

    def deblur(self, frame):
        self.calls += 1
        if self.calls == 3:
            raise self.error
        return frame


@pytest.mark.parametrize("error", [MemoryError(), KeyboardInterrupt()])
def test_an_interrupted_video_leaves_no_partial_file(tmp_path, error):
    source = _make_video(tmp_path / "clip.mp4", audio=False)
    out = tmp_path / "out"
    out.mkdir()
    try:
        deblur_files(_FailsAtFrame(error), [source], str(out))
    except KeyboardInterrupt:
        pass
    assert os.listdir(out) == []


def test_hdr_video_is_refused_not_turned_into_bt709(tmp_path):
    """A phone's HLG video (10 bits, BT.2020) came out as 8-bit video tagged BT.709: its colours
    and contrast changed, and nothing said so."""
    hlg = str(tmp_path / "hlg.mov")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi"]
    command += ["-i", "testsrc2=size=64x48:rate=10:duration=0.3", "-c:v", "libx264"]
    command += ["-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-colorspace", "bt2020nc"]
    command += ["-color_trc", "arib-std-b67", hlg]
    subprocess.run(command, check=True)
    out = tmp_path / "out"
    out.mkdir()
    failures = deblur_files(_Unchanged(), [hlg], str(out))
    assert failures[hlg].startswith("HDR video (yuv420p10le(tv, bt2020nc")
    assert os.listdir(out) == []
