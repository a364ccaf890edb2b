"""The Python API users call: `Deblurrer(path).deblur(image) -> image`.

    from keras_deblur.serving.deblurrer import Deblurrer
    deblurred = Deblurrer("savedmodels/deblur").deblur(image)   # [H, W, 3], uint8 or float in [0,
    1]

`path` is an exported SavedModel (a version folder, or a base path: its highest version). Large
images run in overlapping tiles (`tiling.py`), so memory is set by the tile size. `RemoteDeblurrer`
offers the same `deblur` through a running TF Serving (`client.py`).
"""

import numpy as np
import tensorflow as tf

from keras_deblur.data.images import to_uint8
from keras_deblur.serving import saved_model
from keras_deblur.serving.tiling import check_tiling, deblur_tiled

DEFAULT_TILE_SIZE = 512
DEFAULT_TILE_OVERLAP = 64


def _as_float(image):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be [height, width, 3] RGB, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0, np.uint8
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0, np.uint16
    return image.astype(np.float32), None


def _restore_dtype(deblurred, dtype):
    if dtype is None:
        return deblurred
    top = np.iinfo(dtype).max
    return np.round(np.clip(deblurred, 0.0, 1.0) * top).astype(dtype)


class Deblurrer:
    """Deblurs images with an exported model, locally, in tiles."""

    def __init__(
        self, path, tile_size=DEFAULT_TILE_SIZE, tile_overlap=DEFAULT_TILE_OVERLAP, tile_batch=4
    ):
        self.model, self.metadata = saved_model.load(path)
        self.align = 2 ** (int(self.metadata.get("num_scales", 3)) - 1)
        check_tiling(tile_size, tile_overlap, self.align, tile_batch)
        self.tile_size, self.tile_overlap, self.tile_batch = tile_size, tile_overlap, tile_batch
        self._signature = self.model.signatures["deblur_float"]

    def _run_batch(self, tiles):
        return self._signature(images=tf.constant(tiles, tf.float32))["deblurred"].numpy()

    def deblur(self, image):
        """[H, W, 3] uint8, uint16 or float in [0, 1] -> the deblurred image, same size and
        dtype."""
        pixels, dtype = _as_float(image)
        deblurred = deblur_tiled(
            self._run_batch, pixels, self.tile_size, self.tile_overlap, self.align, self.tile_batch
        )
        return _restore_dtype(deblurred, dtype)


class RemoteDeblurrer:
    """The same `deblur`, sent to TF Serving's REST API (the server deblurs the whole image)."""

    def __init__(self, server, model_name):
        from keras_deblur.serving.client import RestClient

        self.client = RestClient(server, model_name)

    def deblur(self, image):
        pixels, dtype = _as_float(image)
        png = tf.io.encode_png(to_uint8(pixels)).numpy()
        deblurred = tf.io.decode_png(self.client.deblur_encoded([png])[0]).numpy()
        return _restore_dtype(deblurred.astype(np.float32) / 255.0, dtype)
