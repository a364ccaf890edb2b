"""Bench section `inference`: the paper generator's forward pass, the product against the bare
stack.

The paper generator (K=3, 19 ResBlocks, 64 maps; random weights: speed does not depend on them) at
256x256 and 1280x720, batch 1, in fp32 and, where the CPU has bf16 instructions, mixed_bfloat16.
The ways of running it on the same image, timed in interleaved rounds (median per way):
- `bare stack`: `generator.coarse_to_fine` alone, i.e. the same conv layers under the same dtype
  policy, fed the already-centred pyramid levels in the compute dtype: no pyramid, padding,
  cropping, casting or export wrapper. The practical limit of these layers on this machine.
- `keras`: the generator as evaluation and validation call it (one tf.function for every size,
  the finest output cast to float32).
- `savedmodel deblur_float`: the exported float signature, loaded back in this process.
- `savedmodel serving_default`: the encoded-image signature on the PNG bytes of the same image
  (PNG decode and encode included: what TF Serving runs).
- `keras, winograd convs (xla)` (fp32 only): the same generator and weights with its 64-map convs
  computed as Winograd F(4x4, 5x5) (`models/winograd.py`), each conv compiled by XLA on its own,
  as `deblur --conv_algorithm=winograd` runs them. Its first call, the compilation for this image
  size, is a row of its own.
- `authors' pytorch`: their MSResNet (`authors_torch.py`, random weights) on the same image's
  pyramid, built beforehand as their data loader does; under bf16 autocast in the bf16 rounds.
  Only where PyTorch is installed (the `test` extra).
Each way gets s/image, MP/s, GFLOP/s (`flops.count_flops`, ~10.25 MFLOP per output pixel) and its
ratio to the bare stack (the target is >= 0.9); the bare stack and both Keras ways get their
speed-up over the authors' model (the issue's target is >= 1.3). A large matmul in each
framework, in the same run, gives the CPU's practical peak the convolutions are measured against.
Also: the paper generator's build time, parameters and FLOPs, and how many times the Keras path
traced for five mixed image sizes (the target is 1).
`--quick` runs 256x256 only; 1280x720 takes ~13 minutes on 2 cores (2 timed rounds there).
"""

import dataclasses
import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from keras_deblur.bench import AUTHORS, Row, median_seconds, precisions, torch_available
from keras_deblur.bench.deblur import export_paper_model
from keras_deblur.flops import count_flops
from keras_deblur.models import build_generator_from_spec, pyramid
from keras_deblur.models.generator import coarse_to_fine
from keras_deblur.models.specs import generator_spec
from keras_deblur.models.winograd import with_winograd_convs
from keras_deblur.precision import dtype_policy
from keras_deblur.training.validation import make_forward
from keras_deblur.winograd_units import winograd_compiled_alone

SIZES = ((256, 256), (720, 1280))
MIXED_SIZES = ((64, 64), (50, 70), (128, 96), (33, 47), (256, 256))
WINOGRAD = "keras, winograd convs (xla)"


def _bare_stack(height, width):
    """The paper generator's scales and links alone, on centred levels in the compute dtype."""
    spec = generator_spec("paper")
    dtype = keras.config.dtype_policy().compute_dtype
    levels = [
        keras.Input(
            shape=(height // 2**k, width // 2**k, 3), batch_size=1, dtype=dtype, name=f"level{k}"
        )
        for k in range(spec.num_scales)
    ]
    fields = dataclasses.asdict(spec)
    del fields["num_scales"]
    outputs = coarse_to_fine(levels, **fields)
    return keras.Model(levels, outputs[0], name="bare_stack")


def _ways(image, precision, export_dir):
    """({way: a function that runs it once and waits for the result}, all on `image` [1, H, W, 3];
    the seconds the Winograd way's first call took, None where it does not run)."""
    height, width = image.shape[1:3]
    with dtype_policy(precision):
        generator = build_generator_from_spec("paper")
        bare = _bare_stack(height, width)
    compute_dtype = bare.inputs[0].dtype
    levels = [
        tf.cast(level - 0.5, compute_dtype)
        for level in pyramid.gaussian_pyramid(image, len(bare.inputs))
    ]
    bare_forward = tf.function(lambda xs: bare(xs, training=False))
    keras_forward = make_forward(generator)
    exported = tf.saved_model.load(export_paper_model(export_dir, precision))
    float_signature = exported.signatures["deblur_float"]
    encoded_signature = exported.signatures["serving_default"]
    png = tf.io.encode_png(tf.cast(tf.round(image[0] * 255.0), tf.uint8))[None]
    ways = {
        "bare stack": lambda: bare_forward(levels).numpy(),
        "keras": lambda: keras_forward(image).numpy(),
        "savedmodel deblur_float": lambda: float_signature(images=image)["deblurred"].numpy(),
        "savedmodel serving_default": lambda: encoded_signature(images_bytes=png)[
            "deblurred_bytes"
        ].numpy(),
    }
    first_call = None
    if precision == "float32":
        ways[WINOGRAD], first_call = _winograd_forward(generator, image)
    if torch_available():
        ways[AUTHORS] = _authors_forward(image.numpy(), precision)
    return ways, first_call


def _winograd_forward(generator, image):
    """(run once, seconds of the first call): the generator with Winograd convolutions as
    `deblur --conv_algorithm=winograd` runs them, each compiled by XLA for its size by that
    first call."""
    winograd = with_winograd_convs(generator, winograd_compiled_alone)
    forward = tf.function(lambda x: winograd(x, training=False)[0])
    start = time.perf_counter()
    forward(image)
    return (lambda: forward(image).numpy()), time.perf_counter() - start


def _authors_forward(image, precision):
    """Their generator's forward pass on `image`'s pyramid, as a function that waits for it."""
    import torch

    from keras_deblur.bench import authors_torch

    model = authors_torch.MSResNet().eval()
    pyramid = authors_torch.pyramid_tensors(image, model.scales)
    bf16 = precision == "mixed_bfloat16"

    def forward():
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            return model(pyramid)[0].float().numpy()

    return forward


def _matmul_gflops(rounds):
    """{framework: GFLOP/s} of a 2048^3 fp32 matmul, median of `rounds`: the CPU's practical peak
    as each framework reaches it."""
    n = 2048
    a = tf.random.uniform((n, n))
    matmuls = {"tensorflow": lambda: tf.linalg.matmul(a, a).numpy()}
    if torch_available():
        import torch

        b = torch.rand(n, n)
        matmuls["pytorch"] = lambda: torch.mm(b, b).numpy()
    seconds = median_seconds(matmuls, rounds)
    return {name: 2 * n**3 / value / 1e9 for name, value in seconds.items()}


def _traces_for_mixed_sizes():
    forward = make_forward(build_generator_from_spec("tiny"))
    rng = np.random.default_rng(0)
    for height, width in MIXED_SIZES:
        forward(tf.constant(rng.random((1, height, width, 3), dtype=np.float32)))
    return forward.experimental_get_tracing_count()


def run(config):
    start = time.perf_counter()
    generator = build_generator_from_spec("paper")
    rows = [
        Row("inference", "paper generator build", time.perf_counter() - start, "s"),
        Row("inference", "paper generator parameters", generator.count_params(), "count"),
    ]
    rng = np.random.default_rng(0)
    for height, width in SIZES[:1] if config.quick else SIZES:
        flops = count_flops(generator, height, width)["total"]
        rows.append(
            Row("inference", f"paper generator FLOPs at {width}x{height}", flops / 1e12, "TFLOP")
        )
        image = tf.constant(rng.random((1, height, width, 3), dtype=np.float32))
        rounds = config.repeats if height * width <= 256 * 256 else 2
        for precision in precisions():
            print(f"[bench] inference: {width}x{height} {precision} ...", flush=True)
            with tempfile.TemporaryDirectory() as scratch:
                ways, first_call = _ways(image, precision, os.path.join(scratch, "export"))
                seconds = median_seconds(ways, rounds)
            if first_call is not None:
                label = f"{width}x{height} {precision} {WINOGRAD}: first call (XLA compiles)"
                rows.append(Row("inference", label, first_call, "s"))
            for way, value in seconds.items():
                label = f"{width}x{height} {precision} {way}"
                rows += [
                    Row("inference", label, value, "s/image"),
                    Row("inference", label, height * width / value / 1e6, "MP/s"),
                    Row("inference", label, flops / value / 1e9, "GFLOP/s"),
                ]
                if way != "bare stack":
                    rows.append(
                        Row(
                            "inference",
                            label + " vs bare stack",
                            seconds["bare stack"] / value,
                            "ratio",
                        )
                    )
                if way in ("bare stack", "keras", WINOGRAD) and AUTHORS in seconds:
                    rows.append(
                        Row(
                            "inference",
                            f"{label} speed-up over {AUTHORS}",
                            seconds[AUTHORS] / value,
                            "ratio",
                        )
                    )
    for framework, gflops in _matmul_gflops(config.repeats).items():
        rows.append(Row("inference", f"fp32 matmul 2048^3, {framework}", gflops, "GFLOP/s"))
    rows.append(
        Row(
            "inference",
            f"keras path traces for {len(MIXED_SIZES)} mixed sizes",
            _traces_for_mixed_sizes(),
            "count",
        )
    )
    return rows
