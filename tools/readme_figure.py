"""The README's picture: one crop of a blurry frame, the shipped model's output and the sharp frame.

    python tools/readme_figure.py --pair=../shared/real-dev/test/istanbul --box=560,300,320,240 \
        --output=docs/real_dev_istanbul.png

Deblurs the whole blurry frame with `Deblurrer()` (the model the package ships, as `deblur` runs
it), then cuts the same box (left, top, width, height) out of the three images and writes them
side by side with their PSNR over the whole frame. The frames themselves stay out of the
repository; only the crop is committed.
"""

import argparse
import os

import numpy as np
from PIL import Image, ImageDraw

from keras_deblur.metrics import psnr_uint8
from keras_deblur.serving.deblurrer import Deblurrer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", required=True, help="a GOPRO-layout sequence: blur/, sharp/")
    parser.add_argument("--box", required=True, help="left,top,width,height of the crop")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    name = sorted(os.listdir(os.path.join(args.pair, "blur")))[0]
    blurry, sharp = (
        np.asarray(Image.open(os.path.join(args.pair, key, name)).convert("RGB"))
        for key in ("blur", "sharp")
    )
    deblurred = Deblurrer().deblur(blurry)
    left, top, width, height = (int(v) for v in args.box.split(","))
    labels = (
        f"blurry {psnr_uint8(blurry, sharp):.2f} dB",
        f"keras_deblur (photo) {psnr_uint8(deblurred, sharp):.2f} dB",
        "sharp",
    )
    canvas = Image.new("RGB", (3 * width + 8, height + 20), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (image, label) in enumerate(zip((blurry, deblurred, sharp), labels)):
        crop = Image.fromarray(image[top : top + height, left : left + width])
        canvas.paste(crop, (i * (width + 4), 20))
        draw.text((i * (width + 4) + 4, 4), label, fill="black")
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    canvas.save(args.output, optimize=True)
    print(f"wrote {args.output}: {', '.join(labels)}")


if __name__ == "__main__":
    main()
