"""Renders the embedded dataset: `python -m keras_deblur.data.scenes --output_dir=DIR`.

    python -m keras_deblur.data.scenes --output_dir=data/scenes --num_pairs=200 --size=256 --seed=0

writes `DIR/{train,test}/sceneNNN/{blur,blur_gamma,sharp}/NNNNNN.png` (the GOPRO layout) and
`DIR/scenes_summary.json`, and prints a summary: pairs per split, blurry-vs-sharp PSNR, the share of
pixels that objects move. Pair i of a split is rendered from the seed (seed, split, i) alone, so a
scene does not depend on --num_pairs or on the number of workers.

The settings are recorded in `DIR/dataset.json` before anything else (`dataset_folder.claim`): a
rerun with the same settings skips the pairs already in `DIR/render_log.jsonl` (so a killed render
resumes), other settings are refused unless --overwrite, and a non-empty folder that is not such a
dataset is refused.
"""

import dataclasses
import functools
import json
import multiprocessing
import os
import posixpath
import time

import numpy as np

from keras_deblur import cli
from keras_deblur import flags as deblur_flags
from keras_deblur.metrics import psnr_uint8
from keras_deblur.progress import Progress

PAIRS_PER_SEQUENCE = 25


def split_sizes(num_pairs, test_fraction):
    """(train, test) pair counts; at least one test pair when there are two pairs or more."""
    num_test = int(round(num_pairs * test_fraction))
    if num_pairs >= 2:
        num_test = min(max(num_test, 1), num_pairs - 1)
    return num_pairs - num_test, num_test


def _pair_name(split, index):
    return f"{split}/{index:06d}"


def _where(split, index):
    """(sequence folder, file name) of pair `index` of `split`."""
    return f"scene{index // PAIRS_PER_SEQUENCE:03d}", f"{index:06d}.png"


def _written(output_dir, split, index, *_):
    from keras_deblur.data.blur_synthesis import pair_written

    return pair_written(output_dir, split, *_where(split, index))


@functools.lru_cache(maxsize=2)
def _photos(photos_dir, size):
    from keras_deblur.data.photo_sources import load_photos

    return [pixels for _, pixels in load_photos(photos_dir, min_side=size)]


def _render_and_write(job):
    """Renders pair `index` of `split` and writes it; returns its statistics. Runs in a worker."""
    from keras_deblur.data.blur_synthesis import write_gopro_pair
    from keras_deblur.data.scene_mix import pair_rng, render_scene

    output_dir, split, index, seed, config = job
    photos = _photos(config.photos_dir, config.size) if config.photo_blur_probability > 0 else ()
    pair = render_scene(pair_rng(seed, split, index), config, photos)
    write_gopro_pair(
        output_dir,
        split,
        *_where(split, index),
        sharp=pair.sharp,
        blur=pair.blur,
        blur_gamma=pair.blur_gamma,
    )
    return {
        "name": _pair_name(split, index),
        "split": split,
        "psnr_blur_gamma": psnr_uint8(pair.blur_gamma, pair.sharp),
        "psnr_blur": psnr_uint8(pair.blur, pair.sharp),
        "object_fraction": pair.object_fraction,
        "num_frames": pair.num_frames,
    }


def render_dataset(
    output_dir, num_pairs, seed, config, test_fraction=0.3, num_workers=1, overwrite=False
):
    """Renders and writes `num_pairs` pairs (resuming a killed render of the same settings); returns
    the summary dict (also written as JSON)."""
    from keras_deblur.data.dataset_folder import claim
    from keras_deblur.data.scene_rendering import RENDERER_VERSION
    from keras_deblur.progress_log import ProgressLog

    if num_pairs < 1:
        raise ValueError(f"--num_pairs must be >= 1, got {num_pairs}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"--test_fraction must be in [0, 1), got {test_fraction}")
    settings = {
        "renderer_version": RENDERER_VERSION,
        "num_pairs": num_pairs,
        "seed": seed,
        "test_fraction": test_fraction,
        "config": dataclasses.asdict(config),
    }
    if config.photo_blur_probability > 0:
        _photos(config.photos_dir, config.size)  # a bad --photos_dir stops here, before any work
    claim(output_dir, "keras_deblur.data.scenes", settings, overwrite)
    log = ProgressLog(posixpath.join(output_dir, "render_log.jsonl"), settings)
    num_train, num_test = split_sizes(num_pairs, test_fraction)
    jobs = [(output_dir, "train", i, seed, config) for i in range(num_train)]
    jobs += [(output_dir, "test", i, seed, config) for i in range(num_test)]
    done_before = len(jobs)
    jobs = [job for job in jobs if not (_pair_name(job[1], job[2]) in log.rows and _written(*job))]
    done_before -= len(jobs)
    start = time.perf_counter()
    # "spawn": TensorFlow (loaded by the writer) is not fork-safe once initialised.
    context = multiprocessing.get_context("spawn")
    progress = Progress(len(jobs), "pair", "render")
    with context.Pool(num_workers) if num_workers > 1 and jobs else _InProcess() as pool:
        for done, result in enumerate(pool.imap(_render_and_write, jobs), start=1):
            log.append(result)
            progress.update(done)
    stats = list(log.rows.values())
    summary = {
        "output_dir": output_dir,
        "seed": seed,
        "config": dataclasses.asdict(config),
        "pairs": {"train": num_train, "test": num_test},
        "resumed_pairs": done_before,
        "seconds": time.perf_counter() - start,
        "psnr_blur_gamma_mean": float(np.mean([s["psnr_blur_gamma"] for s in stats])),
        "psnr_blur_mean": float(np.mean([s["psnr_blur"] for s in stats])),
        "psnr_blur_gamma_range": [
            float(min(s["psnr_blur_gamma"] for s in stats)),
            float(max(s["psnr_blur_gamma"] for s in stats)),
        ],
        "object_fraction_mean": float(np.mean([s["object_fraction"] for s in stats])),
        "frames_mean": float(np.mean([s["num_frames"] for s in stats])),
    }
    from keras_deblur.file_io import write_text

    write_text(posixpath.join(output_dir, "scenes_summary.json"), json.dumps(summary, indent=2))
    return summary


class _InProcess:
    """Pool-shaped stand-in that runs jobs here, for one worker (no process start-up cost)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, jobs):
        return map(fn, jobs)


def format_summary(summary):
    resumed = summary.get("resumed_pairs", 0)
    return "\n".join(
        [
            f"wrote {summary['pairs']['train']} train + {summary['pairs']['test']} test pairs "
            f"to {summary['output_dir']} in {summary['seconds']:.1f} s"
            + (
                f" ({resumed} of them rendered by an earlier run with the same settings)"
                if resumed
                else ""
            ),
            f"blurry vs sharp PSNR, blur_gamma: mean {summary['psnr_blur_gamma_mean']:.2f} dB "
            f"(range {summary['psnr_blur_gamma_range'][0]:.2f} to "
            f"{summary['psnr_blur_gamma_range'][1]:.2f})",
            f"blurry vs sharp PSNR, blur (linear): mean {summary['psnr_blur_mean']:.2f} dB",
            f"pixels moved by objects, not only the camera: "
            f"{100 * summary['object_fraction_mean']:.1f}% on average",
            f"frames averaged per pair: {summary['frames_mean']:.1f} on average",
        ]
    )


FLAGS_USED = (
    "output_dir",
    "num_pairs",
    "size",
    "seed",
    "min_frames",
    "max_frames",
    "gamma",
    "test_fraction",
    "num_workers",
    "overwrite",
    "photos_dir",
    "photo_blur_probability",
    "photo_max_blur",
    "photo_blur_skew",
    "photo_num_objects",
    "photo_object_size",
    "photo_camera_frames",
    "photo_optics_blur",
)


def _pair_flag(flag, kind):
    """A (low, high) flag as a tuple of `kind`; None when not given."""
    if not flag.value:
        return None
    try:
        low, high = (kind(value) for value in flag.value)
    except ValueError:
        raise ValueError(
            f"--{flag.name} must be two {kind.__name__} values LOW,HIGH, got {','.join(flag.value)}"
        ) from None
    return (low, high)


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    from keras_deblur.data.scene_rendering import SceneConfig

    config = SceneConfig(
        size=deblur_flags.SIZE_PX.value,
        min_frames=deblur_flags.MIN_FRAMES.value,
        max_frames=deblur_flags.MAX_FRAMES.value,
        gamma=deblur_flags.GAMMA.value,
        photo_blur_probability=deblur_flags.PHOTO_BLUR_PROBABILITY.value,
        photos_dir=deblur_flags.PHOTOS_DIR.value,
        photo_max_blur=deblur_flags.PHOTO_MAX_BLUR.value,
        photo_blur_skew=deblur_flags.PHOTO_BLUR_SKEW.value,
        photo_num_objects=_pair_flag(deblur_flags.PHOTO_NUM_OBJECTS, int),
        photo_object_size=_pair_flag(deblur_flags.PHOTO_OBJECT_SIZE, float),
        photo_camera_frames=_pair_flag(deblur_flags.PHOTO_CAMERA_FRAMES, int),
        photo_optics_blur=_pair_flag(deblur_flags.PHOTO_OPTICS_BLUR, float),
    )
    workers = deblur_flags.NUM_WORKERS.value or os.cpu_count() or 1
    summary = render_dataset(
        deblur_flags.OUTPUT_DIR.value,
        deblur_flags.NUM_PAIRS.value,
        deblur_flags.SEED.value,
        config,
        test_fraction=deblur_flags.TEST_FRACTION.value,
        num_workers=workers,
        overwrite=deblur_flags.OVERWRITE.value,
    )
    print(format_summary(summary))


if __name__ == "__main__":
    deblur_flags.flags.mark_flag_as_required("output_dir")
    cli.run(main, FLAGS_USED)
