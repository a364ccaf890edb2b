"""Exports a generator as a TFLite (LiteRT) file for phones and edge devices:
`python -m keras_deblur.export_tflite --preset=photo --tflite_file=deblur.tflite
[--tflite_weights=float32|float16|int8]`, or `--run_dir=<run>` instead of `--preset`.

Writes the file atomically (never over an existing one unless --overwrite), then checks it: the
file runs in TFLite's interpreter on a 256x256 photo that ships with scikit-image, and the command
prints the largest difference from the Keras model on it (`serving/tflite.py` has the contract).
"""

import numpy as np
from absl import flags

from keras_deblur import cli
from keras_deblur import flags as f
from keras_deblur.runs import generator_to_export

FLAGS_USED = ("run_dir", "model_dir", "preset", "tflite_file", "tflite_weights", "overwrite")
PARITY_SIDE = 256


def parity_image():
    """A real photo's 256x256 crop as [1, 256, 256, 3] float32 (scikit-image's astronaut)."""
    from skimage import data

    return (data.astronaut()[:PARITY_SIDE, 128 : 128 + PARITY_SIDE] / 255.0)[None].astype(
        np.float32
    )


def main(argv):
    del argv  # cli.run has checked that there are no positional arguments
    import tensorflow as tf

    from keras_deblur.serving import tflite

    path = f.TFLITE_FILE.value
    if tf.io.gfile.isdir(path):
        raise ValueError(f"--tflite_file={path} is a folder; name the .tflite file to write")
    tflite.check_target(path, f.OVERWRITE.value)
    generator, _ = generator_to_export(f.run_dir(), f.PRESET.value)
    blob = tflite.convert(generator, f.TFLITE_WEIGHTS.value)
    tflite.write(blob, path, overwrite=f.OVERWRITE.value)
    image = parity_image()
    difference = np.abs(
        tflite.Interpreter(path)(image) - tflite.keras_output(generator, image)
    ).max()
    print(
        f"exported {path}: {len(blob) / 1e6:.2f} MB, {f.TFLITE_WEIGHTS.value} weights; "
        f"largest difference from the Keras model on a {PARITY_SIDE}x{PARITY_SIDE} photo: "
        f"{difference:.2g} (of 1)"
    )


if __name__ == "__main__":
    flags.mark_flags_as_required(["tflite_file"])
    cli.run(main, FLAGS_USED)
