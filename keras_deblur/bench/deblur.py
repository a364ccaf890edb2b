"""Bench section `deblur`: the Deblurrer API (what the `deblur` command runs) with the paper model.

Each case runs in a fresh process, so its peak resident memory (the kernel's ru_maxrss of that
process: TensorFlow, the model and the image together) is its own. The paper generator has random
weights (seed 0) unless `--saved_model` names a trained export; speed does not depend on the
weights. Cases: 1280x720 and 4000x3000 in fp32 and mixed_bfloat16 at 512-pixel tiles (exact,
scale by scale: `serving/scale_tiling.py`), 4000x3000 fp32 also at 256-pixel tiles; and the largest
difference between the tiled and the whole-image output of a 1280x720 image at 512-pixel tiles.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from keras_deblur.bench import Row

CASE_MARK = "[bench-case] "


def photo_like_image(height, width):
    """A deterministic photo-like image: smooth colour fields plus fine texture."""
    rng = np.random.default_rng(0)
    coarse = (
        rng.random((height // 64 + 2, width // 64 + 2, 3))
        .repeat(64, 0)
        .repeat(64, 1)[:height, :width]
    )
    return np.clip(0.8 * coarse + 0.2 * rng.random((height, width, 3)), 0, 1).astype(np.float32)


def export_paper_model(export_dir, precision):
    """Exports the paper generator (random weights, seed 0) built under `precision`."""
    import keras

    from keras_deblur.models import build_generator_from_spec
    from keras_deblur.precision import dtype_policy
    from keras_deblur.serving import saved_model

    keras.utils.set_random_seed(0)
    with dtype_policy(precision):
        return saved_model.export(build_generator_from_spec("paper"), export_dir, version=1)


def case(path, height, width, tile_size, compare_whole):
    """Runs in the child process: times one deblur, and prints its result as one JSON line."""
    import time

    from keras_deblur.serving.deblurrer import Deblurrer
    from keras_deblur.serving.scale_tiling import deblur_exact

    deblurrer = Deblurrer(path, tile_size=tile_size)
    image = photo_like_image(height, width)
    start = time.perf_counter()
    deblurrer.deblur(image)
    result = {"seconds": time.perf_counter() - start}
    if compare_whole:
        whole = deblurrer._run_batch(image[None])[0]
        tiled = deblur_exact(deblurrer.scales, image, tile_size)
        result["tiled_vs_whole_max_abs"] = float(np.abs(tiled - whole).max())
    print(CASE_MARK + json.dumps(result), flush=True)


def _run_case(path, height, width, tile_size, compare_whole=False):
    code = (
        f"from keras_deblur.bench.deblur import case; "
        f"case({path!r}, {height}, {width}, {tile_size}, {compare_whole})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(
            f"bench deblur case {height}x{width} tile {tile_size} failed ({process.returncode})"
        )
    line = next(line for line in output.splitlines() if line.startswith(CASE_MARK))
    return {**json.loads(line[len(CASE_MARK) :]), "peak_gb": usage.ru_maxrss * 1024 / 1e9}


def run(config):
    from keras_deblur import flags as f

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        exports = {}
        for precision in ("float32", "mixed_bfloat16"):
            exports[precision] = export_paper_model(os.path.join(scratch, precision), precision)
        sizes = [(720, 1280)] if config.quick else [(720, 1280), (3000, 4000)]
        cases = [
            (precision, size, 512) for size in sizes for precision in ("float32", "mixed_bfloat16")
        ]
        if not config.quick:
            cases.append(("float32", (3000, 4000), 256))
        for precision, (height, width), tile in cases:
            label = f"{width}x{height} {precision}, tile {tile}"
            print(f"[bench] deblur: {label} ...", flush=True)
            result = _run_case(exports[precision], height, width, tile)
            rows += [
                Row("deblur", label, result["seconds"], "s/image"),
                Row("deblur", label + " peak memory", result["peak_gb"], "GB"),
            ]
        trained = f.SAVED_MODEL.value
        print("[bench] deblur: tiled vs whole 1280x720 ...", flush=True)
        result = _run_case(trained or exports["float32"], 720, 1280, 512, compare_whole=True)
        which = f"trained model {trained}" if trained else "random-weight paper model"
        rows.append(
            Row(
                "deblur",
                f"tiled (exact, 512) vs whole 1280x720, {which}, max abs difference",
                result["tiled_vs_whole_max_abs"],
                "",
            )
        )
    return rows
