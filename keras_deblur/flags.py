"""Every absl flag of the project, defined once.

Entry points import this module, turn the flags into frozen dataclasses and pass those down; the
library (`data/`, `models/`, `losses.py`, `metrics.py`) never reads FLAGS. Flag names are
snake_case and carry their unit.
"""

import dataclasses
import math
import sys

from absl import flags

# The allowed values of the enum flags are the checking modules' own.
from keras_deblur.data.augment_config import AUGMENTATIONS as AUGMENTATION_NAMES
from keras_deblur.data.augment_config import ROTATIONS
from keras_deblur.data.pairs import BLUR_KEYS, DEFAULT_BLUR_KEY
from keras_deblur.evaluation.scores import DEFAULT_PROTOCOL, PROTOCOLS
from keras_deblur.experiments import DEFAULT_EXPERIMENT, EXPERIMENTS
from keras_deblur.losses import CONTENT_LOSSES
from keras_deblur.models import presets
from keras_deblur.models.generator import UPSAMPLE_MODES
from keras_deblur.models.specs import DISCRIMINATOR_SPECS
from keras_deblur.models.winograd import AUTO, CONV_ALGORITHMS
from keras_deblur.precision import PRECISIONS
from keras_deblur.serving.image_files import DEFAULT_MAX_MEGAPIXELS
from keras_deblur.serving.tflite import WEIGHTS as TFLITE_WEIGHT_KINDS
from keras_deblur.training.config import STRATEGIES

BOTH_BLUR_KEYS = "both"  # evaluate --blur_key=both

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
    DEFAULT_BLUR_KEY,
    [*BLUR_KEYS, BOTH_BLUR_KEYS],
    "Folder of blurry images: blur_gamma (frames averaged through the camera response: the "
    "paper's, and the authors' code's) or blur (averaged linearly). train and pipelines.run: "
    "default, the experiment's (blur for small and photo). evaluate: default, the key the model "
    f"was trained on; {BOTH_BLUR_KEYS}: each key scored on its own.",
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
PHOTOS_DIR = flags.DEFINE_string(
    "photos_dir",
    "",
    "data.scenes: a folder of sharp photos to blur; default: the photos installed packages ship.",
)
PHOTO_BLUR_PROBABILITY = flags.DEFINE_float(
    "photo_blur_probability",
    0.6,
    "data.scenes: share of pairs that are photos blurred by simulated camera shake; the others "
    "are procedural scenes.",
)
PHOTO_MAX_BLUR = flags.DEFINE_float(
    "photo_max_blur",
    None,
    "data.scenes: the longest camera path of the photo pairs, a fraction of the image side "
    "(0, 0.5]; default: photo_blur.PhotoBlurConfig's. Real GOPRO blur reaches ~0.2 of 256 pixels.",
)
PHOTO_BLUR_SKEW = flags.DEFINE_float(
    "photo_blur_skew",
    None,
    "data.scenes: how the photo pairs' camera path lengths lean towards the shortest: length = "
    "shortest + (longest - shortest) * u^skew, u uniform; 1 is uniform; default: "
    "photo_blur.PhotoBlurConfig's (2).",
)
PHOTO_NUM_OBJECTS = flags.DEFINE_list(
    "photo_num_objects",
    None,
    "data.scenes: FEWEST,MOST foreground layers moving over each photo pair; default: "
    "photo_blur.PhotoBlurConfig's (0,2).",
)
PHOTO_OBJECT_SIZE = flags.DEFINE_list(
    "photo_object_size",
    None,
    "data.scenes: SMALLEST,LARGEST half-extent of those layers, fractions of the side; default: "
    "photo_blur.PhotoBlurConfig's (0.12,0.3).",
)
PHOTO_CAMERA_FRAMES = flags.DEFINE_list(
    "photo_camera_frames",
    None,
    "data.scenes: FEWEST,MOST camera frames each photo pair's exposure spans (odd counts are "
    "drawn); the sharp target is the middle frame and keeps its share of the blur, as the paper's "
    "1/240 s frames do; default: an instantaneous shutter (sharp targets without blur).",
)
PHOTO_OPTICS_BLUR = flags.DEFINE_list(
    "photo_optics_blur",
    None,
    "data.scenes: LOW,HIGH standard deviation, in pixels, of the Gaussian softness a lens and a "
    "demosaicing sensor give every frame of a photo pair, the sharp one too (drawn per pair); "
    "default: photo_blur.PhotoBlurConfig's (none: the photos' own pixels).",
)
NUM_WORKERS = flags.DEFINE_integer(
    "num_workers",
    0,
    "Processes that render scenes in parallel; 0 uses every CPU core.",
    lower_bound=0,
)

# Training (train, the pipeline). Each value defaults to the --experiment's (experiments.py): a
# flag given on the command line or in a flagfile overrides it.
EXPERIMENT = flags.DEFINE_enum(
    "experiment",
    DEFAULT_EXPERIMENT,
    sorted(EXPERIMENTS),
    "The training recipe (keras_deblur/experiments.py) that the other training flags override.",
)
_RECIPE = " Default: the experiment's."
NUM_SCALES = flags.DEFINE_integer("num_scales", None, "K, the pyramid levels." + _RECIPE)
NUM_RESBLOCKS = flags.DEFINE_integer("num_resblocks", None, "ResBlocks per scale." + _RECIPE)
FILTERS = flags.DEFINE_integer("filters", None, "Feature maps of a scale's convs." + _RECIPE)
KERNEL_SIZE = flags.DEFINE_integer("kernel_size", None, "Side of every conv kernel." + _RECIPE)
UPSAMPLE = flags.DEFINE_enum(
    "upsample",
    None,
    list(UPSAMPLE_MODES),
    "Link between scales: the paper's up-convolution, or the authors' conv + PixelShuffle."
    + _RECIPE,
)
GLOBAL_RESIDUAL = flags.DEFINE_boolean(
    "global_residual",
    None,
    "Each scale adds its output to its blurry input (not the paper's network)." + _RECIPE,
)
DISCRIMINATOR_SPEC = flags.DEFINE_enum(
    "discriminator_spec",
    None,
    sorted(DISCRIMINATOR_SPECS),
    "Discriminator widths: the paper's Table 1, or tiny." + _RECIPE,
)
CROP_SIZE_PX = flags.DEFINE_integer(
    "crop_size", None, "Side of the square training crops, in pixels." + _RECIPE
)
ROTATION = flags.DEFINE_enum(
    "rotation",
    None,
    list(ROTATIONS),
    "Rotation augmentation: multiples of 90 degrees (exact; the authors' code), none, or any "
    "angle (the paper's text; bilinear resampling softens both images)." + _RECIPE,
)
AUGMENTATIONS = flags.DEFINE_list(
    "augmentations",
    None,
    f"Augmentations that run, of {', '.join(AUGMENTATION_NAMES)}; leave one out to switch it off "
    "(rotation has its own flag)." + _RECIPE,
)
CROPS_PER_IMAGE = flags.DEFINE_integer(
    "crops_per_image", None, "Training crops cut from each decoded image." + _RECIPE
)
SHUFFLE_BUFFER_CROPS = flags.DEFINE_integer(
    "shuffle_buffer", None, "Crops in the shuffle buffer after cropping." + _RECIPE
)
GLOBAL_BATCH_SIZE = flags.DEFINE_integer(
    "global_batch_size", None, "Pairs per step, over all replicas." + _RECIPE
)
TRAIN_STEPS = flags.DEFINE_integer("train_steps", None, "Training steps in all." + _RECIPE)
TRAIN_MINUTES = flags.DEFINE_float(
    "train_minutes",
    None,
    "A budget in minutes of wall clock: the run measures its speed, stops at the steps it can "
    "reach (at most --train_steps) and stretches --lr_decay_steps to them. 0: none." + _RECIPE,
)
LEARNING_RATE = flags.DEFINE_float("learning_rate", None, "Adam's initial learning rate." + _RECIPE)
LR_DECAY_STEPS = flags.DEFINE_list(
    "lr_decay_steps", None, "Steps where the rate is multiplied by --lr_decay_factor." + _RECIPE
)
LR_DECAY_FACTOR = flags.DEFINE_float(
    "lr_decay_factor", None, "Learning-rate factor at each decay step." + _RECIPE
)
CONTENT_LOSS = flags.DEFINE_enum(
    "content_loss",
    None,
    list(CONTENT_LOSSES),
    "mse: the paper's eq. 4; l1: summed over scales (the authors' later code); l1_fft: l1 plus"
    " MIMO-UNet's frequency term (losses.py)." + _RECIPE,
)
ADVERSARIAL_WEIGHT = flags.DEFINE_float(
    "adversarial_weight", None, "lambda of eq. 6; 0 trains without the discriminator." + _RECIPE
)
STRATEGY = flags.DEFINE_enum(
    "strategy",
    None,
    list(STRATEGIES),
    "auto: MirroredStrategy with more than one GPU, else one device; multi_worker reads "
    "TF_CONFIG." + _RECIPE,
)
JIT_COMPILE = flags.DEFINE_bool("jit_compile", None, "Compile the step with XLA." + _RECIPE)
DETERMINISTIC = flags.DEFINE_bool(
    "deterministic",
    None,
    "Deterministic ops and input order: the same flags give the same weights." + _RECIPE,
)
INIT_FROM = flags.DEFINE_string(
    "init_from",
    None,
    "Start the generator from a preset the package ships (its name: fine-tuning), a .keras file "
    "or a run's latest checkpoint." + _RECIPE,
)
STEPS_PER_LOOP = flags.DEFINE_integer(
    "steps_per_loop", None, "Training steps per call of the compiled step function." + _RECIPE
)
CHECKPOINT_EVERY_STEPS = flags.DEFINE_integer(
    "checkpoint_every_steps", None, "Steps between checkpoints." + _RECIPE
)
LOG_EVERY_STEPS = flags.DEFINE_integer(
    "log_every_steps", None, "Steps between TensorBoard scalars." + _RECIPE
)
IMAGE_EVERY_STEPS = flags.DEFINE_integer(
    "image_every_steps", None, "Steps between preview images in TensorBoard." + _RECIPE
)
VALIDATE_EVERY_STEPS = flags.DEFINE_integer(
    "validate_every_steps", None, "Steps between validations on test images." + _RECIPE
)
NUM_VALIDATION_IMAGES = flags.DEFINE_integer(
    "num_validation_images", None, "Test images each validation deblurs (0: none)." + _RECIPE
)
PROFILE_STEPS = flags.DEFINE_list(
    "profile_steps",
    None,
    "FIRST,LAST: a TensorBoard profiler trace of training steps FIRST..LAST (RUN_DIR/train; "
    "TensorBoard's Profile tab, pip install tensorboard-plugin-profile).",
)
# Shared by training and evaluation.
MIXED_PRECISION = flags.DEFINE_enum(
    "mixed_precision",
    None,
    list(PRECISIONS),
    "Keras dtype policy; auto: bf16 only where it is faster here (keras_deblur/precision.py), "
    "float32 otherwise; none is float32. Default: the experiment's (train); auto for a --run_dir "
    "and float32 for a --preset (evaluate), so a score is the same everywhere; auto in deblur "
    "(float32 with --conv_algorithm=winograd), so a photo takes half the time where bf16 is "
    "faster (--mixed_precision=float32: the same pixels on every machine).",
)
RUN_DIR = flags.DEFINE_string(
    "run_dir",
    None,
    "Folder of a training run: logs, checkpoints, config, final model (train writes it; "
    "evaluate, export and export_tflite read its generator.keras, or take a .keras file here).",
)

# Flag -> the TrainConfig field(s) it sets, dotted through the nested configs.
TRAINING_FIELDS = {
    "run_dir": "run_dir",
    "data_dir": "data_dir",
    "train_tfrecords": "train_tfrecords",
    "test_tfrecords": "test_tfrecords",
    "blur_key": "blur_key",
    "skip_bad_pairs": "skip_bad_pairs",
    "num_scales": "generator.num_scales",
    "num_resblocks": "generator.num_resblocks",
    "filters": "generator.filters",
    "kernel_size": "generator.kernel_size",
    "upsample": "generator.upsample",
    "global_residual": "generator.global_residual",
    "discriminator_spec": "discriminator",
    "crop_size": "input.augment.crop_size",
    "rotation": "input.augment.rotation",
    "augmentations": "input.augment.augmentations",
    "crops_per_image": "input.crops_per_image",
    "shuffle_buffer": "input.shuffle_buffer",
    "global_batch_size": "input.batch_size",
    "seed": ("seed", "input.seed"),
    "train_steps": "train_steps",
    "train_minutes": "train_minutes",
    "learning_rate": "learning_rate",
    "lr_decay_steps": "lr_decay_steps",
    "lr_decay_factor": "lr_decay_factor",
    "content_loss": "content_loss",
    "adversarial_weight": "adversarial_weight",
    "strategy": "strategy",
    "mixed_precision": "mixed_precision",
    "jit_compile": "jit_compile",
    "conv_algorithm": "conv_algorithm",
    "deterministic": "deterministic",
    "init_from": "init_from",
    "steps_per_loop": "steps_per_loop",
    "checkpoint_every_steps": "checkpoint_every_steps",
    "log_every_steps": "log_every_steps",
    "image_every_steps": "image_every_steps",
    "validate_every_steps": "validate_every_steps",
    "num_validation_images": "num_validation_images",
    "profile_steps": "profile_steps",
}
TRAINING_FLAGS = ("experiment", *TRAINING_FIELDS)  # what train (and the pipeline) read
_STEP_LISTS = ("lr_decay_steps", "profile_steps")


def _flag_value(name):
    value = flags.FLAGS[name].value
    if name in _STEP_LISTS:
        try:
            return tuple(int(v) for v in value)
        except ValueError as error:
            raise ValueError(
                f"--{name} must be a comma-separated list of steps, got {value}"
            ) from error
    return tuple(value) if isinstance(value, list) else value


def _replace(config, path, value):
    head, *rest = path
    if rest:
        value = _replace(getattr(config, head), rest, value)
    return dataclasses.replace(config, **{head: value})


def training_flagfile():
    """A flagfile of the training flags given (on the command line or in a flagfile), the
    experiment always: replayed with --flagfile, it asks for the same run. (absl's
    flags_into_string writes every flag's default too, and a default replayed is a flag given:
    --blur_key=blur_gamma would override the `small` recipe's blur.)"""
    lines = [
        flags.FLAGS[name].serialize()
        for name in TRAINING_FLAGS
        if name == "experiment" or flags.FLAGS[name].present
    ]
    return "\n".join(lines) + "\n"


def train_config():
    """The TrainConfig the command line describes: --experiment's recipe, then every training flag
    given (on the command line or in a flagfile) in its place.

    A recipe's learning-rate decay is a share of its steps ("divided by 10 at 3/4"): --train_steps
    without --lr_decay_steps moves the decay with it. (Kept at the recipe's step, `small`'s decay
    at 3,000 fell at a tenth of --train_steps=30000, and most of such a run went at a tenth of the
    rate: BUILD.md, "The shipped model".)"""
    from keras_deblur import experiments

    recipe = config = experiments.get(EXPERIMENT.value)
    for name, fields in TRAINING_FIELDS.items():
        if flags.FLAGS[name].present:
            value = _flag_value(name)
            for field in fields if isinstance(fields, tuple) else (fields,):
                config = _replace(config, field.split("."), value)
    if flags.FLAGS["train_steps"].present and not flags.FLAGS["lr_decay_steps"].present:
        scale = config.train_steps / recipe.train_steps
        decays = sorted({max(1, round(step * scale)) for step in recipe.lr_decay_steps})
        config = dataclasses.replace(config, lr_decay_steps=tuple(decays))
    if flags.FLAGS["run_dir"].present and not config.run_dir:  # "--run_dir=": errno's '' was all
        raise ValueError("--run_dir is empty: name the run's folder")
    return config


# Evaluation, export and deblurring.
MODEL_DIR = flags.DEFINE_string(
    "model_dir",
    None,
    "Deprecated: the old name of --run_dir in evaluate, export and export_tflite.",
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
    "all_scales",
    False,
    "evaluate: also score every coarser output scale (needs --run_dir or --preset).",
)
PROTOCOL = flags.DEFINE_enum(
    "protocol",
    DEFAULT_PROTOCOL,
    list(PROTOCOLS),
    "evaluate: deepdeblur, the authors' (outputs clipped and rounded to 8 bits before PSNR and "
    "SSIM), or float (clipped only, as a validation during training scores).",
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
TFLITE_FILE = flags.DEFINE_string(
    "tflite_file",
    None,
    "export_tflite: the .tflite file to write. evaluate: a .tflite model to score (instead of "
    "--run_dir, --saved_model or --preset).",
)
TFLITE_WEIGHTS = flags.DEFINE_enum(
    "tflite_weights",
    "float32",
    TFLITE_WEIGHT_KINDS,
    "export_tflite: how the file stores the weights: float32, float16 (half the size) or int8 "
    "(dynamic-range quantisation, a quarter).",
)
MODEL_PATH = flags.DEFINE_string(
    "model",
    None,
    "deblur: an exported SavedModel (version folder or base path: its highest version) or a "
    f"preset the package ships ({', '.join(sorted(presets.WEIGHTS))}: README.md says which for "
    f"what); default: {presets.DEFAULT}.",
)
PRESET = flags.DEFINE_string(
    "preset",
    None,
    "evaluate, export, export_tflite: a model the package ships, by name "
    f"({', '.join(sorted(presets.WEIGHTS))}), instead of --run_dir or --saved_model.",
)
INPUT = flags.DEFINE_string(
    "input",
    None,
    "deblur: an image file, a folder of images, or a glob pattern; bulk_deblur: a folder.",
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
    "tile_size",
    None,
    "deblur: side of the square tiles, in pixels; default: the largest --memory_budget allows "
    "(512 for exports older than exact tiling).",
)
ENSEMBLE = flags.DEFINE_integer(
    "ensemble",
    1,
    "deblur, evaluate, export: average the outputs over this many flips and transpositions of "
    "the input (self-ensemble; that many times the time): 1 (none), 2 (the input and it turned "
    "180 degrees), 4 (and its two mirror images) or 8 (and their transpositions).",
)
CONV_ALGORITHM = flags.DEFINE_enum(
    "conv_algorithm",
    AUTO,
    [AUTO, *CONV_ALGORITHMS],
    "deblur, train: how the generator's convolutions run. winograd: Winograd F(4x4), each conv "
    "compiled by XLA on its own, float32 only, the same results within float32 rounding "
    "(BUILD.md, Winograd in strips). deblur: auto (default) is winograd where the model runs in "
    "float32 (see --mixed_precision), direct in bf16 and for exports; winograd is 1.2-4x faster "
    "than float32's direct convolutions (by CPU) after a few seconds of compiling per tile size. "
    "train: direct or winograd (for wide networks such as the paper's 64 maps: 1.8x faster on 2 "
    "Zen 4 cores, 1.0-1.3x on an Ice Lake Xeon), default the experiment's.",
)
MEMORY_BUDGET_GIB = flags.DEFINE_float(
    "memory_budget",
    None,
    "deblur: GiB the tiles of one image may take; default: an eighth of this machine's memory, "
    "at most 1.",
)
TILE_OVERLAP_PX = flags.DEFINE_integer(
    "tile_overlap",
    64,
    "deblur: pixels neighbouring tiles share, for exports made before exact tiling only (presets "
    "and newer exports tile exactly, by --memory_budget).",
)
TILE_BATCH = flags.DEFINE_integer(
    "tile_batch",
    4,
    "deblur: tiles run together in one batch, for exports made before exact tiling only.",
)
OVERWRITE = flags.DEFINE_bool(
    "overwrite",
    False,
    "deblur: replace output files that exist already. export_tflite: replace --tflite_file. "
    "evaluate: replace an evaluation of another model, test set or setting in --output_dir. "
    "data.scenes, data.synthesize: "
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
    "pipeline (its ingest) and bulk_deblur: Apache Beam options, e.g. --runner=FlinkRunner,...",
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


def check_deblur_numbers():
    """A ValueError naming the first of deblur's and bulk_deblur's numeric flags whose value cannot
    be meant: NaN compares false with everything, so a NaN limit would switch its check off."""
    for name, value, allowed, meaning in (
        ("memory_budget", MEMORY_BUDGET_GIB.value, lambda v: 0 < v < math.inf, "positive GiB"),
        ("max_megapixels", MAX_MEGAPIXELS.value, lambda v: v > 0, "positive (inf: no limit)"),
        ("tile_overlap", TILE_OVERLAP_PX.value, lambda v: v >= 0, "0 or more pixels"),
        ("tile_batch", TILE_BATCH.value, lambda v: v >= 1, "1 or more tiles"),
    ):
        if value is not None and not allowed(value):
            raise ValueError(f"--{name} must be {meaning}, got {value}")
