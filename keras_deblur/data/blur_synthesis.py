"""The paper's blur synthesis (section 2, eq. 2-3): average consecutive sharp frames of a fast
video.

    B = g( 1/M * sum_i g^-1(S[i]) ),  with the camera response g(x) = x^(1/gamma)

so g^-1(x) = x^gamma takes 8-bit frames back to (approximately) linear light before averaging.
gamma = 2.2 is the paper's; gamma = 1 is plain averaging. The sharp target is the middle frame.
"""

import dataclasses
import posixpath

import numpy as np
import tensorflow as tf
from absl import logging

from keras_deblur import file_io
from keras_deblur.data import images
from keras_deblur.data.blur_math import DEFAULT_GAMMA, middle_index, synthesize_blur, to_uint8
from keras_deblur.data.dataset_folder import claim
from keras_deblur.data.png_info import OTHER_IMAGE_SUFFIXES
from keras_deblur.errors import DataError, op_message


@dataclasses.dataclass(frozen=True)
class SynthesisConfig:
    """How `synthesize_tree` turns high-speed frames into pairs."""

    min_frames: int = 7
    max_frames: int = 13
    gamma: float = DEFAULT_GAMMA
    test_fraction: float = 0.3
    seed: int = 0
    skip_bad_pairs: bool = False

    def __post_init__(self):
        if not 1 <= self.min_frames <= self.max_frames:
            raise ValueError(
                "need 1 <= min_frames <= max_frames, got "
                f"min_frames={self.min_frames}, max_frames={self.max_frames}"
            )
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")
        # Checked here, before the output folder records it (synthesize_blur checks it too late).
        if not self.gamma > 0:
            raise ValueError(f"gamma must be > 0, got {self.gamma}")


GOPRO_KEYS = ("sharp", "blur", "blur_gamma")


def write_gopro_pair(output_dir, split, sequence, frame_name, sharp, blur, blur_gamma):
    """Writes one pair in the GOPRO layout: blur (linear), blur_gamma (camera response) and
    sharp."""
    for key, pixels in zip(GOPRO_KEYS, (sharp, blur, blur_gamma)):
        images.write_png(posixpath.join(output_dir, split, sequence, key, frame_name), pixels)


def pair_written(output_dir, split, sequence, frame_name):
    """Whether all three files of a pair exist (each is written atomically: existing means
    complete)."""
    return all(
        tf.io.gfile.exists(posixpath.join(output_dir, split, sequence, key, frame_name))
        for key in GOPRO_KEYS
    )


def _check_outside(output_dir, frames_dir):
    """Refuses an --output_dir inside --frames_dir (or the same folder): its pairs' folders would
    be read as sequences of frames by the next run."""
    if file_io.is_inside(output_dir, frames_dir):
        raise DataError(
            f"--output_dir={output_dir} is inside --frames_dir={frames_dir}: a rerun would read "
            "the pairs it writes as frames; choose a folder outside it"
        )


def _frame_sequences(frames_dir, config):
    """[(split, sequence folder, sorted PNG frame paths, frames in other image formats)] (see
    `_frames_of`); keeps a train/test split the folder has."""

    def sequences_in(folder):
        names = sorted(
            n.rstrip("/")
            for n in tf.io.gfile.listdir(folder)
            if tf.io.gfile.isdir(posixpath.join(folder, n))
        )
        return [_frames_of(posixpath.join(folder, n)) for n in names]

    if not tf.io.gfile.isdir(frames_dir):
        raise DataError(f"--frames_dir {frames_dir} is not a folder")
    own_splits = [s for s in ("train", "test") if tf.io.gfile.isdir(posixpath.join(frames_dir, s))]
    if own_splits:
        others = [
            name.rstrip("/")
            for name in sorted(tf.io.gfile.listdir(frames_dir))
            if name.rstrip("/") not in own_splits
            and not name.startswith(".")
            and tf.io.gfile.isdir(posixpath.join(frames_dir, name))
        ]
        if others:  # beside train/ and test/, a sequence folder would be left out without a word
            logging.warning(
                "%s has train/ or test/: only those are read; leaving out the folder(s) %s",
                frames_dir,
                ", ".join(others),
            )
        found = [
            (s, *sequence)
            for s in own_splits
            for sequence in sequences_in(posixpath.join(frames_dir, s))
        ]
    else:
        found = sequences_in(frames_dir)
        order = np.random.default_rng(config.seed).permutation(len(found))
        num_test = int(round(len(found) * config.test_fraction))
        test = set(order[:num_test].tolist())
        found = [("test" if i in test else "train", *sequence) for i, sequence in enumerate(found)]
    if not found:
        raise DataError(f"{frames_dir} holds no sequence folders of PNG frames")
    return found


def _frames_of(folder):
    """(folder, sorted PNG frame paths, sorted paths of frames in other image formats) of one
    sequence folder; hidden files (".DS_Store", macOS's "._0001.png") are neither."""
    frames, foreign = [], []
    for name in sorted(n.rstrip("/") for n in tf.io.gfile.listdir(folder)):
        path = posixpath.join(folder, name)
        if name.startswith("."):
            continue
        if name.lower().endswith(".png"):
            frames.append(path)
        elif name.lower().endswith(OTHER_IMAGE_SUFFIXES):  # gaps in time
            foreign.append(path)
    return folder, frames, foreign


def synthesize_tree(frames_dir, output_dir, config=SynthesisConfig(), overwrite=False):
    """Synthesises a GOPRO-layout dataset from folders of consecutive sharp frames.

    `output_dir` is claimed first (`dataset_folder.claim`: the settings are recorded; the same
    settings resume, skipping pairs whose three files exist; others are refused unless `overwrite`).

    Each sequence is cut into consecutive, non-overlapping windows of M frames, M drawn uniformly
    from [min_frames, max_frames] for each window (seeded); frames left over at the end of a
    sequence, fewer than the next M, are not used. Each window gives one pair named after its
    middle frame. A sequence shorter than min_frames is a DataError naming it (or, with
    skip_bad_pairs, logged and skipped).

    Returns:
      {"pairs": {split: count}, "skipped": [(path, reason)]}.
    """
    _check_outside(output_dir, frames_dir)
    sequences = _frame_sequences(frames_dir, config)
    # skip_bad_pairs decides whether a bad sequence stops the run, not what a written pair holds.
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "skip_bad_pairs"}
    claim(
        output_dir,
        "keras_deblur.data.synthesize",
        {
            "frames_dir": posixpath.abspath(frames_dir) if "://" not in frames_dir else frames_dir,
            **settings,
            # The drawn split depends on how many sequences there are: a resume after sequences
            # were added would put a sequence in both splits, so it is refused as other settings.
            "test_sequences": sorted(
                posixpath.basename(folder) for split, folder, *_ in sequences if split == "test"
            ),
        },
        overwrite,
    )
    rng = np.random.default_rng(config.seed)
    counts = {"train": 0, "test": 0}
    skipped = []
    for split, folder, paths, foreign in sequences:
        sequence = posixpath.basename(folder)
        problem = None
        if foreign:
            # Left out, it would leave a gap in time between the frames around it.
            problem = (
                f"holds {posixpath.basename(foreign[0])}, not a PNG frame"
                + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else "")
                + "; frames must all be PNG: convert them, or move other files out"
            )
        elif len(paths) < config.min_frames:
            problem = f"has {len(paths)} PNG frames, fewer than --min_frames={config.min_frames}"
        if problem:
            if not config.skip_bad_pairs:
                raise DataError(f"sequence folder {folder} {problem}")
            logging.warning("skipping sequence folder %s: %s", folder, problem)
            skipped.append((folder, problem))
            continue
        start = 0
        while True:
            num_frames = int(rng.integers(config.min_frames, config.max_frames + 1))
            window = paths[start : start + num_frames]
            if len(window) < num_frames:
                break
            frame_name = posixpath.basename(window[middle_index(num_frames)])
            if not pair_written(
                output_dir, split, sequence, frame_name
            ):  # else done by an earlier run
                try:
                    frames = _read_frames(window)
                except DataError as error:
                    if not config.skip_bad_pairs:
                        raise
                    logging.warning("skipping the pair of frame %s: %s", frame_name, error)
                    skipped.append((window[middle_index(num_frames)], str(error)))
                    start += num_frames
                    continue
                write_gopro_pair(
                    output_dir,
                    split,
                    sequence,
                    frame_name,
                    sharp=to_uint8(frames[middle_index(num_frames)]),
                    blur=synthesize_blur(frames, gamma=1.0),
                    blur_gamma=synthesize_blur(frames, gamma=config.gamma),
                )
            counts[split] += 1
            start += num_frames
        logging.info("sequence %s (%s): %d pairs so far", sequence, split, sum(counts.values()))
    return {"pairs": counts, "skipped": skipped}


def _read_frames(paths):
    """Decodes one window of frames to [M, H, W, 3] floats; a bad or odd-sized frame is named."""
    frames = []
    for path in paths:
        try:
            frames.append(images.read_png(path))
        except tf.errors.OpError as error:
            raise DataError(f"cannot decode frame {path}: {op_message(error.message)}") from error
        if frames[-1].shape != frames[0].shape:
            raise DataError(
                f"frame {path} is {frames[-1].shape[1]}x{frames[-1].shape[0]}, "
                f"but {paths[0]} is {frames[0].shape[1]}x{frames[0].shape[0]}"
            )
    return np.stack(frames)
