"""Bench section `input`: augmented 256 x 256 training pairs per second from tf.data.

The source is a GOPRO-like tree of 1280 x 720 PNG pairs, each a 5 x 3 mosaic of rendered scenes
(so PNG decoding costs what it costs on real photographs of that size, not on flat test images),
and the same pairs as TFRecords, of PNG bytes and of raw pixels (as the ingest stage writes the
train split). The pipeline runs as training runs it: every augmentation on, 4 crops per decoded
image, global batch 4, rotation by right angles (the default; by any angle in one row per source).
"1 core" limits tf.data to one thread (private thread pool of 1, no intra-op parallelism); "all
cores" is the default. "cores to feed" divides a GPU's appetite (GPU_PAIRS_PER_SECOND) by the rate
of one core: how many host cores one GPU needs.
"""

import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from keras_deblur.bench import Row
from keras_deblur.data import images
from keras_deblur.data.augment_config import AugmentConfig
from keras_deblur.data.blur_synthesis import write_gopro_pair
from keras_deblur.data.input_pipeline import InputConfig, training_dataset
from keras_deblur.data.pairs import discover_pairs
from keras_deblur.data.scene_rendering import render_pair
from keras_deblur.data.tfrecords import PIXELS, write_tfrecord

HEIGHT, WIDTH, TILE = 720, 1280, 256
# What one GPU's training step of the paper model consumes, at the high end (issue 18: ~100-250).
GPU_PAIRS_PER_SECOND = 250


def _write_hd_tree(root, num_pairs):
    rows, cols = -(-HEIGHT // TILE), -(-WIDTH // TILE)
    for index in range(num_pairs):
        tiles = [render_pair(np.random.default_rng([index, tile])) for tile in range(rows * cols)]

        def mosaic(key):
            grid = [
                np.concatenate([getattr(t, key) for t in tiles[r * cols : (r + 1) * cols]], axis=1)
                for r in range(rows)
            ]
            return np.concatenate(grid, axis=0)[:HEIGHT, :WIDTH]

        write_gopro_pair(
            root,
            "train",
            "hd",
            f"{index:06d}.png",
            sharp=mosaic("sharp"),
            blur=mosaic("blur"),
            blur_gamma=mosaic("blur_gamma"),
        )


def _pairs_per_second(source, batches, one_core, rotation):
    config = InputConfig(batch_size=4, crops_per_image=4, augment=AugmentConfig(rotation=rotation))
    ds = training_dataset(source, config)
    if one_core:
        options = tf.data.Options()
        options.threading.private_threadpool_size = 1
        options.threading.max_intra_op_parallelism = 1
        ds = ds.with_options(options)
    iterator = iter(ds)
    for _ in range(3):  # warm-up: tracing, thread start, file cache
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * config.batch_size / (time.perf_counter() - start)


def _decoded_pairs_per_second(pairs, repeats):
    """Both PNGs of a pair decoded one after the other, in separate calls (two decodes in one
    tf.function would run side by side on two cores)."""
    encoded = [(tf.io.read_file(p.blurry), tf.io.read_file(p.sharp)) for p in pairs]
    decode = tf.function(images.decode_png_uint16)
    decode(encoded[0][0])
    start = time.perf_counter()
    for _ in range(repeats):
        for blurry, sharp in encoded:
            decode(blurry).numpy()
            decode(sharp).numpy()
    return repeats * len(encoded) / (time.perf_counter() - start)


def _sources(root, pairs):
    """{label: training source}: the PNG tree, and two shards of it with PNG bytes and with raw
    pixels (what the ingest stage writes for the train split)."""
    sources = {"PNG tree": pairs}
    for pixels in PIXELS:
        shards = [os.path.join(root, f"{pixels}-{i}.tfrecord") for i in range(2)]
        for i, shard in enumerate(shards):
            write_tfrecord(shard, pairs[i::2], pixels)
        sources[f"TFRecords ({pixels})"] = shards
    return sources


def run(config):
    num_pairs, batches = (2, 25) if config.quick else (4, 100)
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as root:
        print(f"[bench] input: rendering {num_pairs} {WIDTH}x{HEIGHT} pairs ...", flush=True)
        _write_hd_tree(root, num_pairs)
        pairs = discover_pairs(root, "train").pairs
        rows.append(
            Row(
                "input",
                "PNG decode only (both images), 1 core",
                _decoded_pairs_per_second(pairs, 3 if config.quick else 10),
                "decoded pairs/s",
            )
        )
        for label, source in _sources(root, pairs).items():
            one = _pairs_per_second(source, batches, True, "right_angles")
            every = _pairs_per_second(source, batches, False, "right_angles")
            rows += [
                Row("input", f"{label}, 1 core", one, "pairs/s"),
                Row("input", f"{label}, all {cores} cores", every, "pairs/s"),
                Row("input", f"{label}, all {cores} cores, per core", every / cores, "pairs/s"),
                Row(
                    "input",
                    f"{label}, cores to feed {GPU_PAIRS_PER_SECOND} pairs/s",
                    GPU_PAIRS_PER_SECOND / one,
                    "cores",
                ),
                Row(
                    "input",
                    f"{label}, rotation any, 1 core",
                    _pairs_per_second(source, batches, True, "any"),
                    "pairs/s",
                ),
            ]
    return rows
