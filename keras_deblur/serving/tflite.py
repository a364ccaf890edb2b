"""TFLite (LiteRT) files of a generator, for phones and edge devices, and running them here.

A file holds the finest output for one image of any size: input `images`, float32 [1, H, W, 3] in
[0, 1] (H and W set per image with the interpreter's `resize_tensor_input`); output float32
[1, H, W, 3] clipped to [0, 1]. The pyramid, the padding to a multiple of 2^(K-1) and the crop are
inside, as in the SavedModel.

The weights are frozen into the file as constants first: given the Keras model, TF 2.21's converter
keeps Keras 3's variables as TFLite resource variables, which need an initialisation call that
interpreters do not make (measured: a 79 KB file whose outputs are NaN).

Weight variants (`WEIGHTS`):
- `float32`: weights and arithmetic in float32; the Keras model's output within float error.
- `float16`: weights stored in float16 (half the file); CPU interpreters widen them to float32 when
  they load the file, GPU delegates may compute in float16.
- `int8`: dynamic-range quantisation (a quarter of the file): weights int8 per output channel,
  activations quantised on the fly by the kernels that support it.
"""

import os
import warnings

import numpy as np
import tensorflow as tf

from keras_deblur import file_io

WEIGHTS = ("float32", "float16", "int8")


def convert(generator, weights="float32"):
    """The .tflite bytes of `generator`'s finest output, with `weights` one of WEIGHTS."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    if weights not in WEIGHTS:
        raise ValueError(f"--tflite_weights={weights}: expected one of {', '.join(WEIGHTS)}")

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32, name="images")])
    def deblur(images):
        finest = tf.cast(generator(images, training=False)[0], tf.float32)
        return {"deblurred": tf.clip_by_value(finest, 0.0, 1.0)}

    frozen = convert_variables_to_constants_v2(deblur.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
    if weights != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if weights == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def keras_output(generator, images):
    """What a file converted from `generator` gives for `images`, computed by Keras: the finest
    output clipped to [0, 1] (the reference its parity is measured against)."""
    return np.clip(generator(images, training=False)[0].numpy(), 0.0, 1.0)


# A TFLite flatbuffer's file identifier, at bytes 4-8.
TFLITE_IDENTIFIER = b"TFL3"


def check_target(path, overwrite=False):
    """Refuses an existing `path` unless `overwrite`, and, even then, one that holds something
    other than a TFLite model (a slip such as --tflite_file=<the .keras model being exported>
    would replace the input). Called before the conversion too, so a refusal comes at once."""
    if not tf.io.gfile.exists(path):
        return
    if not overwrite:
        raise FileExistsError(f"--tflite_file={path} exists already; --overwrite replaces it")
    with tf.io.gfile.GFile(path, "rb") as f:
        if f.read(8)[4:] != TFLITE_IDENTIFIER:
            raise ValueError(
                f"--tflite_file={path} holds something other than a TFLite model; --overwrite "
                "replaces only TFLite files: name another file"
            )


def write(blob, path, overwrite=False):
    """Writes the bytes atomically; an existing `path` is refused unless `overwrite` (and unless it
    is a TFLite file: `check_target`)."""
    check_target(path, overwrite)
    folder = os.path.dirname(path)
    if folder:
        tf.io.gfile.makedirs(folder)
        file_io.remove_dead_leftovers(folder)
    try:
        with (
            file_io.atomic_path(path, overwrite=overwrite) as temporary,
            tf.io.gfile.GFile(temporary, "wb") as f,
        ):
            f.write(blob)
    except tf.errors.AlreadyExistsError:
        raise FileExistsError(f"--tflite_file={path} exists already; --overwrite replaces it")


class Interpreter:
    """Runs a .tflite file that `convert` wrote, one image at a time, on `num_threads` cores."""

    def __init__(self, path_or_bytes, num_threads=None):
        source = (
            {"model_content": path_or_bytes}
            if isinstance(path_or_bytes, bytes)
            else {"model_path": path_or_bytes}
        )
        with warnings.catch_warnings():
            # TF 2.21 warns that tf.lite.Interpreter moves to the ai_edge_litert package; the same
            # runtime, one more dependency: this one is in the TensorFlow the package needs anyway.
            warnings.simplefilter("ignore", UserWarning)
            try:
                self._interpreter = tf.lite.Interpreter(
                    **source, num_threads=num_threads or os.cpu_count()
                )
            except ValueError as error:
                name = "the bytes" if "model_content" in source else path_or_bytes
                raise ValueError(f"{name} is not a TFLite model: {error}") from None
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._shape = None

    def __call__(self, images):
        """float32 [1, H, W, 3] in [0, 1] -> the deblurred image, the same shape."""
        images = np.asarray(images, np.float32)
        if images.shape != self._shape:  # allocation is per shape: frames of a video share one
            self._interpreter.resize_tensor_input(self._input, images.shape, strict=False)
            self._interpreter.allocate_tensors()
            self._shape = images.shape
        self._interpreter.set_tensor(self._input, images)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)
