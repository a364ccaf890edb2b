"""Every absl flag of the project, defined once.

Entry points import this module, turn the flags into frozen dataclasses and pass those down; the
library (`data/`, `models/`, `losses.py`, `metrics.py`) never reads FLAGS. Flag names are
snake_case and carry their unit.
"""

import sys

from absl import flags

from keras_deblur.serving.image_files import DEFAULT_MAX_MEGAPIXELS

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
    "data_dir",
    None,
    "Root of a GOPRO-layout dataset: <root>/{train,test}/<sequence>/{blur,blur_gamma,sharp}/*.png "
    "(local or gs://).",
)
BLUR_KEY = flags.DEFINE_enum(
    "blur_key",
    "blur_gamma",
    ["blur", "blur_gamma"],
    "Folder of blurry images: blur_gamma (frames averaged through the camera response: the "
    "paper's, "
    "and the authors' code's) or blur (averaged linearly). evaluate: default, the key the model "
    "was "
    "trained on.",
)
SKIP_BAD_PAIRS = flags.DEFINE_bool(
    "skip_bad_pairs", False, "Skip (and log and count) bad pairs instead of stopping with an error."
)
OUTPUT_DIR = flags.DEFINE_string(
    "output_dir",
    None,
    "Folder the command writes to: the dataset (data commands), the report (evaluate; default "
    "<run_dir>/evaluation for a run), the deblurred images (deblur).",
)
TRAIN_TFRECORDS = flags.DEFINE_list(
    "train_tfrecords",
    [],
    "Training pairs as TFRecord shards (files or globs), instead of --data_dir's train split.",
)
TEST_TFRECORDS = flags.DEFINE_list(
    "test_tfrecords",
    [],
    "Test pairs as TFRecord shards (files or globs), instead of --data_dir's test split.",
)
SEED = flags.DEFINE_integer("seed", 0, "Seed of every random choice the command makes.")
FRAMES_DIR = flags.DEFINE_string(
    "frames_dir",
    None,
    "Folder of sequence folders of consecutive sharp PNG frames (optionally under train/ and "
    "test/).",
)
MIN_FRAMES = flags.DEFINE_integer(
    "min_frames", 7, "Fewest sharp frames averaged into one blurry image."
)
MAX_FRAMES = flags.DEFINE_integer(
    "max_frames", 13, "Most sharp frames averaged into one blurry image."
)
GAMMA = flags.DEFINE_float(
    "gamma", 2.2, "Camera response exponent of the blur synthesis (1 = linear)."
)
TEST_FRACTION = flags.DEFINE_float(
    "test_fraction", 0.3, "Share of sequences (synthesize) or pairs (scenes) put in the test split."
)
NUM_PAIRS = flags.DEFINE_integer(
    "num_pairs", 200, "Pairs the embedded scene renderer writes, both splits."
)
SIZE_PX = flags.DEFINE_integer("size", 256, "Side of the rendered scenes, in pixels.")
NUM_WORKERS = flags.DEFINE_integer(
    "num_workers", 0, "Processes that render scenes in parallel; 0 uses every CPU core."
)

# Model (train, and every entry point that rebuilds the generator).
NUM_SCALES = flags.DEFINE_integer("num_scales", 3, "K, the pyramid levels of the generator.")
NUM_RESBLOCKS = flags.DEFINE_integer("num_resblocks", 19, "ResBlocks per scale.")
FILTERS = flags.DEFINE_integer("filters", 64, "Feature maps of every conv inside a scale.")
KERNEL_SIZE = flags.DEFINE_integer("kernel_size", 5, "Side of every conv kernel (odd).")
UPSAMPLE = flags.DEFINE_enum(
    "upsample",
    "conv_transpose",
    ["conv_transpose", "pixel_shuffle"],
    "Link between scales: the paper's up-convolution, or the authors' conv + PixelShuffle.",
)
GLOBAL_RESIDUAL = flags.DEFINE_boolean(
    "global_residual",
    False,
    "Each scale adds its output to its blurry input (not the paper's network; the `small` preset "
    "uses it).",
)
DISCRIMINATOR_SPEC = flags.DEFINE_enum(
    "discriminator_spec",
    "paper",
    ["paper", "tiny"],
    "Discriminator widths: the paper's Table 1, or tiny.",
)

# Training input.
CROP_SIZE_PX = flags.DEFINE_integer(
    "crop_size", 256, "Side of the square training crops, in pixels."
)
ROTATION = flags.DEFINE_enum(
    "rotation",
    "right_angles",
    ["none", "right_angles", "any"],
    "Rotation augmentation: multiples of 90 degrees (exact; the authors' code), none, or any angle "
    "(the paper's text; bilinear resampling softens both images).",
)
AUGMENTATIONS = flags.DEFINE_list(
    "augmentations",
    ["flip_horizontal", "flip_vertical", "channel_permutation", "saturation", "noise"],
    "Augmentations that run; leave one out to switch it off (rotation has its own flag).",
)
CROPS_PER_IMAGE = flags.DEFINE_integer(
    "crops_per_image", 4, "Training crops cut from each decoded image."
)
SHUFFLE_BUFFER_CROPS = flags.DEFINE_integer(
    "shuffle_buffer", 64, "Crops in the shuffle buffer after cropping."
)

# Optimisation.
GLOBAL_BATCH_SIZE = flags.DEFINE_integer(
    "global_batch_size", 4, "Pairs per step, over all replicas."
)
TRAIN_STEPS = flags.DEFINE_integer("train_steps", 450_000, "Training steps (iterations) in all.")
TRAIN_MINUTES = flags.DEFINE_float(
    "train_minutes",
    0.0,
    "A training budget in minutes of wall clock: the run measures its speed, stops at the steps it "
    "can "
    "reach (at most --train_steps) and stretches --lr_decay_steps to them. 0: no budget.",
)
LEARNING_RATE = flags.DEFINE_float("learning_rate", 5e-5, "Adam's initial learning rate.")
LR_DECAY_STEPS = flags.DEFINE_list(
    "lr_decay_steps",
    ["150000"],
    "Steps at which the learning rate is multiplied by --lr_decay_factor.",
)
LR_DECAY_FACTOR = flags.DEFINE_float(
    "lr_decay_factor", 0.1, "Learning-rate factor at each decay step."
)
CONTENT_LOSS = flags.DEFINE_enum(
    "content_loss",
    "mse",
    ["mse", "l1"],
    "mse: the paper's eq. 4; l1: summed over scales (authors' later code).",
)
ADVERSARIAL_WEIGHT = flags.DEFINE_float(
    "adversarial_weight", 1e-4, "lambda of eq. 6; 0 trains without the discriminator."
)

# Distribution and numerics.
STRATEGY = flags.DEFINE_enum(
    "strategy",
    "auto",
    ["auto", "mirrored", "multi_worker", "one_device"],
    "auto: MirroredStrategy with more than one GPU, else one device; multi_worker reads TF_CONFIG.",
)
MIXED_PRECISION = flags.DEFINE_enum(
    "mixed_precision",
    "auto",
    ["auto", "float32", "none", "mixed_float16", "mixed_bfloat16"],
    "Keras dtype policy; auto: bf16 only where it is faster on this hardware "
    "(keras_deblur/precision.py), "
    "float32 otherwise. none is float32.",
)
JIT_COMPILE = flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.")
DETERMINISTIC = flags.DEFINE_bool(
    "deterministic",
    False,
    "Deterministic ops and input order: the same flags give the same weights.",
)

# Run directory, logging, checkpoints.
RUN_DIR = flags.DEFINE_string(
    "run_dir",
    None,
    "Folder of a training run: logs, checkpoints, config, final model (train writes it; evaluate "
    "and "
    "export read its generator.keras, or take a .keras file here).",
)
INIT_FROM = flags.DEFINE_string(
    "init_from",
    None,
    "Start the generator from a .keras file or a run directory's latest checkpoint.",
)
CHECKPOINT_EVERY_STEPS = flags.DEFINE_integer(
    "checkpoint_every_steps", 1000, "Steps between checkpoints."
)
LOG_EVERY_STEPS = flags.DEFINE_integer("log_every_steps", 100, "Steps between TensorBoard scalars.")
IMAGE_EVERY_STEPS = flags.DEFINE_integer(
    "image_every_steps", 1000, "Steps between blurry | deblurred | sharp images in TensorBoard."
)
VALIDATE_EVERY_STEPS = flags.DEFINE_integer(
    "validate_every_steps", 5000, "Steps between validations on full-resolution test images."
)
PROFILE_STEPS = flags.DEFINE_list(
    "profile_steps",
    [],
    "FIRST,LAST: capture a TensorBoard profiler trace of training steps FIRST..LAST "
    "(RUN_DIR/train; "
    "view it in TensorBoard's Profile tab, pip install tensorboard-plugin-profile).",
)
NUM_VALIDATION_IMAGES = flags.DEFINE_integer(
    "num_validation_images",
    8,
    "Test-split images each validation deblurs (0 turns validation off).",
)

# Evaluation, export and deblurring.
MODEL_DIR = flags.DEFINE_string(
    "model_dir", None, "Deprecated: the old name of --run_dir in evaluate and export."
)
SAVED_MODEL = flags.DEFINE_string(
    "saved_model",
    None,
    "An exported SavedModel: a version folder, or a base path (its highest version).",
)
MAX_IMAGES = flags.DEFINE_integer(
    "max_images", None, "evaluate: score only the first N test pairs."
)
ALL_SCALES = flags.DEFINE_bool(
    "all_scales", False, "evaluate: also score every coarser output scale (needs --run_dir)."
)
NUM_EXAMPLES = flags.DEFINE_integer(
    "num_examples", 3, "evaluate: example figures, of the first N test pairs."
)
COMPARE = flags.DEFINE_list(
    "compare",
    [],
    "evaluate: evaluation folders (or metrics.json files) to lay side by side like Table 2.",
)
COMPARE_LABELS = flags.DEFINE_list(
    "compare_labels", [], "evaluate --compare: column labels (default K=<scales>)."
)
TORCH_CHECKPOINT = flags.DEFINE_string(
    "torch_checkpoint",
    None,
    "import_weights: the authors' PyTorch .pt file (a dict whose 'G' is the generator).",
)
OUTPUT_KERAS = flags.DEFINE_string("output", None, "import_weights: the .keras file to write.")
EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "TF Serving model base path to export to, e.g. savedmodels/deblur."
)
EXPORT_VERSION = flags.DEFINE_integer(
    "export_version",
    None,
    "Version number of the export; default: one more than the highest existing.",
)
MODEL_PATH = flags.DEFINE_string(
    "model",
    "savedmodels/deblur",
    "deblur: an exported SavedModel (version folder or base path: its highest version).",
)
INPUT = flags.DEFINE_string(
    "input", None, "deblur: an image file, a folder of images, or a glob pattern."
)
SERVER = flags.DEFINE_string(
    "server",
    None,
    "deblur: host:port of TF Serving's REST API; the images are deblurred there, not locally.",
)
MODEL_NAME = flags.DEFINE_string(
    "model_name", "deblur", "deblur --server: the model's name in TF Serving."
)
TILE_SIZE_PX = flags.DEFINE_integer(
    "tile_size", 512, "deblur: side of the square tiles, in pixels."
)
TILE_OVERLAP_PX = flags.DEFINE_integer(
    "tile_overlap", 64, "deblur: pixels neighbouring tiles share."
)
TILE_BATCH = flags.DEFINE_integer("tile_batch", 4, "deblur: tiles run together in one batch.")
OVERWRITE = flags.DEFINE_bool(
    "overwrite",
    False,
    "deblur: replace output files that exist already. data.scenes, data.synthesize: "
    "replace the dataset in --output_dir whole (only one written by them).",
)
MAX_MEGAPIXELS = flags.DEFINE_float(
    "max_megapixels",
    DEFAULT_MAX_MEGAPIXELS,
    "deblur: refuse images larger than this (read from the file's header), "
    "such as decompression bombs.",
)

# The pipeline (`python -m pipelines.run`); it also takes every training flag above.
PIPELINE_ROOT = flags.DEFINE_string(
    "pipeline_root", "runs/pipeline", "pipeline: folder of every stage's outputs."
)
SERVING_DIR = flags.DEFINE_string(
    "serving_dir",
    "savedmodels/deblur",
    "pipeline: TF Serving model base path the push stage exports to.",
)
GATE_MIN_GAIN = flags.DEFINE_float(
    "gate_min_gain",
    0.0,
    "pipeline: the gate blesses a model only if its test PSNR beats the blurry input's by more "
    "than this (dB).",
)
GATE_MAX_DROP = flags.DEFINE_float(
    "gate_max_drop",
    0.0,
    "pipeline: ... and, if a model is pushed already, is not below its PSNR on the same test set "
    "by more than this (dB).",
)
NUM_SHARDS = flags.DEFINE_integer(
    "num_shards", 4, "pipeline: TFRecord shards per split written by ingest."
)
BEAM_PIPELINE_ARGS = flags.DEFINE_list(
    "beam_pipeline_args",
    [],
    "pipeline: Apache Beam options for ingest, e.g. --runner=FlinkRunner,...",
)


def run_dir():
    """--run_dir, or its deprecated old name --model_dir (with a warning on stderr)."""
    if MODEL_DIR.value:
        if RUN_DIR.value and RUN_DIR.value != MODEL_DIR.value:
            raise ValueError(
                "give the run as --run_dir only (--model_dir is its deprecated old name)"
            )
        print(
            "warning: --model_dir is deprecated: the same folder is --run_dir in every command",
            file=sys.stderr,
        )
        return MODEL_DIR.value
    return RUN_DIR.value
