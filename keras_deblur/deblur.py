"""Deblurs users' photos and videos: `deblur --input=<file|folder|glob> --output_dir=<folder>
[--model=...]`.

Also `python -m keras_deblur.deblur`. With no `--model`, the model the package ships deblurs them
(`models/presets.py`); `--model` is an export (a base path means its highest version) or a preset's
name; `--server=host:port` sends the images to TF Serving instead. `--ensemble=N` averages over N
flips and transpositions (2, 4 or 8; N times the time). Each image's deblurring time (model only,
not reading and writing) is printed as it is done. Any size runs, scale by scale in tiles that
give the whole image's pixels, sized from `--memory_budget` or `--tile_size`
(`serving/scale_tiling.py`; `--tile_overlap` and `--tile_batch` apply to exports older than that).

A video (.mp4, .m4v, .mov, .mkv, .avi) is deblurred frame by frame, streaming, into a video of the
same name, size, frame rate and audio (`serving/video_files.py`).

A file that cannot be read, deblurred or written (not an image, larger than `--max_megapixels`, an
animation, out of memory, a full disk) is reported by name and the others go on; at the end the
failures are counted and the exit status is 1. Outputs are written atomically and never replace a
file unless --overwrite (nor ever an input), even one that appears while its input is deblurred;
temporaries a killed run left in --output_dir are removed at the next start, and an --output_dir
this run made is removed again if every file failed.
"""

import collections
import glob
import os
import sys
import time

from absl import flags

from keras_deblur import cli, file_io
from keras_deblur import flags as f
from keras_deblur.errors import op_message
from keras_deblur.models.winograd import AUTO
from keras_deblur.progress import Progress
from keras_deblur.serving.image_files import DEFAULT_MAX_MEGAPIXELS


def input_files(pattern):
    """The files to deblur: one file, every file in a folder (sorted; its subfolders and hidden
    files are not read, and a line says how many), or a glob's matches."""
    if os.path.isdir(pattern):
        names = [n for n in os.listdir(pattern) if not file_io.is_temporary(n)]
        files = sorted(
            os.path.join(pattern, n)
            for n in names
            if os.path.isfile(os.path.join(pattern, n)) and not n.startswith(".")
        )
        if len(files) < len(names):
            print(
                f"not read in {pattern}: {len(names) - len(files)} subfolders and hidden files "
                "(deblur reads the folder's own files; pass a glob such as 'DIR/*/*.jpg' for more)"
            )
    elif os.path.isfile(pattern):
        files = [pattern]
    else:
        files = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    if not files:
        raise FileNotFoundError(f"--input={pattern} matches no files")
    return files


def _check_output_dir(output_dir):
    try:
        os.makedirs(output_dir, exist_ok=True)
        probe = os.path.join(output_dir, ".keras_deblur_write_test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as error:
        raise ValueError(
            f"--output_dir={output_dir} cannot be written: {error.strerror}"
        ) from error


def _check_distinct_names(files, output_dir):
    """Refuses inputs that share a file name: their outputs would overwrite each other in
    output_dir."""
    by_name = collections.defaultdict(list)
    for path in files:
        by_name[os.path.basename(path)].append(path)
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    if clashes:
        name, paths = sorted(clashes.items())[0]
        raise ValueError(
            f"{len(clashes)} file name(s) occur in several inputs, e.g. {' and '.join(paths)} "
            f"would "
            f"both be written to {os.path.join(output_dir, name)}; deblur each folder on its own"
        )


def _deblur_image(deblurrer, path, target, max_megapixels, overwrite):
    from keras_deblur.serving.image_files import check_writable, read_image, write_image

    source = read_image(path, max_megapixels)
    check_writable(path, source)
    start = time.perf_counter()
    deblurred = deblurrer.deblur(source.pixels)
    seconds = time.perf_counter() - start
    write_image(target, deblurred, source, overwrite)
    height, width = source.pixels.shape[:2]
    print(f"{path}: {width}x{height} deblurred in {seconds:.2f} s", flush=True)


def _deblur_video(deblurrer, path, target, max_megapixels, overwrite):
    from keras_deblur.serving.video_files import deblur_video

    width, height, frames, fps, seconds = deblur_video(
        deblurrer, path, target, max_megapixels, overwrite=overwrite
    )
    print(
        f"{path}: {width}x{height}, {frames} frames at {float(fps):.4g} fps deblurred in "
        f"{seconds:.2f} s ({seconds / frames:.2f} s per frame)",
        flush=True,
    )


def deblur_files(
    deblurrer, files, output_dir, overwrite=False, max_megapixels=DEFAULT_MAX_MEGAPIXELS
):
    """Deblurs each file into output_dir; returns {input path: error message} for the failures.

    An output_dir this call created is removed again if every file failed (it is then empty)."""
    import tensorflow as tf

    from keras_deblur.serving.video_files import is_video

    _check_distinct_names(files, output_dir)
    created = not os.path.isdir(output_dir)
    _check_output_dir(output_dir)
    file_io.remove_dead_leftovers(output_dir)
    failures = {}
    progress = Progress(len(files), "image", "deblur")
    for index, path in enumerate(files, start=1):
        target = os.path.join(output_dir, os.path.basename(path))
        try:
            # Real paths: an --output_dir that is a link to (or inside a link to) the input folder
            # names the input under another path.
            if os.path.realpath(target) == os.path.realpath(path):
                raise ValueError("the output would replace the input; choose another --output_dir")
            if os.path.exists(target) and not overwrite:
                raise FileExistsError(f"{target} exists (pass --overwrite to replace it)")
            deblur_file = _deblur_video if is_video(path) else _deblur_image
            try:
                deblur_file(deblurrer, path, target, max_megapixels, overwrite)
            except tf.errors.AlreadyExistsError:  # another run, or the user, wrote it meanwhile
                raise FileExistsError(
                    f"{target} appeared while it was being deblurred; kept it (pass --overwrite "
                    "to replace it)"
                ) from None
        except (ValueError, OSError, MemoryError, tf.errors.OpError) as error:
            message = (
                op_message(error.message)
                if isinstance(error, tf.errors.OpError)
                else str(error) or type(error).__name__
            )
            failures[path] = message
            named = message if message.startswith(path) else f"{path}: {message}"
            print(f"\nerror: {named}", flush=True)
        progress.update(index)
    if created and len(failures) == len(files) and not os.listdir(output_dir):
        os.rmdir(output_dir)
    return failures


# How the model runs on this machine; with --server, TF Serving runs the model it serves as that
# export was made (its own ensemble, its direct convolutions, whole images).
_LOCAL_FLAGS = (
    "model",
    "tile_size",
    "tile_overlap",
    "tile_batch",
    "memory_budget",
    "ensemble",
    "conv_algorithm",
    "mixed_precision",
)


def _check_where_it_runs(server):
    """Refuses flags of the other place the model runs: with --server, those of a model run here
    (they were ignored without a word); without it, --model_name."""
    if server:
        given = [f"--{name}" for name in _LOCAL_FLAGS if flags.FLAGS[name].present]
        if given:
            raise ValueError(
                f"{', '.join(given)}: with --server={server}, TF Serving runs the model as it was "
                "exported (`export --ensemble=N` averages there); these apply to a model run on "
                "this machine: remove them"
            )
    elif flags.FLAGS["model_name"].present:
        raise ValueError("--model_name names the model a --server serves; give --server too")


FLAGS_USED = (
    "input",
    "output_dir",
    "server",
    "model_name",
    *_LOCAL_FLAGS,
    "overwrite",
    "max_megapixels",
)


# What --conv_algorithm=auto's choice means, as the command prints it.
_WHY_CONVS = {
    "winograd": "float32: Winograd, each conv compiled by XLA for each tile size",
    "direct": "Winograd computes in float32 only, and an export holds direct convolutions",
}


def requested_precision(flag, conv_algorithm):
    """The precision `deblur` asks for: --mixed_precision if given, else `auto` (bf16 where this
    CPU runs it faster: the shipped model deblurs a 1280x720 photo in 7.0 s instead of 14.0 with
    float32's direct convolutions on 2 Zen 4 cores, and scores the same on real-dev; BUILD.md),
    but float32 for Winograd convolutions, which run in float32 only. Where `auto` lands on
    float32, --conv_algorithm=auto runs Winograd convolutions (`Deblurrer`).
    `--mixed_precision=float32` gives the same pixels on every machine."""
    if flag:
        return flag
    return "float32" if conv_algorithm == "winograd" else "auto"


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    from keras_deblur.serving.deblurrer import Deblurrer, RemoteDeblurrer

    f.check_deblur_numbers()
    _check_where_it_runs(f.SERVER.value)
    files = input_files(f.INPUT.value)
    if f.SERVER.value:
        deblurrer = RemoteDeblurrer(f.SERVER.value, f.MODEL_NAME.value)
    else:
        budget = f.MEMORY_BUDGET_GIB.value
        asked = requested_precision(f.MIXED_PRECISION.value, f.CONV_ALGORITHM.value)
        deblurrer = Deblurrer(
            f.MODEL_PATH.value,
            f.TILE_SIZE_PX.value,
            f.TILE_OVERLAP_PX.value,
            f.TILE_BATCH.value,
            memory_budget=None if budget is None else int(budget * 2**30),
            ensemble=f.ENSEMBLE.value,
            conv_algorithm=f.CONV_ALGORITHM.value,
            mixed_precision=asked,
        )
        if asked == "auto":
            from keras_deblur.precision import describe

            print(describe(deblurrer.precision, deblurrer.precision_why))
        if f.CONV_ALGORITHM.value == AUTO:
            print(
                f"convolutions: {deblurrer.conv_algorithm} ({_WHY_CONVS[deblurrer.conv_algorithm]})"
            )
    failures = deblur_files(
        deblurrer, files, f.OUTPUT_DIR.value, f.OVERWRITE.value, f.MAX_MEGAPIXELS.value
    )
    print(
        f"deblurred {len(files) - len(failures)} of {len(files)} images into {f.OUTPUT_DIR.value}"
    )
    if failures:
        print(
            f"error: {len(failures)} of {len(files)} images failed (each named above)",
            file=sys.stderr,
        )
    return 1 if failures else 0


def run():
    """The `deblur` console script."""
    flags.mark_flags_as_required(["input", "output_dir"])
    cli.run(main, FLAGS_USED)


if __name__ == "__main__":
    run()
