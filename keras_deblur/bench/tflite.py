"""Bench section `tflite`: the shipped model as a TFLite file of each weight kind, against the Keras
model, on one 1280x720 frame in this process.

Rows per kind: the file's size, the median seconds per frame in TFLite's interpreter on every core
(XNNPACK, the interpreter's default CPU delegate), and that time relative to the Keras model's,
timed in turns with it, plus the largest difference from the Keras output on the frame. The kinds
are timed one after another, one interpreter alive at a time: an interpreter holds every activation
of the frame (6.7 GB peak RSS for the 64-map `photo` at 1280x720, BUILD.md), and three at once were
killed for memory on a 24 GB machine. The Keras row is the median of its times over the three
turns. The frame is `bench.deblur.photo_like_image`.
"""

import numpy as np

from keras_deblur.bench import Row, median_seconds
from keras_deblur.bench.deblur import photo_like_image

HEIGHT, WIDTH = 720, 1280


def run(config):
    import tensorflow as tf

    from keras_deblur.models import presets
    from keras_deblur.serving import tflite

    generator = presets.load_shipped(presets.DEFAULT)
    frame = photo_like_image(HEIGHT, WIDTH)[None]
    keras_forward = tf.function(lambda x: generator(x, training=False)[0])
    expected = tflite.keras_output(generator, frame)
    keras_seconds, rows = [], []
    for kind in tflite.WEIGHTS:
        blob = tflite.convert(generator, kind)
        seconds, difference = _time_against_keras(
            tflite.Interpreter(blob), lambda: keras_forward(frame).numpy(), frame, expected, config
        )
        keras_seconds.append(seconds["keras"])
        rows += [
            Row("tflite", f"{kind} file size", len(blob) / 1e6, "MB"),
            Row("tflite", f"{kind} {WIDTH}x{HEIGHT}", seconds["tflite"], "s/frame"),
            Row("tflite", f"{kind} vs keras", seconds["tflite"] / seconds["keras"], "x time"),
            Row("tflite", f"{kind} max abs diff from keras", difference, "of 1"),
        ]
    keras_row = Row(
        "tflite", f"keras fp32 {WIDTH}x{HEIGHT}", float(np.median(keras_seconds)), "s/frame"
    )
    return [keras_row] + rows


def _time_against_keras(interpreter, keras_run, frame, expected, config):
    """({"keras": s, "tflite": s}, largest difference from `expected`); the interpreter is freed
    when this returns, as it is the only reference to it."""
    seconds = median_seconds(
        {"keras": keras_run, "tflite": lambda: interpreter(frame)}, config.repeats
    )
    return seconds, float(np.abs(interpreter(frame) - expected).max())
