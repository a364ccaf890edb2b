"""The one benchmark command: `python -m keras_deblur.bench [--only=section,...] [--quick]`.

It measures on the current machine, in one process, and prints a table plus a JSON file
(`--bench_json`). Each concern adds a section (a function registered with `@section`); this file
holds the runner and the model section. Speed is measured here, never asserted in tests.
"""

import dataclasses
import json
import os
import platform
import sys
import time

import numpy as np
from absl import app

from keras_deblur import flags as deblur_flags

SECTIONS = {}


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What the sections are told: the quick subset or the full run."""

    quick: bool = False

    @property
    def repeats(self):
        return 2 if self.quick else 5


@dataclasses.dataclass(frozen=True)
class Row:
    section: str
    name: str
    value: float
    unit: str


def section(name):
    """Registers `fn(config) -> list[Row]` as the benchmark section `name`."""

    def register(fn):
        SECTIONS[name] = fn
        return fn

    return register


def _median_seconds(fn, repeats):
    fn()  # Warm-up: tracing and one-off allocations are not what users wait for per image.
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@section("model")
def model_section(config):
    """Builds the paper generator, counts its FLOPs and times a 256 x 256 forward pass (fp32)."""
    import tensorflow as tf

    import keras_deblur
    from keras_deblur.flops import count_flops

    start = time.perf_counter()
    generator = keras_deblur.build_generator_from_spec("paper")
    build_seconds = time.perf_counter() - start
    size = 256
    flops = count_flops(generator, size, size)
    image = tf.constant(np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32))
    forward = tf.function(lambda x: generator(x, training=False)[0])
    seconds = _median_seconds(lambda: forward(image).numpy(), config.repeats)
    return [
        Row("model", "paper generator build", build_seconds, "s"),
        Row("model", "paper generator parameters", generator.count_params(), "count"),
        Row("model", "paper generator FLOPs per output pixel", flops["per_pixel"] / 1e6, "MFLOP"),
        Row("model", f"paper generator FLOPs at {size}x{size}", flops["total"] / 1e12, "TFLOP"),
        Row("model", f"forward fp32 {size}x{size}, batch 1", seconds, "s/image"),
        Row("model", f"forward fp32 {size}x{size}, batch 1", size * size / seconds / 1e6, "MP/s"),
        Row("model", f"forward fp32 {size}x{size}, batch 1", flops["total"] / seconds / 1e9, "GFLOP/s"),
    ]


def _machine():
    import keras
    import tensorflow as tf

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }


def run(names, config):
    """Runs the named sections (all when empty) and returns their rows."""
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise ValueError(f"--only names unknown sections {unknown}; known: {sorted(SECTIONS)}")
    rows = []
    for name in names or list(SECTIONS):
        print(f"[bench] section {name} ...", flush=True)
        rows.extend(SECTIONS[name](config))
    return rows


def _format_value(value):
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def format_table(rows):
    width = max(len(f"{row.section}  {row.name}") for row in rows)
    lines = [f"{'section  figure':<{width}}  {'value':>12}  unit"]
    for row in rows:
        label = f"{row.section}  {row.name}"
        lines.append(f"{label:<{width}}  {_format_value(row.value):>12}  {row.unit}")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = BenchConfig(quick=deblur_flags.BENCH_QUICK.value)
    rows = run(deblur_flags.BENCH_ONLY.value, config)
    print(format_table(rows))
    report = {
        "machine": _machine(),
        "config": dataclasses.asdict(config),
        "rows": [dataclasses.asdict(row) for row in rows],
    }
    with open(deblur_flags.BENCH_JSON.value, "w") as f:
        json.dump(report, f, indent=2)
    print(f"[bench] wrote {deblur_flags.BENCH_JSON.value}")


if __name__ == "__main__":
    app.run(main)
