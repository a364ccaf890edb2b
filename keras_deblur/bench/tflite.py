"""Bench section `tflite`: the shipped model as a TFLite file of each weight kind, against the Keras
model, on one 1280x720 frame in this process.

Rows per kind: the file's size, the median seconds per frame in TFLite's interpreter on every core
(XNNPACK, the interpreter's default CPU delegate), and that time relative to the Keras model's in
the same run (Keras first: the baseline every ratio divides), plus the largest difference from the
Keras output on the frame. The frame is `bench.deblur.photo_like_image`.
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
    files = {kind: tflite.convert(generator, kind) for kind in tflite.WEIGHTS}
    interpreters = {kind: tflite.Interpreter(blob) for kind, blob in files.items()}
    runs = {"keras": lambda: keras_forward(frame).numpy()}
    runs.update(
        {kind: (lambda i=interpreter: i(frame)) for kind, interpreter in interpreters.items()}
    )
    seconds = median_seconds(runs, config.repeats)
    rows = [Row("tflite", f"keras fp32 {WIDTH}x{HEIGHT}", seconds["keras"], "s/frame")]
    for kind, interpreter in interpreters.items():
        rows += [
            Row("tflite", f"{kind} file size", len(files[kind]) / 1e6, "MB"),
            Row("tflite", f"{kind} {WIDTH}x{HEIGHT}", seconds[kind], "s/frame"),
            Row("tflite", f"{kind} vs keras", seconds[kind] / seconds["keras"], "x time"),
            Row(
                "tflite",
                f"{kind} max abs diff from keras",
                float(np.abs(interpreter(frame) - expected).max()),
                "of 1",
            ),
        ]
    return rows
