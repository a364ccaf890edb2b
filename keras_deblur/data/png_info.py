"""Cheap structural checks of PNG files: size and format from the header, truncation from the
trailer.

Reading 33 bytes at the start and 12 at the end of a file finds a non-PNG, a truncated download (no
IEND chunk at the end) and a pair whose sizes differ, without decoding pixels. Corruption inside a
structurally complete PNG (a bad CRC in the middle) only shows when the pixels are decoded.
"""

import dataclasses
import zlib

import tensorflow as tf

from keras_deblur.errors import DataError, op_message

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TRAILER = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # The IEND chunk: length 0, type, CRC.
COLOR_TYPES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}


@dataclasses.dataclass(frozen=True)
class PngInfo:
    width: int
    height: int
    bit_depth: int
    color_type: str


def read_png_info(path):
    """Reads and checks a PNG's header and trailer. Raises DataError naming `path` if it is not a
    complete PNG file."""
    try:
        size = tf.io.gfile.stat(path).length
        with tf.io.gfile.GFile(path, "rb") as f:
            head = f.read(33)
            f.seek(max(size - len(PNG_TRAILER), 0))
            tail = f.read(len(PNG_TRAILER))
    except tf.errors.OpError as error:
        raise DataError(f"cannot read {path}: {op_message(error.message)}") from error
    if head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise DataError(f"{path} is not a PNG file")
    if tail != PNG_TRAILER:
        raise DataError(f"{path} is truncated: it does not end with the PNG IEND chunk")
    color_type = COLOR_TYPES.get(head[25])
    if color_type is None:
        raise DataError(f"{path} has an invalid PNG color type {head[25]}")
    return PngInfo(
        width=int.from_bytes(head[16:20], "big"),
        height=int.from_bytes(head[20:24], "big"),
        bit_depth=head[24],
        color_type=color_type,
    )


def read_png_exif(path):
    """The data of a PNG's eXIf chunk (a TIFF-format EXIF block), or None; reads chunk headers
    only."""
    with tf.io.gfile.GFile(path, "rb") as f:
        f.seek(len(PNG_SIGNATURE))
        while True:
            header = f.read(8)
            if len(header) < 8:
                return None
            length, kind = int.from_bytes(header[:4], "big"), header[4:]
            if kind == b"eXIf":
                return f.read(length)
            if kind == b"IEND":
                return None
            f.seek(f.tell() + length + 4)  # the data and its CRC


def with_exif_chunk(png_bytes, exif):
    """PNG bytes with an eXIf chunk holding `exif` (TIFF-format; a leading "Exif\\0\\0" is dropped),
    placed right after IHDR, where every reader finds it before the pixels."""
    if exif.startswith(b"Exif\x00\x00"):
        exif = exif[6:]
    body = b"eXIf" + exif
    chunk = len(exif).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    end_of_ihdr = len(PNG_SIGNATURE) + 8 + 13 + 4
    return png_bytes[:end_of_ihdr] + chunk + png_bytes[end_of_ihdr:]
