"""Bench section `training`: steps/s and pairs/s of DeblurGAN's train_step on this machine.

The paper spec at 256 x 256, global batch 4, in fp32 and (where the CPU has bf16 instructions)
mixed_bfloat16, with the adversarial loss
(lambda = 1e-4, so a discriminator step too) and without it (lambda = 0); and the tiny spec. Batches
are fixed random tensors, so the figure is the step alone, not the input pipeline (section `input`).
The step is the training loop's own (`make_step_function`) under a one-device strategy. Where
PyTorch is installed, the authors' step on the same batch (`authors_torch.TrainStep`: their
generator and the paper's discriminator, Adam) takes turns with ours, round after round, and the
row `speed-up over authors' pytorch` is their step time over ours (the issue's target: >= 1.2).
The fp32 paper cases run once more with `--conv_algorithm=winograd` (the generator's convs as
Winograd F(4x4, 5x5), each compiled by XLA on its own: `winograd_units.py`), the way to train on
CPUs without AVX-512, where TensorFlow's direct convolutions are slow.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_deblur.bench import AUTHORS, Row, median_seconds, precisions, torch_available
from keras_deblur.data.augment_config import AugmentConfig
from keras_deblur.data.input_pipeline import InputConfig
from keras_deblur.models.specs import DISCRIMINATOR_SPECS, GENERATOR_SPECS
from keras_deblur.precision import dtype_policy
from keras_deblur.training.assembly import build_gan
from keras_deblur.training.config import TrainConfig
from keras_deblur.training.step import make_step_function
from keras_deblur.training.strategy import Topology

BATCH = 4


def _our_step(spec, discriminator, crop, precision, adversarial_weight, conv_algorithm):
    """One step of the training loop's own step function, as a function that waits for it."""
    with dtype_policy(precision):
        config = TrainConfig(
            run_dir="",
            data_dir="",
            generator=GENERATOR_SPECS[spec],
            discriminator=discriminator,
            input=InputConfig(batch_size=BATCH, augment=AugmentConfig(crop_size=crop)),
            adversarial_weight=adversarial_weight,
            mixed_precision=precision,
            conv_algorithm=conv_algorithm,
        )
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        with strategy.scope():
            gan = build_gan(config)
        iterator = iter(tf.data.Dataset.from_tensors(_batch(crop)).repeat())
        step = make_step_function(
            gan, strategy, Topology(1, 1, 0), iterator, jit_compile=config.jit_compile
        )
    return lambda: float(step()["g_loss"])


def _authors_step(crop, precision, adversarial_weight):
    """One step of their generator and discriminator in PyTorch (`authors_torch.TrainStep`) on the
    same batch's pyramids; the forward passes under bf16 autocast in the bf16 case."""
    from keras_deblur.bench import authors_torch

    generator = authors_torch.MSResNet()
    discriminator = authors_torch.Discriminator(
        dataclasses.replace(DISCRIMINATOR_SPECS["paper"], image_size=crop)
    )
    step = authors_torch.TrainStep(
        generator, discriminator, adversarial_weight, bf16=precision == "mixed_bfloat16"
    )
    blurry, sharp = (
        authors_torch.pyramid_tensors(x.numpy(), generator.scales) for x in _batch(crop)
    )
    return lambda: step(blurry, sharp)


def _batch(crop):
    """A fixed random (blurry, sharp) batch: the figure is the step alone, not the input."""
    rng = np.random.default_rng(0)
    return tuple(
        tf.constant(rng.random((BATCH, crop, crop, 3), dtype=np.float32)) for _ in range(2)
    )


def run(config):
    paper_rounds = 1 if config.quick else 3
    cases = [
        ("paper", "paper", 256, precision, weight, "direct", paper_rounds)
        for precision in precisions()
        for weight in (1e-4, 0.0)
    ]
    cases += [
        ("paper", "paper", 256, "float32", weight, "winograd", paper_rounds)
        for weight in (1e-4, 0.0)
    ]
    cases += [("tiny", "tiny", 32, "float32", 1e-4, "direct", 50)]
    rows = []
    for spec, discriminator, crop, precision, weight, conv_algorithm, rounds in cases:
        label = f"{spec} {crop}x{crop} batch {BATCH} {precision}, " + (
            "with GAN" if weight else "no GAN"
        )
        if conv_algorithm == "winograd":
            label += ", winograd convs (xla)"
        print(f"[bench] training: {label} ...", flush=True)
        steps = {
            "keras_deblur": _our_step(spec, discriminator, crop, precision, weight, conv_algorithm)
        }
        if spec == "paper" and torch_available():
            steps[AUTHORS] = _authors_step(crop, precision, weight)
        seconds = median_seconds(steps, rounds)
        for name, value in seconds.items():
            named = label if name == "keras_deblur" else f"{label}, {name}"
            rows += [
                Row("training", named, 1.0 / value, "steps/s"),
                Row("training", named, BATCH / value, "pairs/s"),
            ]
        if AUTHORS in seconds:
            rows.append(
                Row(
                    "training",
                    f"{label} speed-up over {AUTHORS}",
                    seconds[AUTHORS] / seconds["keras_deblur"],
                    "ratio",
                )
            )
    return rows
