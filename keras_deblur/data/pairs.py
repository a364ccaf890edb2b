"""Finds (blurry, sharp) pairs in a GOPRO-layout tree and checks them before anything trains.

Layout: `<root>/<split>/<sequence>/{blur,blur_gamma,sharp}/<frame>.png`, the layout of GOPRO_Large
and of everything `synthesize` and `scenes` write. `blur` holds blur averaged linearly and
`blur_gamma` blur averaged after undoing the camera response (paper eq. 3). Works on local paths
and any `tf.io.gfile` scheme (gs://...).
"""

import concurrent.futures
import dataclasses
import posixpath

import tensorflow as tf
from absl import logging

from keras_deblur.data.png_info import OTHER_IMAGE_SUFFIXES, read_png_info
from keras_deblur.errors import DataError, op_message

SPLITS = ("train", "test")
BLUR_KEYS = ("blur", "blur_gamma")
# The paper's blur (section 2, eq. 3: frames averaged through the camera response), the default of
# the authors' Lua and PyTorch code; "blur" (a linear average) is GOPRO's other folder.
DEFAULT_BLUR_KEY = "blur_gamma"
SHARP_KEY = "sharp"
LAYOUT = "<root>/<split>/<sequence>/{blur,blur_gamma,sharp}/<frame>.png"
_MAX_LISTED_PROBLEMS = 20


@dataclasses.dataclass(frozen=True)
class Pair:
    """One training or test example: two PNG paths of the same size."""

    blurry: str
    sharp: str
    name: str  # "<sequence>/<frame>.png", unique within a split
    height: int
    width: int


@dataclasses.dataclass(frozen=True)
class Discovery:
    """What `discover_pairs` found: the usable pairs, and what it skipped with the reason."""

    pairs: tuple
    skipped: tuple  # ("path", "reason") for each skipped file or folder


def _join(*parts):
    # tf.io.gfile paths (gs://...) always use "/"; os.path.join would break them on Windows.
    return posixpath.join(*parts)


def _png_names(folder):
    return {name for name in tf.io.gfile.listdir(folder) if name.lower().endswith(".png")}


def _decodes(path):
    """None if the PNG's pixels decode, else the problem (corruption inside a complete file)."""
    try:
        tf.io.decode_png(tf.io.read_file(path), channels=3, dtype=tf.uint16)
    except tf.errors.OpError as error:
        return f"cannot decode {path}: {op_message(error.message)}"
    return None


def _check_pair(blurry, sharp, check_pixels):
    """The PngInfo of a usable pair, or the problem that makes it unusable (a string)."""
    try:
        blurry_info, sharp_info = read_png_info(blurry), read_png_info(sharp)
    except DataError as error:
        return str(error)
    if check_pixels:
        problem = _decodes(blurry) or _decodes(sharp)
        if problem:
            return problem
    if (blurry_info.height, blurry_info.width) != (sharp_info.height, sharp_info.width):
        return (
            f"sizes differ: {blurry} is {blurry_info.width}x{blurry_info.height}, "
            f"{sharp} is {sharp_info.width}x{sharp_info.height}"
        )
    return blurry_info


def _sequence_candidates(split_dir, sequence, blur_key, problems):
    """(blurry, sharp, name) for each frame of one sequence; missing partners go to `problems`."""
    folders = {key: _join(split_dir, sequence, key) for key in (blur_key, SHARP_KEY)}
    missing = [folder for folder in folders.values() if not tf.io.gfile.isdir(folder)]
    if missing:
        problems.extend((folder, "folder is missing") for folder in missing)
        return []
    blurry_names, sharp_names = _png_names(folders[blur_key]), _png_names(folders[SHARP_KEY])
    for folder in folders.values():
        for name in sorted(tf.io.gfile.listdir(folder)):
            if name.lower().endswith(OTHER_IMAGE_SUFFIXES) and not name.startswith("."):
                problems.append((_join(folder, name), "is not a PNG (the layout's images are)"))
    for name in sorted(blurry_names - sharp_names):
        problems.append(
            (_join(folders[blur_key], name), f"has no sharp partner in {folders[SHARP_KEY]}")
        )
    for name in sorted(sharp_names - blurry_names):
        problems.append(
            (_join(folders[SHARP_KEY], name), f"has no blurry partner in {folders[blur_key]}")
        )
    return [
        (_join(folders[blur_key], name), _join(folders[SHARP_KEY], name), f"{sequence}/{name}")
        for name in sorted(blurry_names & sharp_names)
    ]


def discover_pairs(root, split, blur_key=DEFAULT_BLUR_KEY, skip_bad_pairs=False, check_pixels=True):
    """Lists and checks every pair of one split.

    Each file's PNG header and trailer are read, and with `check_pixels` its pixels are decoded
    once: a missing partner, a non-PNG, truncated or corrupt file, or a pair whose sizes differ is a
    DataError that names the file, unless `skip_bad_pairs`, in which case each is logged and
    returned in `Discovery.skipped`. Without `check_pixels` (faster on slow storage: the full GOPRO
    set takes ~1 min to decode on 2 cores) corruption inside a complete PNG only shows as
    TensorFlow's decode error when training reaches it.

    Args:
      root: the dataset root (local path or gs://...).
      split: "train" or "test".
      blur_key: "blur" or "blur_gamma", the folder of blurry images.
      skip_bad_pairs: skip and report bad pairs instead of failing.
      check_pixels: decode every image once (in parallel threads) to find corrupt files now.

    Returns:
      A Discovery whose pairs are sorted by name.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if blur_key not in BLUR_KEYS:
        raise ValueError(f"blur_key must be one of {BLUR_KEYS}, got {blur_key!r}")
    split_dir = _join(root, split)
    if not tf.io.gfile.isdir(split_dir):
        raise DataError(f"{split_dir} does not exist; expected the GOPRO layout {LAYOUT}")
    sequences = sorted(
        name.rstrip("/")
        for name in tf.io.gfile.listdir(split_dir)
        if tf.io.gfile.isdir(_join(split_dir, name))
    )
    if not sequences:
        raise DataError(
            f"{split_dir} holds no sequence folders; expected the GOPRO layout {LAYOUT}"
        )

    problems = []
    candidates = []
    for sequence in sequences:
        candidates.extend(_sequence_candidates(split_dir, sequence, blur_key, problems))
    # Header reads are I/O-bound (and slow on object stores): read them in parallel.
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        checks = list(pool.map(lambda c: _check_pair(c[0], c[1], check_pixels), candidates))
    pairs = []
    for (blurry, sharp, name), check in zip(candidates, checks):
        if isinstance(check, str):
            problems.append((blurry, check))
        else:
            pairs.append(Pair(blurry, sharp, name, check.height, check.width))

    if problems and not skip_bad_pairs:
        listed = "\n".join(
            f"  {path}: {reason}" for path, reason in problems[:_MAX_LISTED_PROBLEMS]
        )
        more = len(problems) - _MAX_LISTED_PROBLEMS
        raise DataError(
            f"{len(problems)} bad pair(s) under {split_dir} (pass --skip_bad_pairs to skip them):\n"
            f"{listed}" + (f"\n  ... and {more} more" if more > 0 else "")
        )
    for path, reason in problems:
        logging.warning("skipping %s: %s", path, reason)
    if problems:
        logging.warning(
            "skipped %d bad pair(s) under %s; %d usable", len(problems), split_dir, len(pairs)
        )
    if not pairs:
        raise DataError(f"no usable pairs under {split_dir}; expected the GOPRO layout {LAYOUT}")
    return Discovery(pairs=tuple(pairs), skipped=tuple(problems))
