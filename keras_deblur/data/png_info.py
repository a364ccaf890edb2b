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
# Images saved in another format, which a folder of PNG frames or pairs cannot use: named as
# problems where the data readers look for PNGs, not left out (other files, Thumbs.db or notes,
# are not images and are left alone).
OTHER_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".exr", ".ppm")


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


def read_png_chunks(path, kinds):
    """{kind: data} of the first chunk of each of `kinds` (e.g. b"eXIf") in a PNG; reads chunk
    headers and only those chunks' data."""
    found = {}
    with tf.io.gfile.GFile(path, "rb") as f:
        f.seek(len(PNG_SIGNATURE))
        while True:
            header = f.read(8)
            if len(header) < 8 or header[4:] == b"IEND":
                return found
            length, kind = int.from_bytes(header[:4], "big"), header[4:]
            if kind in kinds and kind not in found:
                found[kind] = f.read(length)
                f.seek(f.tell() + 4)  # its CRC
            else:
                f.seek(f.tell() + length + 4)  # the data and its CRC


def icc_profile_of(iccp_data):
    """The ICC profile an iCCP chunk's data holds: a name, a NUL, method 0, the zlib'd profile."""
    name_end = iccp_data.index(b"\x00")
    return zlib.decompress(iccp_data[name_end + 2 :])


def with_chunks(png_bytes, exif=None, icc_profile=None):
    """PNG bytes with an eXIf chunk holding `exif` (TIFF-format; a leading "Exif\\0\\0" is
    dropped) and an iCCP chunk holding `icc_profile`, each given; placed right after IHDR, where
    every reader finds them before the palette and the pixels (iCCP must come before both)."""
    chunks = b""
    if icc_profile:
        chunks += png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc_profile))
    if exif:
        chunks += png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    end_of_ihdr = len(PNG_SIGNATURE) + 8 + 13 + 4
    return png_bytes[:end_of_ihdr] + chunks + png_bytes[end_of_ihdr:]


def png_chunk(kind, data):
    body = kind + data
    return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
