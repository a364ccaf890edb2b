"""Reading and writing users' image files for the deblur command, keeping what makes them theirs.

- EXIF orientation is applied on reading (the pixels are deblurred upright) and the rest of the EXIF
  block is written back, with the orientation reset to "normal" (16-bit PNGs too: their eXIf chunk).
- The format is kept: a .png stays PNG, a .jpg stays JPEG (quality 95, the input's chroma
  subsampling: a 4:4:4 photo is not written 4:2:0, PIL's default), a lossless WebP stays
  lossless (a lossy one: quality 95), an AVIF is written at quality 95 (`LOSSY_QUALITY`), and
  so on. A camera's or phone's JPEG that carries previews
  or a gain map after its main image (MPO, the multi-picture format) is read as its main image and
  written as a plain JPEG: the previews would show the blurry picture.
- Grayscale is deblurred as RGB (gray repeated) and written back as grayscale (the mean of the
  three output channels); an alpha channel is kept as it was; palette images are written as RGB.
- 16-bit PNGs (grayscale or RGB) and 16-bit grayscale TIFFs are read and written at 16 bits;
  16-bit colour TIFFs (which PIL reads at 8 bits), 32-bit integer and floating-point images (no
  fixed white level) are refused.
- A colour profile (ICC) is written back when it describes what is written (RGB, or gray for
  grayscale): a CMYK JPEG's is not, since its pixels are deblurred and written as RGB.
- A palette's or a PNG's transparent colour (tRNS) is read as an alpha channel, and kept.
- Refused, each with a DataError naming the file: images larger than `max_megapixels` (read from
  the header, before any pixel is decoded: a small file can claim 20000 x 20000 pixels and take
  gigabytes to decode), animated images and multi-page files (only the first frame would be
  deblurred), and anything PIL or TensorFlow cannot decode, a damaged EXIF block included. HEIC
  (an iPhone's default) is named as such, with how to save it as JPEG (`HEIC_NOT_READ`).
"""

import dataclasses
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin

from keras_deblur import file_io
from keras_deblur.data.png_info import (
    PNG_SIGNATURE,
    icc_profile_of,
    read_png_chunks,
    read_png_info,
    with_chunks,
)
from keras_deblur.errors import DataError, op_message

# The default size limit: 128 megapixels is above every phone and most camera sensors (108 MP,
# 100 MP medium format) and, at 16 bits, about 0.8 GB of pixels before the model's own memory.
DEFAULT_MAX_MEGAPIXELS = 128.0
ORIENTATION_TAG = 0x0112
# EXIF orientation -> how to turn stored rows and columns upright, as PIL's exif_transpose does.
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


@dataclasses.dataclass(frozen=True)
class ImageFile:
    pixels: np.ndarray  # [H, W, 3] uint8 or uint16
    format: str  # PIL format name: PNG, JPEG, ...
    grayscale: bool
    alpha: np.ndarray = None  # [H, W] of the input's dtype, or None
    exif: bytes = None
    icc_profile: bytes = None  # the colour space (Display P3, Adobe RGB, ...): written back as is
    lossless: bool = False  # a lossless WebP, written back lossless
    jpeg_subsampling: int = -1  # a JPEG's chroma subsampling (PIL's 0 4:4:4, 1 4:2:2, 2 4:2:0)


def check_size(path, width, height, max_megapixels):
    if width * height > max_megapixels * 1e6:
        raise DataError(
            f"{path} is {width}x{height} ({width * height / 1e6:.0f} megapixels), more than "
            f"--max_megapixels={max_megapixels:g}; pass a larger --max_megapixels to deblur it"
        )


def _upright_exif(exif_data):
    """(orientation, EXIF bytes with the orientation reset to normal) of an EXIF block."""
    exif = Image.Exif()
    exif.load(exif_data)
    orientation = exif.get(ORIENTATION_TAG, 1)
    if ORIENTATION_TAG in exif:
        exif[ORIENTATION_TAG] = 1
    return orientation, exif.tobytes()


# A TIFF's tags that describe its pixels' layout (sizes, strips, compression, samples, ...): the
# writer sets them for the pixels it writes; copied, they would describe the input's.
# fmt: off
_TIFF_LAYOUT_TAGS = (
    254, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 320, 322, 323, 324, 325,
    330, 338, 339, 347, 529, 530, 531, 532,
    34675,  # the ICC profile, kept on its own
)
# fmt: on


def _tiff_exif(opened):
    """A TIFF's EXIF (its metadata tags and EXIF/GPS blocks, not its layout), upright."""
    exif = Image.Exif()
    exif.load(opened.getexif().tobytes())  # a copy: exif_transpose edits the file's own
    for tag in _TIFF_LAYOUT_TAGS:
        exif.pop(tag, None)
    if ORIENTATION_TAG in exif:
        exif[ORIENTATION_TAG] = 1
    return exif


def _refuse_animation(path, frames):
    raise DataError(
        f"{path} holds {frames} frames (an animation or a multi-page file); deblur reads "
        "still images: save the frames as separate files and deblur those"
    )


def _read_16_bit_png(path, info):
    """A 16-bit PNG through TensorFlow's decoder (PIL's keeps 8 bits of colour), with what PIL
    would give: its EXIF orientation applied, its colour profile, its transparent colour (tRNS)
    as alpha, and an animation (acTL) refused."""
    import tensorflow as tf

    chunks = read_png_chunks(path, {b"eXIf", b"iCCP", b"tRNS", b"acTL"})
    if b"acTL" in chunks:
        _refuse_animation(path, int.from_bytes(chunks[b"acTL"][:4], "big"))
    decoded = tf.io.decode_png(tf.io.read_file(path), channels=0, dtype=tf.uint16).numpy()
    exif_data = chunks.get(b"eXIf")
    orientation, exif = _upright_exif(exif_data) if exif_data else (1, None)
    decoded = np.ascontiguousarray(_UPRIGHT.get(orientation, lambda a: a)(decoded))
    grayscale = decoded.shape[-1] in (1, 2)
    colour = decoded[..., :1] if grayscale else decoded[..., :3]
    alpha = decoded[..., -1] if info.color_type in ("grayscale+alpha", "RGBA") else None
    if b"tRNS" in chunks:  # one 16-bit grey or RGB value, transparent wherever it occurs
        value = np.frombuffer(chunks[b"tRNS"], ">u2")
        alpha = np.where(np.all(colour == value, axis=-1), 0, 65535).astype(np.uint16)
    return ImageFile(
        np.repeat(colour, 3, axis=-1) if grayscale else colour,
        "PNG",
        grayscale,
        alpha=alpha,
        exif=exif,
        icc_profile=icc_profile_of(chunks[b"iCCP"]) if b"iCCP" in chunks else None,
    )


def _read_with_pil(path, max_megapixels):
    # PIL's own decompression-bomb limit (a warning above 89 MP, an error above 179 MP) gives way to
    # max_megapixels, checked on the header before any pixel is decoded.
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        opened = Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    with opened:
        check_size(path, *opened.size, max_megapixels)
        frames = getattr(opened, "n_frames", 1)
        if frames > 1 and opened.format != "MPO":  # MPO: the main image, then its previews
            _refuse_animation(path, frames)
        image_format = "JPEG" if opened.format == "MPO" else opened.format
        if image_format == "TIFF" and opened.mode == "RGB" and _bits(opened) > 8:
            raise DataError(
                f"{path} holds {_bits(opened)}-bit colour, which deblur would read at 8 bits: "
                "save it as a 16-bit PNG"
            )
        icc_profile = opened.info.get("icc_profile")
        subsampling = JpegImagePlugin.get_sampling(opened) if image_format == "JPEG" else -1
        # A TIFF's EXIF is its own tags, which exif_transpose's copy drops: taken before.
        tiff_exif = _tiff_exif(opened) if image_format == "TIFF" else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = ImageOps.exif_transpose(opened)
        exif = tiff_exif if tiff_exif is not None else image.getexif()
        if image.mode == "I" and image_format == "PPM":  # a 16-bit PGM: Pillow opens it as "I"
            image = Image.fromarray(np.asarray(image).astype(np.uint16))
        if image.mode in ("I", "F"):
            raise DataError(
                f"{path} holds {'32-bit integer' if image.mode == 'I' else 'floating-point'} "
                "pixels, which have no fixed white level; deblur reads 8- and 16-bit images: "
                "save it as a 16-bit PNG or TIFF"
            )
        if "transparency" in image.info:  # a palette's or a PNG's tRNS: an alpha channel
            image = image.convert("LA" if image.mode in ("1", "L") else "RGBA")
        grayscale = image.mode in ("1", "L", "LA") or image.mode.startswith("I;16")
        if icc_profile and icc_profile[16:20] != (b"GRAY" if grayscale else b"RGB "):
            icc_profile = None  # a CMYK image's: its pixels are written as RGB
        alpha = np.asarray(image.getchannel("A")) if image.mode in ("RGBA", "LA", "PA") else None
        if image.mode.startswith("I;16"):  # 16-bit grayscale (TIFF): convert("RGB") would clip
            pixels = np.repeat(np.asarray(image).astype(np.uint16)[..., None], 3, axis=-1)
        else:
            pixels = np.asarray(image.convert("RGB"))
    exif = exif.tobytes() if len(exif) else None
    lossless = image_format == "WEBP" and _webp_is_lossless(path)
    return ImageFile(
        pixels, image_format, grayscale, alpha, exif, icc_profile, lossless, subsampling
    )


def _bits(tiff):
    """The most bits per sample of a TIFF's channels (its BitsPerSample tag)."""
    return max(tiff.tag_v2.get(258, (8,)))


def _webp_is_lossless(path):
    """Whether a WebP file's image is VP8L (lossless) rather than VP8: the RIFF chunk that holds
    it, after the extended format's VP8X and its colour profile, EXIF and alpha chunks."""
    with open(path, "rb") as file:
        data = file.read(1 << 20)  # the image chunk follows small header chunks
    offset = 12  # "RIFF", the size, "WEBP"
    while offset + 8 <= len(data):
        name, size = (
            data[offset : offset + 4],
            int.from_bytes(data[offset + 4 : offset + 8], "little"),
        )
        if name in (b"VP8 ", b"VP8L"):
            return name == b"VP8L"
        offset += 8 + size + size % 2
    return False


def read_image(path, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """Reads an image file; raises DataError naming it if it is too large or cannot be read."""
    import tensorflow as tf

    try:
        with open(path, "rb") as file:
            is_png = file.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
        if is_png:  # by its bytes, not its name: a JPEG named .png is still read, by PIL
            info = read_png_info(path)
            check_size(path, info.width, info.height, max_megapixels)
            if info.bit_depth == 16:
                return _read_16_bit_png(path, info)
        return _read_with_pil(path, max_megapixels)
    except DataError:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        struct.error,  # a short or damaged EXIF block
        Image.DecompressionBombError,
        tf.errors.OpError,
    ) as error:
        message = op_message(error.message) if isinstance(error, tf.errors.OpError) else error
        if isinstance(error, struct.error):
            message = f"its EXIF block is damaged ({error})"
        if _is_heic(path):
            message = HEIC_NOT_READ
        raise DataError(f"{path} is not an image this command can read: {message}") from error


# What lossy formats are written at. PIL's defaults (JPEG 75, WebP 80, AVIF 75) would take back
# detail that deblurring restored: an AVIF of a 256x256 photo (skimage's astronaut) decodes at
# 37.6 dB PSNR from its pixels at 75 and 40.9 dB at 95 (JPEG at 95: 39.4 dB).
LOSSY_QUALITY = 95
LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF")


# HEIC is what iPhones save by default. Not read: the Python packages that decode it ship, in
# their binary wheels, either a GPL HEVC encoder (pillow-heif, with x265) or no encoder at all
# (pi-heif), and deblur writes each image back in its own format.
HEIC_NOT_READ = (
    "it is HEIC/HEIF (HEVC-coded, an iPhone camera's default), which deblur does not read; save "
    "it as JPEG first (on the iPhone: Settings > Camera > Formats > Most Compatible; elsewhere "
    "`heif-convert` from libheif) and deblur that"
)
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}


def _is_heic(path):
    """Whether the file starts with an ISO base media `ftyp` box naming an HEVC-coded HEIF brand
    (major or compatible): bytes 4-8 "ftyp", then the major brand, a version, the compatible
    brands."""
    try:
        with open(path, "rb") as file:
            box = file.read(64)
    except OSError:
        return False
    if box[4:8] != b"ftyp":
        return False
    size = min(int.from_bytes(box[:4], "big"), len(box))
    brands = [box[8:12]] + [box[i : i + 4] for i in range(16, size - 3, 4)]
    return any(brand in HEIC_BRANDS for brand in brands)


def check_writable(path, source):
    """A DataError naming `path` if its format is one PIL reads but cannot write (XPM, PSD, ...):
    its output is written in the input's format, so found before it is deblurred."""
    Image.init()  # registers every format's writer
    if source.format not in Image.SAVE:
        raise DataError(
            f"{path} is in {source.format} format, which deblur reads but cannot write: convert it "
            "to PNG, TIFF or JPEG and deblur that"
        )


def _gray(pixels):
    """How a grayscale image is written back: the mean of the three channels, rounded, in the
    pixels' dtype."""
    return np.round(pixels.mean(axis=-1)).astype(pixels.dtype)


def write_image(path, pixels, source, overwrite=True):
    """Writes deblurred `pixels` ([H, W, 3], the dtype of source.pixels) like `source`,
    atomically. 16-bit PNGs go through TensorFlow's encoder; everything else, 16-bit grayscale
    TIFFs included (PIL's mode I;16), through PIL's. With `overwrite=False` a file at `path`, even
    one that appeared while the image was encoded, is kept: tf.errors.AlreadyExistsError."""
    with file_io.atomic_path(path, overwrite=overwrite, hidden=True) as temporary:
        if pixels.dtype == np.uint16 and source.format == "PNG":
            import tensorflow as tf

            out = _gray(pixels)[..., None] if source.grayscale else pixels
            if source.alpha is not None:
                out = np.concatenate([out, source.alpha[..., None]], axis=-1)
            encoded = tf.io.encode_png(out).numpy()
            with open(temporary, "wb") as f:
                f.write(with_chunks(encoded, source.exif, source.icc_profile))
        else:
            image = Image.fromarray(_gray(pixels) if source.grayscale else pixels)
            if source.alpha is not None:
                image.putalpha(Image.fromarray(source.alpha.astype(np.uint8)))
            options = {"quality": LOSSY_QUALITY} if source.format in LOSSY_FORMATS else {}
            if source.format == "JPEG" and source.jpeg_subsampling in (0, 1, 2):
                options["subsampling"] = source.jpeg_subsampling
            if source.lossless:
                options = {"lossless": True}
            if source.exif:
                options["exif"] = source.exif
            if source.icc_profile:
                options["icc_profile"] = source.icc_profile
            if source.format == "JPEG" and image.mode in ("RGBA", "LA"):
                image = image.convert("RGB" if image.mode == "RGBA" else "L")
            image.save(temporary, format=source.format, **options)
