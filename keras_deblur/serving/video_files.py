"""Deblurring a video file frame by frame into a new video, through imageio-ffmpeg.

imageio-ffmpeg's wheel carries its own ffmpeg binary, so nothing is downloaded or installed at run
time. Frames stream: one decoded frame, its deblurred copy and ffmpeg's pipe buffers are in memory
at a time, whatever the video's length.

The output has the input's name, container (by extension), size and frame rate (as the exact
fraction: NTSC's 29.97 is 30000/1001); the video is H.264 in yuv420p (what players
take) at CRF 12, near-transparent so that the codec does not blur back what the model sharpened;
the audio, if any, is copied unchanged. It is written to a temporary beside the target and renamed
into place only when every frame is in, so an interrupted run never leaves a partial video under
the target's name.

Sizes: H.264 in yuv420p needs even sides; a video of odd width or height is refused (camera and
phone videos are even), not silently rescaled. HDR video (HLG or PQ, BT.2020 colours: what recent
phones record by default) is refused too: written as 8-bit BT.709 its colours and contrast would
change, and the model was trained on SDR frames.
"""

import fractions
import os
import time

import numpy as np

from keras_deblur import file_io
from keras_deblur.progress import Progress
from keras_deblur.serving.image_files import check_size

# Extension -> ffmpeg's container name (the temporary file's name has no extension to go by).
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}
CRF = 12  # H.264's constant rate factor: 0 lossless, 23 ffmpeg's default, 51 worst
# The frames are read as RGB (by the input's own colour tags); they are written as BT.709 Y'CbCr,
# tagged so. ffmpeg's default writes BT.601's matrix untagged, which players take for BT.709 in
# HD video: reds came out orange.
BT709 = [
    "-vf",
    "scale=out_color_matrix=bt709:out_range=tv,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709",
]


# How ffmpeg names HDR transfers (HLG, PQ) and BT.2020 colours in a stream's pixel format
# ("yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive)").
HDR_TAGS = ("arib-std-b67", "smpte2084", "bt2020")


def is_video(path):
    return os.path.splitext(path)[1].lower() in CONTAINERS


def _fps(meta):
    """The frame rate as a fraction. ffmpeg's header prints it rounded (29.97 for 30000/1001), and
    imageio-ffmpeg reads that: a rate that close to an NTSC rate n * 1000/1001 is taken as it."""
    fps = fractions.Fraction(meta["fps"]).limit_denominator(1000)
    for rate in (24, 30, 48, 60, 120, 240):
        ntsc = fractions.Fraction(rate * 1000, 1001)
        if abs(fps - ntsc) < 0.006:
            return ntsc
    return fps


def deblur_video(deblurrer, path, target, max_megapixels, verbose=True, overwrite=True):
    """Deblurs every frame of the video `path` into a new video at `target` (with
    `overwrite=False`, tf.errors.AlreadyExistsError if a file is there by the end).

    Returns:
      (width, height, frames, frames per second, seconds the model took in all).
    Raises:
      ValueError: the file is not a video ffmpeg can read, its frames are larger than
        `max_megapixels` or have odd sides, or it has no frames.
    """
    import imageio_ffmpeg

    container = CONTAINERS[os.path.splitext(target)[1].lower()]
    try:
        reader = imageio_ffmpeg.read_frames(path)
        meta = reader.send(None)
    except (OSError, RuntimeError, StopIteration) as error:
        raise ValueError(f"not a video ffmpeg can read: {str(error).strip().splitlines()[-1]}")
    width, height = meta["size"]
    try:
        check_size(path, width, height, max_megapixels)
    except ValueError:
        reader.close()
        raise
    if width % 2 or height % 2:
        reader.close()
        raise ValueError(f"{width}x{height}: H.264 needs even sides; crop the video first")
    pixel_format = meta.get("pix_fmt", "")
    if any(tag in pixel_format for tag in HDR_TAGS):
        reader.close()
        raise ValueError(
            f"HDR video ({pixel_format}): deblur writes 8-bit BT.709 video, which would change "
            "its colours; convert it to SDR first (a phone's 'most compatible' setting records it)"
        )
    fps = _fps(meta)
    expected = max(1, round(meta.get("duration", 0) * fps))
    progress = Progress(expected, "frame", os.path.basename(path), verbose=verbose)
    frames = 0
    seconds = 0.0
    with file_io.atomic_path(target, overwrite=overwrite) as temporary:
        writer = imageio_ffmpeg.write_frames(
            temporary,
            (width, height),
            fps=fps,
            codec="libx264",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-crf", str(CRF), *BT709, "-f", container],
            audio_path=path if "audio_codec" in meta else None,
            audio_codec="copy",
        )
        writer.send(None)
        try:
            for raw in reader:
                frame = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
                start = time.perf_counter()
                deblurred = deblurrer.deblur(frame)
                seconds += time.perf_counter() - start
                writer.send(np.ascontiguousarray(deblurred, np.uint8))
                frames += 1
                progress.total = max(expected, frames)
                progress.update(frames, [("s_per_frame", seconds / frames)])
        finally:
            reader.close()
            writer.close()
        if frames == 0:
            raise ValueError("the video has no frames")
    return width, height, frames, fps, seconds
