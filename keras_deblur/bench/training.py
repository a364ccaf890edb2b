"""Bench section `training`: steps/s and pairs/s of DeblurGAN's train_step on this machine.

The paper spec at 256 x 256, global batch 4, in fp32 and mixed_bfloat16, with the adversarial loss
(lambda = 1e-4, so a discriminator step too) and without it (lambda = 0); and the tiny spec. Batches
are fixed random tensors, so the figure is the step alone, not the input pipeline (section `input`).
The step is the training loop's own (`make_step_function`) under a one-device strategy.
"""

import time

import numpy as np
import tensorflow as tf

from keras_deblur.bench import Row
from keras_deblur.data.augment import AugmentConfig
from keras_deblur.data.input_pipeline import InputConfig
from keras_deblur.models.specs import GENERATOR_SPECS
from keras_deblur.precision import dtype_policy
from keras_deblur.training.assembly import build_gan
from keras_deblur.training.config import TrainConfig
from keras_deblur.training.step import make_step_function
from keras_deblur.training.strategy import Topology

BATCH = 4


def _steps_per_second(spec, discriminator, crop, precision, adversarial_weight, steps):
    with dtype_policy(precision):
        config = TrainConfig(
            run_dir="",
            data_dir="",
            generator=GENERATOR_SPECS[spec],
            discriminator=discriminator,
            input=InputConfig(batch_size=BATCH, augment=AugmentConfig(crop_size=crop)),
            adversarial_weight=adversarial_weight,
            mixed_precision=precision,
        )
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        with strategy.scope():
            gan = build_gan(config)
        rng = np.random.default_rng(0)
        batch = tuple(
            tf.constant(rng.random((BATCH, crop, crop, 3), dtype=np.float32)) for _ in range(2)
        )
        iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
        step = make_step_function(gan, strategy, Topology(1, 1, 0), iterator, jit_compile=False)
        float(step()["g_loss"])  # warm-up: tracing
        start = time.perf_counter()
        for _ in range(steps):
            logs = step()
        float(logs["g_loss"])
        return steps / (time.perf_counter() - start)


def run(config):
    paper_steps = 1 if config.quick else 3
    cases = [
        ("paper", "paper", 256, precision, weight, paper_steps)
        for precision in ("float32", "mixed_bfloat16")
        for weight in (1e-4, 0.0)
    ] + [("tiny", "tiny", 32, "float32", 1e-4, 50)]
    rows = []
    for spec, discriminator, crop, precision, weight, steps in cases:
        label = f"{spec} {crop}x{crop} batch {BATCH} {precision}, " + (
            "with GAN" if weight else "no GAN"
        )
        print(f"[bench] training: {label} ...", flush=True)
        rate = _steps_per_second(spec, discriminator, crop, precision, weight, steps)
        rows += [
            Row("training", label, rate, "steps/s"),
            Row("training", label, rate * BATCH, "pairs/s"),
        ]
    return rows
