"""How much a model gains on photos blurred by camera paths of a given length, bucket by bucket.

    python tools/gain_by_blur_length.py [--model=photo] [--photos_dir=DIR] [--size=384] \
        [--pairs=8] [--buckets=4-15,23-38,46-69] [--wiener]

Renders `--pairs` photo pairs per bucket of camera path lengths (pixels at `--size`; uniform
within the bucket; camera shake only, no moving layers, no JPEG) with `photo_blur.py`, deblurs
each with `Deblurrer(--model)` (a preset or an export, as `deblur` runs it) and prints the mean,
median and lowest PSNR gain over the blurry input (a few failures pull the mean down). Seeded:
the same arguments render the same pairs. It is how BUILD.md found that the shipped model gains
+1.0 dB on 4-15 px blur and +0.2 on 46-69 px, as long as real GOPRO frames' moving people.

`--wiener` puts beside the model a ceiling that no blind method reaches: Wiener deconvolution with
the blur's transfer function fitted from the sharp frame (an oracle: a real input comes without
its sharp frame), for a 1/f^2 image spectrum, at the best of WIENER_NSR per bucket. So that one
kernel holds for the whole frame, the camera only translates (no rotation or zoom), and every
score, the model's too, leaves out a border of --size/8 pixels, where the circular convolution
that the deconvolution assumes is wrong.
"""

import argparse
import dataclasses

import numpy as np

from keras_deblur.data.photo_blur import PhotoBlurConfig, render_photo_pair
from keras_deblur.data.photo_sources import load_photos
from keras_deblur.metrics import psnr_uint8
from keras_deblur.serving.deblurrer import Deblurrer

# Noise-to-signal power ratios at 0.1 cycles per pixel that --wiener tries.
WIENER_NSR = (0.01, 0.03, 0.1, 0.3)


def _spectrum(image):
    return np.fft.rfft2(image.astype(np.float64) / 255.0, axes=(0, 1))


def wiener_deblur(blur, sharp, nsrs):
    """{nsr: `blur` ([H, W, 3] uint8) deconvolved by the transfer function that maps `sharp` to
    it} for each noise-to-signal ratio in `nsrs`.

    The transfer function is fitted once, by regularised least squares over the three channels, on
    both frames tapered towards their borders (a Hann window to the power 1/4) so that their edges
    do not pose as blur; each deconvolution assumes an image power spectrum falling as 1/f^2, with
    noise `nsr` times its power at 0.1 cycles per pixel."""
    height, width = blur.shape[:2]
    taper = (np.outer(np.hanning(height), np.hanning(width)) ** 0.25)[..., None]
    blurred, target = _spectrum(blur * taper), _spectrum(sharp * taper)
    transfer = np.sum(np.conj(target) * blurred, -1) / (np.sum(np.abs(target) ** 2, -1) + 1e-3)
    frequency2 = np.fft.fftfreq(height)[:, None] ** 2 + np.fft.rfftfreq(width)[None, :] ** 2
    observed = _spectrum(blur)
    restored = {}
    for nsr in nsrs:
        inverse = np.conj(transfer) / (np.abs(transfer) ** 2 + nsr * frequency2 / 0.1**2)
        pixels = np.fft.irfft2(inverse[..., None] * observed, s=(height, width), axes=(0, 1))
        restored[nsr] = np.clip(np.round(pixels * 255.0), 0, 255).astype(np.uint8)
    return restored


def bucket_gains(deblurrer, photos, config, pairs, seed, border=0, wiener=False):
    """PSNR gains (dB) of `deblurrer` on `pairs` photo pairs rendered with `config`, scored
    without `border` pixels at each side; with `wiener`, also {nsr: gains of wiener_deblur}."""
    rng = np.random.default_rng(seed)
    inside = (slice(border, -border or None),) * 2
    gains, wiener_gains = [], {nsr: [] for nsr in WIENER_NSR if wiener}
    for _ in range(pairs):
        photo, layers = (photos[i] for i in rng.integers(len(photos), size=2))
        pair = render_photo_pair(rng, photo, config, layer_photo=layers)
        sharp = pair.sharp[inside]
        blurry_psnr = psnr_uint8(pair.blur[inside], sharp)
        gains.append(psnr_uint8(deblurrer.deblur(pair.blur)[inside], sharp) - blurry_psnr)
        if wiener:
            for nsr, restored in wiener_deblur(pair.blur, pair.sharp, WIENER_NSR).items():
                wiener_gains[nsr].append(psnr_uint8(restored[inside], sharp) - blurry_psnr)
    return gains, wiener_gains


def parse_buckets(text, parser):
    """[(label, low px, high px)] from "LOW-HIGH,..."; a bad one is a parser error naming it."""
    buckets = []
    for bucket in text.split(","):
        try:
            low, high = (float(px) for px in bucket.split("-"))
        except ValueError:
            parser.error(f"--buckets: {bucket!r} is not LOW-HIGH pixels")
        if not 0 <= low <= high:
            parser.error(f"--buckets: {bucket!r} needs 0 <= LOW <= HIGH")
        buckets.append((bucket, low, high))
    return buckets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="a preset or an export (default: the shipped)"
    )
    parser.add_argument("--photos_dir", default="", help="default: the photos packages ship")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--buckets", default="4-15,23-38,46-69", help="LOW-HIGH pixels, ...")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--wiener",
        action="store_true",
        help="also the oracle ceiling: Wiener deconvolution with the kernel fitted from the sharp "
        "frame (camera translation only; scores without a border of --size/8)",
    )
    args = parser.parse_args()
    buckets = parse_buckets(args.buckets, parser)
    photos = [pixels for _, pixels in load_photos(args.photos_dir, min_side=args.size // 2)]
    deblurrer = Deblurrer(args.model)
    still = PhotoBlurConfig(
        size=args.size, length_skew=1.0, num_objects=(0, 0), jpeg_probability=0.0
    )
    border = 0
    if args.wiener:
        still = dataclasses.replace(still, rotation=0.0, zoom=0.0)
        border = args.size // 8
    for index, (bucket, low, high) in enumerate(buckets):
        config = dataclasses.replace(still, blur_length=(low / args.size, high / args.size))
        gains, wiener_gains = bucket_gains(
            deblurrer, photos, config, args.pairs, [args.seed, index], border, args.wiener
        )
        line = (
            f"camera path {bucket} px at {args.size}²: gain {np.mean(gains):+.2f} dB "
            f"(median {np.median(gains):+.2f}, lowest {np.min(gains):+.2f}, {len(gains)} pairs)"
        )
        if wiener_gains:
            nsr, best = max(wiener_gains.items(), key=lambda item: np.mean(item[1]))
            line += f"; Wiener with the true kernel {np.mean(best):+.2f} dB (NSR {nsr:g})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
