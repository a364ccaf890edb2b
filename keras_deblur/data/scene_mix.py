"""The embedded dataset's mix of scenes: blurred photos and procedural scenes, one pair per seed.

NumPy alone (no TensorFlow, no files), so a pair renders where TensorFlow does not: `data.scenes`
writes pairs in the GOPRO layout, `tools/train_on_jax.py` renders them in memory on the GPU
machine. The same rng and config give the same pixels in both.
"""

import numpy as np

from keras_deblur.data.photo_blur import PhotoBlurConfig, render_photo_pair
from keras_deblur.data.scene_rendering import render_pair

SPLIT_IDS = {"train": 0, "test": 1}


def pair_rng(seed, split, index):
    """The generator that renders pair `index` of `split`: from the three numbers alone, so a pair
    depends on neither the number of pairs nor the worker that renders it."""
    return np.random.default_rng([seed, SPLIT_IDS[split], index])


def photo_blur_config(config):
    """The PhotoBlurConfig of a SceneConfig: its size and gamma, and each photo_* setting it gives
    (the others stay PhotoBlurConfig's)."""
    shortest = PhotoBlurConfig.blur_length[0]
    given = {
        "blur_length": None if config.photo_max_blur is None else (shortest, config.photo_max_blur),
        "length_skew": config.photo_blur_skew,
        "num_objects": config.photo_num_objects,
        "object_size": config.photo_object_size,
        "camera_frames": config.photo_camera_frames,
        "optics_blur": config.photo_optics_blur,
    }
    return PhotoBlurConfig(
        size=config.size,
        gamma=config.gamma,
        **{name: value for name, value in given.items() if value is not None},
    )


def render_scene(rng, config, photos):
    """One pair: one of `photos` (uint8 RGB arrays, as `photo_sources.load_photos` gives them)
    blurred by simulated camera shake and moving layers (`photo_blur.py`), with probability
    config.photo_blur_probability, else a procedural scene (`scene_rendering.py`)."""
    if config.photo_blur_probability > 0 and rng.random() < config.photo_blur_probability:
        photo, layer_photo = (photos[i] for i in rng.integers(len(photos), size=2))
        return render_photo_pair(rng, photo, photo_blur_config(config), layer_photo=layer_photo)
    return render_pair(rng, config)
