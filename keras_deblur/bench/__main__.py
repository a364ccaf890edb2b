"""`python -m keras_deblur.bench`: runs the benchmark sections, prints a table, writes JSON."""

import dataclasses
import json
import os
import platform
import sys

from keras_deblur import bench, cli
from keras_deblur import flags as deblur_flags


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


# `saved_model`: the deblur section also times an export given here.
FLAGS_USED = ("only", "quick", "bench_json", "saved_model")


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    config = bench.BenchConfig(quick=deblur_flags.BENCH_QUICK.value)
    rows = bench.run(deblur_flags.BENCH_ONLY.value, config)
    print(bench.format_table(rows))
    report = {
        "machine": _machine(),
        "config": dataclasses.asdict(config),
        "rows": [dataclasses.asdict(row) for row in rows],
    }
    with open(deblur_flags.BENCH_JSON.value, "w") as f:
        json.dump(report, f, indent=2)
    print(f"[bench] wrote {deblur_flags.BENCH_JSON.value}")


if __name__ == "__main__":
    cli.run(main, FLAGS_USED)
