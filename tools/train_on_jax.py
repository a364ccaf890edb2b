"""Fine-tunes a preset on Keras's JAX backend, on pairs rendered in memory: training for a GPU
machine that has JAX but no TensorFlow (the lent H200; BUILD.md, "Stage 7").

Here, where TensorFlow is, pack the photos the renderer draws from, read as `data.scenes
--photos_dir` reads them (a folder; empty: the packaged photos):

    python tools/train_on_jax.py pack --photos_dir=data/photo_sources --output=gpu/photos.npz

There, with the keras wheel carried (BUILD.md has the whole device command):

    python tools/train_on_jax.py train --photos=gpu/photos.npz --output_dir=$OUT \
        --num_train=1552 --num_test=48 --seed=11 --train_steps=14000 --decay_step=10500

`train` (on Keras's JAX backend: KERAS_BACKEND unset or jax) renders the pairs on every core
(`scene_mix.render_scene`, the embedded dataset's mix: pair i of a split is the pair a default
`data.scenes --seed` run with the same photos writes there), keeps them on the accelerator as
uint8, and trains the generator from the preset's weights with the `small` recipe's loss (L1
summed over scales, on `blur`) and Adam, the rate divided by 10 after --decay_step updates. Each
batch is cropped and augmented on the accelerator with `AugmentConfig`'s augmentations (the same
kinds and strengths as `augment.py`, not the same random draws). It writes
`generator.weights.h5` (the end), `before_decay.weights.h5` (if the run gets that far) and
`curve.json` (loss, learning rate and the validation PSNR of the test pairs by step, the render
and training times); `presets.write_weights` turns a weights file into the shipped float16 file,
here.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time

import numpy as np

PHOTO_KEY = "photo_{:03d}"  # the npz entry of photo i, in the order the renderer numbers them


def pack(photos_dir, output):
    from keras_deblur.data.photo_sources import load_photos
    from keras_deblur.data.scene_rendering import SceneConfig

    photos = load_photos(photos_dir, min_side=SceneConfig().size)
    np.savez_compressed(
        output, **{PHOTO_KEY.format(i): pixels for i, (_, pixels) in enumerate(photos)}
    )
    print(f"packed {len(photos)} photos into {output}")


_PHOTOS = None  # each render worker's photos, loaded once


def _start_worker(path):
    """A render worker's start: before it imports Keras, and so JAX, keep it off the GPU; then load
    the photos."""
    global _PHOTOS
    os.environ["JAX_PLATFORMS"] = "cpu"
    with np.load(path) as packed:
        _PHOTOS = [packed[PHOTO_KEY.format(i)] for i in range(len(packed.files))]


def _render(job):
    from keras_deblur.data.scene_mix import pair_rng, render_scene
    from keras_deblur.data.scene_rendering import SceneConfig

    seed, split, index = job
    pair = render_scene(pair_rng(seed, split, index), SceneConfig(), _PHOTOS)
    return pair.blur, pair.sharp


def render_pairs(photos, seed, split, count, workers):
    """([count, S, S, 3] blurry, sharp) uint8: pairs 0..count-1 of `split`, on `workers` processes
    (spawned, not forked: a fork of a process that has started JAX's or TensorFlow's threads can
    deadlock)."""
    from keras_deblur.progress import Progress

    context = multiprocessing.get_context("spawn")
    progress, pairs = Progress(count, "pair", f"render {split}"), []
    with context.Pool(workers, initializer=_start_worker, initargs=(photos,)) as pool:
        jobs = [(seed, split, i) for i in range(count)]
        for pair in pool.imap(_render, jobs, chunksize=4):
            pairs.append(pair)
            progress.update(len(pairs))
    return np.stack([b for b, _ in pairs]), np.stack([s for _, s in pairs])


def _saturate(image, factor):
    """HSV saturation times `factor` (clipped to 1), hue and value kept, as tf.image does; written
    on RGB: c' = V - (V - c) * min(factor, V / (V - min))."""
    import jax.numpy as jnp

    value = image.max(axis=-1, keepdims=True)
    spread = value - image.min(axis=-1, keepdims=True)
    scale = jnp.minimum(factor, value / jnp.maximum(spread, 1e-12))
    return jnp.where(spread > 0, value - (value - image) * scale, image)


def augment(key, blurry, sharp, config):
    """One crop of a uint8 pair, augmented as `config` (an AugmentConfig, rotation by right angles)
    says; float32 in [0, 1]."""
    import jax
    import jax.numpy as jnp

    if config.rotation != "right_angles":
        raise ValueError(f"rotation {config.rotation!r}: only right angles are implemented here")

    keys = jax.random.split(key, 9)
    size = config.crop_size
    top, left = (
        jax.random.randint(k, (), 0, blurry.shape[i] - size + 1) for i, k in enumerate(keys[:2])
    )
    pair = jnp.concatenate([blurry, sharp], axis=-1)
    pair = jax.lax.dynamic_slice(pair, (top, left, 0), (size, size, 6)).astype(jnp.float32) / 255.0
    turns = jax.random.randint(keys[2], (), 0, 4)
    pair = jax.lax.switch(turns, [lambda p, k=k: jnp.rot90(p, k) for k in range(4)], pair)
    names = config.augmentations
    if "flip_horizontal" in names:
        pair = jnp.where(jax.random.uniform(keys[3]) < 0.5, pair[:, ::-1], pair)
    if "flip_vertical" in names:
        pair = jnp.where(jax.random.uniform(keys[4]) < 0.5, pair[::-1], pair)
    if "channel_permutation" in names:
        order = jax.random.permutation(keys[5], 3)
        pair = pair[..., jnp.concatenate([order, order + 3])]
    blurry, sharp = pair[..., :3], pair[..., 3:]
    if "saturation" in names:
        factor = jax.random.uniform(
            keys[6], (), minval=config.saturation_range[0], maxval=config.saturation_range[1]
        )
        blurry, sharp = _saturate(blurry, factor), _saturate(sharp, factor)
    if "noise" in names:
        sigma = jnp.abs(jax.random.normal(keys[7])) * config.noise_sigma
        blurry = blurry + sigma * jax.random.normal(keys[8], blurry.shape)
    return jnp.clip(blurry, 0.0, 1.0), jnp.clip(sharp, 0.0, 1.0)


def train(args):
    os.makedirs(args.output_dir, exist_ok=True)
    started = time.time()
    workers = args.workers or os.cpu_count()
    train_blur, train_sharp = render_pairs(args.photos, args.seed, "train", args.num_train, workers)
    test_blur, test_sharp = render_pairs(args.photos, args.seed, "test", args.num_test, workers)
    render_seconds = time.time() - started

    import jax
    import jax.numpy as jnp
    import keras
    from keras import ops

    if keras.backend.backend() != "jax":
        raise SystemExit(
            f"error: train runs on Keras's JAX backend; KERAS_BACKEND={keras.backend.backend()}"
        )

    from keras_deblur import losses
    from keras_deblur.data.augment_config import AugmentConfig
    from keras_deblur.metrics import psnr_uint8
    from keras_deblur.models import presets

    curve = {"args": vars(args), "devices": [str(d) for d in jax.devices()], "log": []}
    curve["render_seconds"] = render_seconds
    print(
        f"rendered {args.num_train} + {args.num_test} pairs on {workers} processes in "
        f"{render_seconds:.0f} s",
        flush=True,
    )
    train_blur, train_sharp = jax.device_put(train_blur), jax.device_put(train_sharp)

    generator = presets.load(args.preset)
    if args.init_weights:
        generator.load_weights(args.init_weights)
    # Update n reads the optimizer's iteration count n - 1, and the schedule keeps its first value
    # up to the boundary inclusive: updates 1 to decay_step at the full rate, then a tenth.
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [args.decay_step - 1], [args.learning_rate, args.learning_rate / 10.0]
    )
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    optimizer.build(generator.trainable_variables)
    config = AugmentConfig(crop_size=args.crop_size)

    def loss_of(trainable, non_trainable, blurry, sharp):
        latents, non_trainable = generator.stateless_call(
            trainable, non_trainable, blurry, training=True
        )
        return ops.mean(losses.multiscale_l1(sharp, latents)), non_trainable

    @jax.jit
    def step(state, key, train_blur, train_sharp):
        trainable, non_trainable, optimizer_vars = state
        index_key, crop_key = jax.random.split(key)
        index = jax.random.randint(index_key, (args.batch_size,), 0, train_blur.shape[0])
        crops = jax.vmap(lambda k, b, s: augment(k, b, s, config))(
            jax.random.split(crop_key, args.batch_size), train_blur[index], train_sharp[index]
        )
        (loss, non_trainable), grads = jax.value_and_grad(loss_of, has_aux=True)(
            trainable, non_trainable, *crops
        )
        trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, trainable)
        return (trainable, non_trainable, optimizer_vars), loss

    @jax.jit
    def deblur(trainable, non_trainable, blurry):
        latents, _ = generator.stateless_call(trainable, non_trainable, blurry, training=False)
        return jnp.round(jnp.clip(latents[0], 0.0, 1.0) * 255.0)

    def validation_psnr(state):
        outputs = np.concatenate(
            [
                np.asarray(
                    deblur(
                        state[0], state[1], jnp.asarray(test_blur[i : i + 16], jnp.float32) / 255.0
                    )
                )
                for i in range(0, len(test_blur), 16)
            ]
        )
        return float(np.mean([psnr_uint8(o, s) for o, s in zip(outputs, test_sharp)]))

    def write_curve():
        with open(os.path.join(args.output_dir, "curve.json"), "w") as f:
            json.dump(curve, f, indent=1)

    def save(state, name):
        for variable, value in zip(generator.trainable_variables, state[0]):
            variable.assign(value)
        for variable, value in zip(generator.non_trainable_variables, state[1]):
            variable.assign(value)
        generator.save_weights(os.path.join(args.output_dir, name))

    blurry_psnr = np.mean([psnr_uint8(b, s) for b, s in zip(test_blur, test_sharp)])
    state = (
        [v.value for v in generator.trainable_variables],
        [v.value for v in generator.non_trainable_variables],
        [v.value for v in optimizer.variables],
    )
    curve["blurry_psnr"] = float(blurry_psnr)
    curve["log"].append({"step": 0, "validation_psnr": validation_psnr(state)})
    print(
        f"test pairs: blurry {blurry_psnr:.2f} dB, the preset "
        f"{curve['log'][-1]['validation_psnr']:.2f} dB",
        flush=True,
    )
    key = jax.random.key(args.seed)
    train_started, losses_since = time.time(), []
    for number in range(1, args.train_steps + 1):
        key, step_key = jax.random.split(key)
        state, loss = step(state, step_key, train_blur, train_sharp)
        losses_since.append(loss)
        if number == args.decay_step:
            save(state, "before_decay.weights.h5")
        if number % args.log_every == 0 or number == args.train_steps:
            entry = {
                "step": number,
                "loss": float(np.mean([float(x) for x in losses_since])),
                "seconds": time.time() - train_started,
                "learning_rate": float(schedule(number - 1)),
            }
            losses_since = []
            if number % args.validate_every == 0 or number == args.train_steps:
                entry["validation_psnr"] = validation_psnr(state)
            curve["log"].append(entry)
            print(json.dumps(entry), flush=True)
            write_curve()
        if args.train_minutes and time.time() - train_started > 60 * args.train_minutes:
            print(
                f"stopping at step {number}: --train_minutes={args.train_minutes} spent", flush=True
            )
            break
    curve["train_seconds"] = time.time() - train_started
    curve["steps"] = number
    save(state, "generator.weights.h5")
    write_curve()
    print(f"trained {number} steps in {curve['train_seconds']:.0f} s", flush=True)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser(
        "pack", help="pack the photos the renderer draws from (needs TensorFlow)"
    )
    packing.add_argument(
        "--photos_dir", default="", help="a folder of photos; empty: the packaged ones"
    )
    packing.add_argument("--output", required=True, help="the .npz file to write")
    training = commands.add_parser("train", help="render pairs and train (JAX)")
    training.add_argument("--photos", required=True, help="the .npz that `pack` wrote")
    training.add_argument("--output_dir", required=True)
    training.add_argument(
        "--preset", default="photo", help="the preset whose weights training starts from"
    )
    training.add_argument(
        "--init_weights",
        default="",
        help="a weights file of the preset's spec to start from instead",
    )
    training.add_argument("--num_train", type=int, default=1552)
    training.add_argument("--num_test", type=int, default=48)
    training.add_argument("--seed", type=int, default=11)
    training.add_argument(
        "--workers", type=int, default=0, help="render processes; 0: one per core"
    )
    training.add_argument("--batch_size", type=int, default=16)
    training.add_argument("--crop_size", type=int, default=128)
    training.add_argument("--learning_rate", type=float, default=1e-4)
    # The defaults are stage 7's run (BUILD.md), which made the shipped `photo`.
    training.add_argument("--train_steps", type=int, default=14_000)
    training.add_argument("--decay_step", type=int, default=10_500)
    training.add_argument(
        "--train_minutes", type=float, default=0.0, help="stop early after this long; 0: no limit"
    )
    training.add_argument("--log_every", type=int, default=500)
    training.add_argument("--validate_every", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.command == "pack":
        pack(args.photos_dir, args.output)
        return
    for name in (
        "train_steps",
        "decay_step",
        "log_every",
        "validate_every",
        "num_train",
        "num_test",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports Keras
    train(args)


if __name__ == "__main__":
    main(sys.argv[1:])
