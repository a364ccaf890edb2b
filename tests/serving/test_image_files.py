"""read_image / write_image on files that users have: huge, broken, animated, turned."""

import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_deblur.data.png_info import png_chunk, read_png_chunks, with_chunks
from keras_deblur.errors import DataError
from keras_deblur.serving.image_files import read_image, write_image


def _png_claiming(width, height, bit_depth, colour_type):
    """A small, well-formed PNG file whose header claims a huge image (a decompression bomb's
    header)."""
    header = (
        width.to_bytes(4, "big")
        + height.to_bytes(4, "big")
        + bytes([bit_depth, colour_type, 0, 0, 0])
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("bit_depth, colour_type", [(1, 0), (16, 2)])
def test_a_huge_image_is_refused_from_its_header(tmp_path, bit_depth, colour_type):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(20000, 20000, bit_depth, colour_type))
    with pytest.raises(
        DataError,
        match=r"bomb.png is 20000x20000 \(400 megapixels\), more than --max_megapixels=128",
    ):
        read_image(str(path))


def test_the_size_limit_applies_to_every_format(tmp_path):
    path = str(tmp_path / "photo.jpg")
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(path)
    assert read_image(path).pixels.shape == (100, 100, 3)
    with pytest.raises(DataError, match="more than --max_megapixels=0.001"):
        read_image(path, max_megapixels=0.001)


def test_a_corrupt_16_bit_png_is_a_data_error(tmp_path, rng):
    data = bytearray(tf.io.encode_png(rng.integers(0, 65536, (64, 64, 3), dtype=np.uint16)).numpy())
    data[100:140] = bytes(40)  # inside IDAT: header and trailer intact
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt.png is not an image this command can read"):
        read_image(str(path))


def test_an_animation_is_refused(tmp_path):
    frames = [Image.fromarray(np.full((8, 8, 3), value, np.uint8)) for value in (0, 255)]
    path = str(tmp_path / "moving.gif")
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(DataError, match="moving.gif holds 2 frames"):
        read_image(path)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16_bit_pngs_are_turned_upright_like_8_bit_ones(tmp_path, rng, orientation):
    colour = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "keras_deblur test camera"  # Make: kept through the round trip
    Image.fromarray(colour).save(tmp_path / "eight.png", exif=exif.tobytes())
    sixteen = with_chunks(
        tf.io.encode_png(colour.astype(np.uint16) * 257).numpy(), exif=exif.tobytes()
    )
    (tmp_path / "sixteen.png").write_bytes(sixteen)

    eight_bit, sixteen_bit = (
        read_image(str(tmp_path / "eight.png")),
        read_image(str(tmp_path / "sixteen.png")),
    )
    np.testing.assert_array_equal(sixteen_bit.pixels // 257, eight_bit.pixels)
    assert sixteen_bit.pixels.dtype == np.uint16

    write_image(str(tmp_path / "out.png"), sixteen_bit.pixels, sixteen_bit)
    written = Image.Exif()
    written.load(read_png_chunks(str(tmp_path / "out.png"), {b"eXIf"})[b"eXIf"])
    assert written.get(0x0112, 1) == 1 and written[0x010F] == "keras_deblur test camera"
    np.testing.assert_array_equal(read_image(str(tmp_path / "out.png")).pixels, sixteen_bit.pixels)


def test_a_16_bit_grayscale_tiff_keeps_its_16_bits(tmp_path, rng):
    gray = rng.integers(0, 65536, (6, 10), dtype=np.uint16)
    path = str(tmp_path / "scan.tif")
    Image.fromarray(gray).save(path)
    read = read_image(path)
    assert read.pixels.dtype == np.uint16 and read.grayscale
    np.testing.assert_array_equal(read.pixels, np.repeat(gray[..., None], 3, axis=-1))
    write_image(str(tmp_path / "out.tif"), read.pixels, read)
    with Image.open(tmp_path / "out.tif") as written:
        assert written.format == "TIFF" and written.mode.startswith("I;16")
        np.testing.assert_array_equal(np.asarray(written), gray)


def test_a_16_bit_pgm_keeps_its_16_bits(tmp_path, rng):
    gray = rng.integers(0, 65536, (6, 10), dtype=np.uint16)
    Image.fromarray(gray).save(tmp_path / "scan.pgm")
    read = read_image(str(tmp_path / "scan.pgm"))
    assert read.pixels.dtype == np.uint16 and read.grayscale
    np.testing.assert_array_equal(read.pixels[..., 0], gray)


def test_floating_point_pixels_are_refused(tmp_path):
    path = str(tmp_path / "depth.tif")
    Image.fromarray(np.ones((4, 4), np.float32)).save(path)
    with pytest.raises(DataError, match="depth.tif holds floating-point pixels"):
        read_image(path)


def test_a_transparent_palette_colour_is_kept_as_alpha(tmp_path):
    indices = np.zeros((4, 6), np.uint8)
    indices[:, 3:] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([0, 0, 0, 255, 0, 0])
    path = str(tmp_path / "icon.png")
    image.save(path, transparency=0)
    read = read_image(path)
    np.testing.assert_array_equal(read.alpha, np.where(indices == 0, 0, 255))
    write_image(str(tmp_path / "out.png"), read.pixels, read)
    with Image.open(tmp_path / "out.png") as written:
        assert written.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(written)[..., 3], read.alpha)


def test_a_jpeg_named_png_is_read_by_its_bytes(tmp_path, rng):
    path = str(tmp_path / "photo.png")
    Image.fromarray(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)).save(path, format="JPEG")
    read = read_image(path)
    assert read.format == "JPEG" and read.pixels.shape == (8, 12, 3)


def _srgb_profile():
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("name", ["photo.jpg", "photo.png", "photo.tif", "deep.png"])
def test_the_colour_profile_is_written_back(tmp_path, rng, name):
    """Every format lost it: a Display P3 photo (every iPhone's) changed colour in viewers."""
    profile = _srgb_profile()
    colour = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    if name == "deep.png":
        encoded = tf.io.encode_png(colour.astype(np.uint16) * 257).numpy()
        (tmp_path / name).write_bytes(with_chunks(encoded, icc_profile=profile))
    else:
        Image.fromarray(colour).save(tmp_path / name, icc_profile=profile)
    source = read_image(str(tmp_path / name))
    assert source.icc_profile == profile
    write_image(str(tmp_path / f"out_{name}"), source.pixels, source)
    assert read_image(str(tmp_path / f"out_{name}")).icc_profile == profile
    assert Image.open(tmp_path / f"out_{name}").info.get("icc_profile") == profile


def test_a_16_bit_png_keeps_its_transparent_colour_and_an_animated_one_is_refused(tmp_path):
    colour = np.zeros((2, 3, 3), np.uint16)
    colour[0, 0] = (1000, 2000, 3000)  # the transparent colour, once
    encoded = tf.io.encode_png(colour).numpy()
    end_of_ihdr = 8 + 8 + 13 + 4
    transparent = png_chunk(b"tRNS", np.array([1000, 2000, 3000], ">u2").tobytes())
    (tmp_path / "trns.png").write_bytes(encoded[:end_of_ihdr] + transparent + encoded[end_of_ihdr:])
    alpha = read_image(str(tmp_path / "trns.png")).alpha
    np.testing.assert_array_equal(alpha, [[0, 65535, 65535], [65535, 65535, 65535]])

    animation = png_chunk(b"acTL", (2).to_bytes(4, "big") + (0).to_bytes(4, "big"))
    (tmp_path / "apng.png").write_bytes(encoded[:end_of_ihdr] + animation + encoded[end_of_ihdr:])
    with pytest.raises(DataError, match="apng.png holds 2 frames"):
        read_image(str(tmp_path / "apng.png"))


def test_a_tiffs_exif_is_written_back_upright(tmp_path, rng):
    """exif_transpose's copy of a TIFF drops its tags: Make and the EXIF block were lost."""
    exif = Image.Exif()
    exif[0x010F] = "keras_deblur test camera"  # Make
    exif[0x0112] = 6  # turned: rotate 90 degrees clockwise to view
    exif.get_ifd(0x8769)[0x9003] = "2026:11:30 12:00:00"  # DateTimeOriginal
    colour = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "in.tif", exif=exif.tobytes())
    source = read_image(str(tmp_path / "in.tif"))
    assert source.pixels.shape == (10, 6, 3)
    write_image(str(tmp_path / "out.tif"), source.pixels, source)
    with Image.open(tmp_path / "out.tif") as written:
        tags = written.getexif()
        assert written.size == (6, 10)
        assert tags[0x010F] == "keras_deblur test camera" and tags.get(0x0112, 1) == 1
        assert tags.get_ifd(0x8769)[0x9003] == "2026:11:30 12:00:00"
        np.testing.assert_array_equal(np.asarray(written), source.pixels)


def test_a_damaged_exif_block_is_a_data_error_naming_the_file(tmp_path, rng):
    """A short EXIF block raised struct.error: a traceback that stopped the other files."""
    colour = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "short.jpg", exif=b"Exif\0\0II*\0")
    with pytest.raises(DataError, match="short.jpg is not .* read: its EXIF block is damaged"):
        read_image(str(tmp_path / "short.jpg"))


def test_a_cameras_multi_picture_jpeg_is_read_as_its_main_image(tmp_path, rng):
    """Cameras and phones put previews or a gain map after the main image (MPO): such photos were
    refused as animations."""
    main = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    preview = Image.fromarray(main[::2, ::2].copy())
    Image.fromarray(main).save(
        tmp_path / "camera.jpg", "MPO", save_all=True, append_images=[preview]
    )
    assert Image.open(tmp_path / "camera.jpg").n_frames == 2
    source = read_image(str(tmp_path / "camera.jpg"))
    assert source.format == "JPEG" and source.pixels.shape == (12, 20, 3)
    write_image(str(tmp_path / "out.jpg"), source.pixels, source)
    with Image.open(tmp_path / "out.jpg") as written:
        assert written.format == "JPEG" and written.size == (20, 12)


def _tiff_16_bit_rgb(height, width):
    """An uncompressed little-endian TIFF of 16-bit RGB pixels (which PIL cannot write)."""
    pixels = np.arange(height * width * 3, dtype="<u2").reshape(height, width, 3) * 300
    entries = [  # tag, type (3 SHORT, 4 LONG), count, value or offset
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, 3, 8 + 2 + 10 * 12 + 4),  # BitsPerSample: 16, 16, 16 after the IFD
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 8 + 2 + 10 * 12 + 4 + 6),  # the pixels, after BitsPerSample
        (277, 3, 1, 3),
        (278, 3, 1, height),
        (279, 4, 1, pixels.nbytes),
        (284, 3, 1, 1),
    ]
    ifd = len(entries).to_bytes(2, "little")
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += (0).to_bytes(4, "little")
    return (
        b"II*\0"
        + (8).to_bytes(4, "little")
        + ifd
        + struct.pack("<3H", 16, 16, 16)
        + (pixels.tobytes())
    )


def test_16_bit_colour_tiffs_are_refused_not_read_at_8_bits(tmp_path):
    (tmp_path / "deep.tif").write_bytes(_tiff_16_bit_rgb(4, 5))
    assert Image.open(tmp_path / "deep.tif").mode == "RGB"  # what PIL makes of it: 8 bits
    with pytest.raises(DataError, match="deep.tif holds 16-bit colour"):
        read_image(str(tmp_path / "deep.tif"))


def test_a_cmyk_profile_is_not_written_on_rgb_pixels(tmp_path, rng):
    """A CMYK JPEG is deblurred and written as RGB: its CMYK profile then described nothing."""
    cmyk_profile = bytes(16) + b"CMYK" + bytes(108)
    ink = rng.integers(0, 256, (6, 10, 4), dtype=np.uint8)
    Image.fromarray(ink, "CMYK").save(tmp_path / "print.jpg", icc_profile=cmyk_profile)
    source = read_image(str(tmp_path / "print.jpg"))
    assert source.icc_profile is None
    write_image(str(tmp_path / "out.jpg"), source.pixels, source)
    assert "icc_profile" not in Image.open(tmp_path / "out.jpg").info


@pytest.mark.parametrize("lossless", [True, False])
def test_a_webp_is_written_back_lossless_if_it_was(tmp_path, rng, lossless):
    """Every WebP was written lossy at PIL's quality 80, lossless ones included."""
    colour = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "in.webp", lossless=lossless, quality=90)
    source = read_image(str(tmp_path / "in.webp"))
    assert source.lossless == lossless
    write_image(str(tmp_path / "out.webp"), source.pixels, source)
    assert (tmp_path / "out.webp").read_bytes()[12:16] == (b"VP8L" if lossless else b"VP8 ")
    if lossless:
        np.testing.assert_array_equal(read_image(str(tmp_path / "out.webp")).pixels, source.pixels)


@pytest.mark.parametrize("subsampling", [0, 2])  # 4:4:4, 4:2:0
def test_a_jpeg_keeps_its_chroma_subsampling(tmp_path, rng, subsampling):
    """Every JPEG was written 4:2:0 (PIL's default): a 4:4:4 photo lost half its colour detail."""
    from PIL import JpegImagePlugin

    colour = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "in.jpg", subsampling=subsampling)
    source = read_image(str(tmp_path / "in.jpg"))
    write_image(str(tmp_path / "out.jpg"), source.pixels, source)
    assert JpegImagePlugin.get_sampling(Image.open(tmp_path / "out.jpg")) == subsampling


def test_an_avif_is_written_at_the_quality_of_the_other_lossy_formats(tmp_path):
    """AVIFs were written at PIL's default quality, 75: 3 dB below the 95 of JPEG and WebP."""
    from skimage import data

    Image.fromarray(data.astronaut()[:256, :256]).save(tmp_path / "in.avif", quality=95)
    source = read_image(str(tmp_path / "in.avif"))
    write_image(str(tmp_path / "out.avif"), source.pixels, source)
    written = read_image(str(tmp_path / "out.avif")).pixels.astype(np.float64)
    error = np.mean((written - source.pixels) ** 2)
    assert 10 * np.log10(255**2 / error) > 43  # 46.2 dB at 95, 39.4 at 75


def _ftyp(major, *compatible):
    """The first box of an ISO base media file (HEIF, AVIF, MP4): size, "ftyp", major brand,
    version, compatible brands; then a few bytes of what would follow."""
    body = major + bytes(4) + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + bytes(32)


@pytest.mark.parametrize(
    "brands", [(b"heic", b"mif1", b"heic"), (b"mif1", b"mif1", b"heix"), (b"hevc",)]
)
def test_heic_is_named_with_what_to_do(tmp_path, brands):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(_ftyp(*brands))
    with pytest.raises(
        DataError,
        match=r"IMG_0001.HEIC is not an image this command can read: it is HEIC/HEIF .* save it "
        r"as JPEG first",
    ):
        read_image(str(path))


@pytest.mark.parametrize("brands", [(b"mif1", b"mif1", b"avif"), (b"isom", b"mp42")])
def test_another_iso_media_file_keeps_the_readers_message(tmp_path, brands):
    path = tmp_path / "file.heif"
    path.write_bytes(_ftyp(*brands))
    with pytest.raises(DataError, match="file.heif is not an image this command can read") as error:
        read_image(str(path))
    assert "HEIC" not in str(error.value)
