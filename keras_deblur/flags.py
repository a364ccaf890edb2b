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

# Data sources (`data.synthesize`, `data.scenes`, and every entry point that reads a dataset).
DATA_DIR = flags.DEFINE_string(
    "data_dir", None, "Root of a GOPRO-layout dataset: <root>/{train,test}/<sequence>/{blur,blur_gamma,sharp}/*.png (local or gs://)."
)
BLUR_KEY = flags.DEFINE_enum(
    "blur_key", "blur", ["blur", "blur_gamma"],
    "Folder of blurry images: blur (frames averaged linearly) or blur_gamma (through the camera response).",
)
SKIP_BAD_PAIRS = flags.DEFINE_bool(
    "skip_bad_pairs", False, "Skip (and log and count) bad pairs instead of stopping with an error."
)
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder the command writes its dataset to.")
SEED = flags.DEFINE_integer("seed", 0, "Seed of every random choice the command makes.")
FRAMES_DIR = flags.DEFINE_string(
    "frames_dir", None,
    "Folder of sequence folders of consecutive sharp PNG frames (optionally under train/ and test/).",
)
MIN_FRAMES = flags.DEFINE_integer("min_frames", 7, "Fewest sharp frames averaged into one blurry image.")
MAX_FRAMES = flags.DEFINE_integer("max_frames", 13, "Most sharp frames averaged into one blurry image.")
GAMMA = flags.DEFINE_float("gamma", 2.2, "Camera response exponent of the blur synthesis (1 = linear).")
TEST_FRACTION = flags.DEFINE_float(
    "test_fraction", 0.3, "Share of sequences (synthesize) or pairs (scenes) put in the test split."
)
NUM_PAIRS = flags.DEFINE_integer("num_pairs", 200, "Pairs the embedded scene renderer writes, both splits.")
SIZE_PX = flags.DEFINE_integer("size", 256, "Side of the rendered scenes, in pixels.")
NUM_WORKERS = flags.DEFINE_integer(
    "num_workers", 0, "Processes that render scenes in parallel; 0 uses every CPU core."
)
