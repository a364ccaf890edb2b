"""How much a model gains on photos blurred by camera paths of a given length, bucket by bucket.

    python tools/gain_by_blur_length.py [--model=photo] [--photos_dir=DIR] [--size=384] \
        [--pairs=8] [--buckets=4-15,23-38,46-69]

Renders `--pairs` photo pairs per bucket of camera path lengths (pixels at `--size`; uniform
within the bucket; camera shake only, no moving layers, no JPEG) with `photo_blur.py`, deblurs
each with `Deblurrer(--model)` (a preset or an export, as `deblur` runs it) and prints the mean,
median and lowest PSNR gain over the blurry input (a few failures pull the mean down). Seeded:
the same arguments render the same pairs. It is how BUILD.md found that the shipped model gains
+1.0 dB on 4-15 px blur and +0.2 on 46-69 px, as long as real GOPRO frames' moving people.
"""

import argparse
import dataclasses

import numpy as np

from keras_deblur.data.photo_blur import PhotoBlurConfig, render_photo_pair
from keras_deblur.data.photo_sources import load_photos
from keras_deblur.metrics import psnr_uint8
from keras_deblur.serving.deblurrer import Deblurrer


def bucket_gains(deblurrer, photos, config, pairs, seed):
    """PSNR gains (dB) of `deblurrer` on `pairs` photo pairs rendered with `config`."""
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(pairs):
        photo, layers = (photos[i] for i in rng.integers(len(photos), size=2))
        pair = render_photo_pair(rng, photo, config, layer_photo=layers)
        deblurred = deblurrer.deblur(pair.blur)
        gains.append(psnr_uint8(deblurred, pair.sharp) - psnr_uint8(pair.blur, pair.sharp))
    return gains


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
    args = parser.parse_args()
    buckets = parse_buckets(args.buckets, parser)
    photos = [pixels for _, pixels in load_photos(args.photos_dir, min_side=args.size // 2)]
    deblurrer = Deblurrer(args.model)
    still = PhotoBlurConfig(
        size=args.size, length_skew=1.0, num_objects=(0, 0), jpeg_probability=0.0
    )
    for index, (bucket, low, high) in enumerate(buckets):
        config = dataclasses.replace(still, blur_length=(low / args.size, high / args.size))
        gains = bucket_gains(deblurrer, photos, config, args.pairs, [args.seed, index])
        print(
            f"camera path {bucket} px at {args.size}²: gain {np.mean(gains):+.2f} dB "
            f"(median {np.median(gains):+.2f}, lowest {np.min(gains):+.2f}, {len(gains)} pairs)"
        )


if __name__ == "__main__":
    main()
