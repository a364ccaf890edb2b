"""The one benchmark command: `python -m keras_deblur.bench [--only=section,...] [--quick]`.

It measures on the current machine, in one process, and prints a table plus a JSON file
(`--bench_json`). Each concern has a section, a module here with a `run(config) -> list[Row]`:
`inference` (the paper generator's forward pass: the product's Keras and SavedModel paths against
the bare conv stack, fp32 and bf16), `input` (the tf.data pipeline's
augmented pairs per second), `training` (train_step steps per second) `deblur` (the Deblurrer's
time and peak memory per photo, tiled vs whole) and `tflite` (the shipped model's TFLite files:
size, time per frame and difference, against Keras). Speed is measured here,
never asserted in tests.
"""

import dataclasses
import importlib
import importlib.util
import time

import numpy as np

SECTIONS = ("inference", "input", "training", "deblur", "tflite")


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


AUTHORS = "authors' pytorch"  # the rows that time the authors' PyTorch model (`authors_torch.py`)


def torch_available():
    """True where PyTorch is installed (the `test` extra): the sections that time the authors'
    PyTorch model against ours (`authors_torch.py`) run only then, and say so otherwise."""
    return importlib.util.find_spec("torch") is not None


def precisions():
    """float32, and mixed_bfloat16 where the CPU has bf16 instructions oneDNN may use (on a CPU
    without them, or under an ONEDNN_MAX_CPU_ISA cap below them, bf16 is emulated or fails)."""
    from keras_deblur.precision import bf16_flags, usable_cpu_flags

    return ("float32", "mixed_bfloat16") if bf16_flags(usable_cpu_flags()) else ("float32",)


def median_seconds(runs, rounds):
    """{name: median wall time of `run()`} for a dict of runs, each called once first as a warm-up.

    The runs take turns, round after round, so a slow spell of the machine hits them all alike.
    Warm-up: tracing and one-off allocations are not what users wait for per call.
    """
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(seconds)) for name, seconds in times.items()}


def run(names, config):
    """Runs the named sections (all when empty) and returns their rows."""
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise ValueError(f"--only names unknown sections {unknown}; known: {list(SECTIONS)}")
    rows = []
    for name in names or SECTIONS:
        print(f"[bench] section {name} ...", flush=True)
        rows.extend(importlib.import_module(f"keras_deblur.bench.{name}").run(config))
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
