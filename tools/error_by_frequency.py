"""Where a model's remaining error lies: the squared error of blurry and deblurred frames, band by
band of spatial frequency.

    python tools/error_by_frequency.py --data_dir=ROOT [--split=test] [--blur_key=blur] \
        [--model=photo] [--max_pairs=0]

Deblurs every pair of a GOPRO-layout split with `Deblurrer(--model)` (a preset or an export, as
`deblur` runs it) and splits each error image, blurry minus sharp and deblurred minus sharp, into
rings of its 2-D Fourier transform by radial frequency (cycles per pixel). By Parseval's theorem
the rings' mean squared errors add up to the image's MSE, so each row says how much of the error
sits at that scale of detail and how much of it the model took away ("removed"); the sharp
frame's own power in the ring says how much detail there is to restore. Pairs are pooled by
pixel, so the totals are the split's MSE (not the mean of per-pair PSNRs that `evaluate`
reports). BUILD.md uses it to compare real GOPRO frames with the synthetic training data
("Where the real-frame gain is lost").
"""

import argparse
import sys

import numpy as np

from keras_deblur.data import images
from keras_deblur.data.blur_math import to_uint8
from keras_deblur.data.pairs import discover_pairs
from keras_deblur.errors import DataError
from keras_deblur.progress import Progress
from keras_deblur.serving.deblurrer import Deblurrer

# Ring edges in cycles per pixel, each ring [low, high); 0.5 is the Nyquist limit of each axis,
# so the last ring holds it and the diagonal frequencies beyond.
BAND_EDGES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, np.inf)


def band_mse(image):
    """The mean over pixels and channels of `image`**2 ([H, W, C], float), split into the rings
    of BAND_EDGES; the entries add up to the mean of image**2."""
    height, width, channels = image.shape
    power = np.sum(np.abs(np.fft.fft2(image, axes=(0, 1))) ** 2, axis=-1)
    radius = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None, :])
    ring = np.digitize(radius, BAND_EDGES[1:-1])
    totals = np.bincount(ring.ravel(), weights=power.ravel(), minlength=len(BAND_EDGES) - 1)
    return totals / (height * width) ** 2 / channels


def _levels(path):
    """A PNG's pixels as 8-bit levels (float64), decoded as training and evaluation decode it."""
    return to_uint8(images.read_png(path)).astype(np.float64)


def error_bands(deblurrer, pairs):
    """Pixel-weighted ring MSEs (8-bit levels²) of the blurry frames, the deblurred frames and the
    sharp frames' own detail (their mean removed) over `pairs`."""
    sums = np.zeros((3, len(BAND_EDGES) - 1))
    pixels = 0
    # On stderr, so that stdout holds the table alone (a GOPRO test split takes ~40 min on 2 cores).
    progress = Progress(len(pairs), "pair", "error_by_frequency", stream=sys.stderr)
    for done, pair in enumerate(pairs, start=1):
        blurry, sharp = _levels(pair.blurry), _levels(pair.sharp)
        deblurred = deblurrer.deblur(blurry.astype(np.uint8)).astype(np.float64)
        weight = sharp.shape[0] * sharp.shape[1]
        detail = sharp - sharp.mean(axis=(0, 1))
        sums += weight * np.stack(
            [band_mse(x) for x in (blurry - sharp, deblurred - sharp, detail)]
        )
        pixels += weight
        progress.update(done)
    return sums / pixels


def report(bands):
    """The table's lines for `error_bands`' result."""
    blurry, deblurred, detail = bands
    lines = [
        f"{'cycles/px':<12}{'sharp power':>12}{'blurry MSE':>12}{'deblurred':>12}{'removed':>9}"
    ]
    for low, high, power, before, after in zip(
        BAND_EDGES[:-1], BAND_EDGES[1:], detail, blurry, deblurred
    ):
        name = f"{low:g}-{high:g}" if np.isfinite(high) else f"{low:g}+"
        removed = f"{(1 - after / before) * 100:+.0f}%" if before > 0 else "-"
        lines.append(f"{name:<12}{power:>12.1f}{before:>12.1f}{after:>12.1f}{removed:>9}")
    gain = 10 * np.log10(blurry.sum() / deblurred.sum())
    lines.append(
        f"{'all':<12}{detail.sum():>12.1f}{blurry.sum():>12.1f}{deblurred.sum():>12.1f}"
        f"{(1 - deblurred.sum() / blurry.sum()) * 100:>+8.0f}%  (pooled PSNR gain {gain:+.2f} dB)"
    )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True, help="a dataset in the GOPRO layout")
    parser.add_argument("--split", default="test", choices=("train", "test"))
    parser.add_argument("--blur_key", default="blur", choices=("blur", "blur_gamma"))
    parser.add_argument("--model", default=None, help="a preset or an export (default: shipped)")
    parser.add_argument("--max_pairs", type=int, default=0, help="the first N pairs (0: all)")
    args = parser.parse_args()
    if args.max_pairs < 0:
        parser.error(f"--max_pairs must be >= 0, got {args.max_pairs}")
    try:
        pairs = discover_pairs(args.data_dir, args.split, args.blur_key).pairs
    except DataError as error:
        parser.error(f"--data_dir: {error}")
    pairs = pairs[: args.max_pairs or None]
    try:
        deblurrer = Deblurrer(args.model)
    except (OSError, ValueError) as error:
        parser.error(f"--model: {error}")
    bands = error_bands(deblurrer, pairs)
    where = f"{args.data_dir}/{args.split} ({args.blur_key})"
    print(f"{len(pairs)} pairs of {where}; MSE in 8-bit levels²")
    print("\n".join(report(bands)))


if __name__ == "__main__":
    main()
