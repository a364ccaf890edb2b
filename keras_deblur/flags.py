"""Every absl flag of the project, defined once.

Entry points import this module, turn the flags into frozen dataclasses and pass those down; the
library (`data/`, `models/`, `losses.py`, `metrics.py`) never reads FLAGS. Flag names are
snake_case and carry their unit.
"""

from absl import flags

# Benchmark (`python -m keras_deblur.bench`).
BENCH_ONLY = flags.DEFINE_list(
    "only", [], "Benchmark sections to run (comma-separated); empty runs every section."
)
BENCH_QUICK = flags.DEFINE_bool(
    "quick", False, "Run a few-minute subset of each benchmark section (fewer repetitions)."
)
BENCH_JSON = flags.DEFINE_string(
    "bench_json", "bench_results.json", "Where the benchmark writes its figures as JSON."
)
