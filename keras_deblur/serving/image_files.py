"""Reading and writing users' image files for the deblur command, keeping what makes them theirs.

- EXIF orientation is applied on reading (the pixels are deblurred upright) and the rest of the EXIF
  block is written back, with the orientation reset to "normal".
- The format is kept: a .png stays PNG, a .jpg stays JPEG (quality 95), and so on.
- Grayscale is deblurred as RGB (gray repeated) and written back as grayscale (the mean of the
  three output channels); an alpha channel is kept as it was; palette images are written as RGB.
- 16-bit PNGs (grayscale or RGB) are read and written at 16 bits.
"""

import dataclasses
import os
import uuid

import numpy as np
from PIL import Image, ImageOps

from keras_deblur.data.png_info import DataError, read_png_info


@dataclasses.dataclass(frozen=True)
class ImageFile:
    pixels: np.ndarray  # [H, W, 3] uint8 or uint16
    format: str  # PIL format name: PNG, JPEG, ...
    grayscale: bool
    alpha: np.ndarray = None  # [H, W] of the input's dtype, or None
    exif: bytes = None


def _read_16_bit_png(path):
    import tensorflow as tf

    data = tf.io.read_file(path)
    with_alpha = read_png_info(path).color_type in ("grayscale+alpha", "RGBA")
    decoded = tf.io.decode_png(data, channels=0, dtype=tf.uint16).numpy()
    grayscale = decoded.shape[-1] in (1, 2)
    colour = decoded[..., :1] if grayscale else decoded[..., :3]
    return ImageFile(np.repeat(colour, 3, axis=-1) if grayscale else colour, "PNG", grayscale,
                     alpha=decoded[..., -1] if with_alpha else None)


def read_image(path):
    """Reads an image file; raises DataError naming it if it is not an image PIL or TF can read."""
    try:
        if path.lower().endswith(".png") and read_png_info(path).bit_depth == 16:
            return _read_16_bit_png(path)
        with Image.open(path) as opened:
            image_format = opened.format
            image = ImageOps.exif_transpose(opened)
            exif = image.getexif()
            grayscale = image.mode in ("1", "L", "LA", "I", "I;16", "F")
            alpha = np.asarray(image.getchannel("A")) if image.mode in ("RGBA", "LA", "PA") else None
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(f"{path} is not an image this command can read: {error}") from error
    return ImageFile(pixels, image_format, grayscale, alpha, exif.tobytes() if len(exif) else None)


def write_image(path, pixels, source):
    """Writes deblurred `pixels` ([H, W, 3], the dtype of source.pixels) like `source`, atomically."""
    temporary = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex}")
    try:
        if pixels.dtype == np.uint16:
            import tensorflow as tf

            out = np.round(pixels.mean(axis=-1, keepdims=True)).astype(np.uint16) if source.grayscale else pixels
            if source.alpha is not None:
                out = np.concatenate([out, source.alpha[..., None]], axis=-1)
            with open(temporary, "wb") as f:
                f.write(tf.io.encode_png(out).numpy())
        else:
            image = Image.fromarray(pixels, "RGB")
            if source.grayscale:
                image = Image.fromarray(np.round(pixels.mean(axis=-1)).astype(np.uint8), "L")
            if source.alpha is not None:
                image.putalpha(Image.fromarray(source.alpha.astype(np.uint8)))
            options = {"quality": 95} if source.format == "JPEG" else {}
            if source.exif:
                options["exif"] = source.exif
            if source.format == "JPEG" and image.mode in ("RGBA", "LA"):
                image = image.convert("RGB" if image.mode == "RGBA" else "L")
            image.save(temporary, format=source.format, **options)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
