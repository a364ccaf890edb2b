"""Bench section `model`: the paper generator's size, FLOPs and fp32 forward time at 256 x 256."""

import time

import numpy as np
import tensorflow as tf

import keras_deblur
from keras_deblur.bench import Row, median_seconds
from keras_deblur.flops import count_flops


def run(config):
    start = time.perf_counter()
    generator = keras_deblur.build_generator_from_spec("paper")
    build_seconds = time.perf_counter() - start
    size = 256
    flops = count_flops(generator, size, size)
    image = tf.constant(np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32))
    forward = tf.function(lambda x: generator(x, training=False)[0])
    seconds = median_seconds(lambda: forward(image).numpy(), config.repeats)
    label = f"forward fp32 {size}x{size}, batch 1"
    return [
        Row("model", "paper generator build", build_seconds, "s"),
        Row("model", "paper generator parameters", generator.count_params(), "count"),
        Row("model", "paper generator FLOPs per output pixel", flops["per_pixel"] / 1e6, "MFLOP"),
        Row("model", f"paper generator FLOPs at {size}x{size}", flops["total"] / 1e12, "TFLOP"),
        Row("model", label, seconds, "s/image"),
        Row("model", label, size * size / seconds / 1e6, "MP/s"),
        Row("model", label, flops["total"] / seconds / 1e9, "GFLOP/s"),
    ]
