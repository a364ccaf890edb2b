"""A peer's output on a real pair, scored beside the blurry frame and ours, on the peer's grid.

    python tools/score_against_peer.py --pair=../shared/real-dev/test/kupyn_test1 \
        --peer=../shared/real-dev/references/kupyn_test1_deblurgan.png [--model=photo] \
        [--ensemble=2]

Peers' outputs under real-dev's references/ need not have the input's size: DeblurGAN's for
kupyn_test1 is 1000x907 against the pair's 1000x911, its input having been resized. Scoring it
against a crop of the sharp frame would charge it for the resampling (22.2-23.0 dB by row offset,
against 24.3 on the resized grid). So the sharp frame, the blurry one and our output (`Deblurrer`,
the model as `deblur` runs it) are resized the same way to the peer's size (PIL's box filter: area
averaging when shrinking), rounded to 8 bits, and all four are scored there with the project's
PSNR. Same size: nothing is resized. Images are read with PIL as RGB (real-dev's are 8-bit PNGs).
"""

import argparse
import os

import numpy as np
from PIL import Image

from keras_deblur.metrics import psnr_uint8
from keras_deblur.serving.deblurrer import Deblurrer


def _on_grid(pixels, size):
    """[H, W, 3] uint8 resized to `size` (width, height) by area averaging, or as it is."""
    image = Image.fromarray(pixels)
    return np.asarray(image if image.size == size else image.resize(size, Image.Resampling.BOX))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", required=True, help="a GOPRO-layout sequence: blur/, sharp/")
    parser.add_argument("--peer", required=True, help="the peer's output for the pair's frame")
    parser.add_argument("--model", default=None, help="a preset or an export (default: photo)")
    parser.add_argument("--ensemble", type=int, default=1, help="as deblur --ensemble")
    args = parser.parse_args()
    name = sorted(os.listdir(os.path.join(args.pair, "blur")))[0]
    blurry, sharp = (
        np.asarray(Image.open(os.path.join(args.pair, key, name)).convert("RGB"))
        for key in ("blur", "sharp")
    )
    peer = Image.open(args.peer).convert("RGB")
    ours = Deblurrer(args.model, ensemble=args.ensemble).deblur(blurry)
    target = _on_grid(sharp, peer.size)
    scores = {
        "blurry": psnr_uint8(_on_grid(blurry, peer.size), target),
        "ours": psnr_uint8(_on_grid(ours, peer.size), target),
        "peer": psnr_uint8(np.asarray(peer), target),
    }
    pair = os.path.basename(os.path.normpath(args.pair))
    (width, height), (rows, columns) = peer.size, sharp.shape[:2]
    print(f"{pair} on the peer's {width}x{height} grid (the pair's is {columns}x{rows}):")
    for label, value in scores.items():
        print(f"  {label:6s} {value:.2f} dB  gain {value - scores['blurry']:+.2f}")


if __name__ == "__main__":
    main()
