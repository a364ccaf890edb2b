"""Sharp photographs to blur: a folder of the user's, or the photos installed packages ship.

With no folder, the photos are those that scikit-image, scikit-learn and matplotlib install with
themselves (no download at run time): natural scenes (an astronaut, coffee, two motorcycles, a
rocket launch, a cat, a Chinese temple, a flower, Grace Hopper) and textures (brick, grass,
gravel, a cameraman). Grayscale ones become RGB. Their licences are those of the packages' sample
data.
"""

import importlib.resources
import os

import numpy as np
from absl import logging

from keras_deblur.errors import DataError

PACKAGED_PHOTOS = (
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/motorcycle_right.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/brick.png"),
    ("skimage", "data/grass.png"),
    ("skimage", "data/gravel.png"),
    ("skimage", "data/camera.png"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def packaged_photo_paths():
    """The paths of PACKAGED_PHOTOS that are installed here."""
    paths = []
    for package, name in PACKAGED_PHOTOS:
        try:
            path = importlib.resources.files(package) / name
        except ModuleNotFoundError:
            continue
        if path.is_file():
            paths.append(str(path))
    return paths


def _read(path, min_side):
    """The photo as uint8 RGB, or None (with a warning naming it) if unreadable or too small.
    Read as `deblur` reads a user's file (`image_files.read_image`: upright by its EXIF
    orientation, 16-bit and grayscale files too), then rounded to 8 bits."""
    from keras_deblur.serving.image_files import read_image

    try:
        pixels = read_image(path).pixels
    except DataError as error:
        logging.warning("skipping %s", error)
        return None
    if pixels.dtype == np.uint16:
        pixels = np.round(pixels / 257.0).astype(np.uint8)
    if min(pixels.shape[:2]) < min_side:
        logging.warning(
            "skipping %s: %dx%d, smaller than %d pixels on its short side",
            path,
            pixels.shape[1],
            pixels.shape[0],
            min_side,
        )
        return None
    return pixels


def load_photos(photos_dir="", min_side=256):
    """[(path, uint8 RGB array)] of the photos in `photos_dir` (sorted), or the packaged ones.

    Files that cannot be read or are smaller than `min_side` are named in a warning and skipped;
    a folder with no usable photo is a DataError.
    """
    if photos_dir:
        if not os.path.isdir(photos_dir):
            raise DataError(f"--photos_dir={photos_dir} is not a folder")
        names = sorted(name for name in os.listdir(photos_dir) if not name.startswith("."))
        paths = [os.path.join(photos_dir, n) for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
        others = [n for n in names if not n.lower().endswith(IMAGE_SUFFIXES)]
        if others:
            logging.warning(
                "skipping %d file(s) of --photos_dir=%s whose names are not %s: %s",
                len(others),
                photos_dir,
                "/".join(IMAGE_SUFFIXES),
                ", ".join(others),
            )
        where = f"--photos_dir={photos_dir}"
    else:
        paths = packaged_photo_paths()
        where = "the packaged photos (scikit-image, scikit-learn, matplotlib)"
    photos = [(path, pixels) for path in paths if (pixels := _read(path, min_side)) is not None]
    if not photos:
        raise DataError(f"{where}: no photo of at least {min_side} pixels on its short side")
    return photos
