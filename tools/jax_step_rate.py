"""Times DeblurGAN's training step on Keras's JAX backend, on whatever accelerator JAX has: the
figure that says how many training pairs a second an input pipeline must deliver to keep that
accelerator busy (issue 18; BUILD.md, "Training input"). For the lent GPU machine, which has JAX
but no TensorFlow, so the step is written here in JAX rather than taken from `training.step`.

One step is the train step's (`training/gan.py`): the generator's forward pass, with the paper's
GAN a discriminator update on (sharp, the finest output), then the generator's update on the
content loss plus `adversarial_weight` times the updated discriminator's adversarial loss; Adam for
both. The batch is a fixed random one, so the figure is the step alone, as in `bench training`.

    KERAS_BACKEND=jax python tools/jax_step_rate.py --spec=paper --crop_size=256 \
        --batch_sizes=4,16 --precisions=float32,mixed_bfloat16

prints one line per case: the first call (compiling), then steps/s and pairs/s over --steps calls.
"""

import argparse
import time

import numpy as np


def time_case(spec, crop, batch, precision, adversarial_weight, steps):
    """(seconds of the first call, median seconds of a step over `steps` calls)."""
    import jax
    import keras
    from keras import ops

    from keras_deblur import losses
    from keras_deblur.models import build_discriminator_from_spec, build_generator_from_spec

    keras.config.set_dtype_policy(precision)
    try:
        generator = build_generator_from_spec(spec)
        discriminator = build_discriminator_from_spec("paper", image_size=crop)
    finally:
        keras.config.set_dtype_policy("float32")
    with_gan = adversarial_weight > 0
    g_optimizer, d_optimizer = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    g_optimizer.build(generator.trainable_variables)
    d_optimizer.build(discriminator.trainable_variables)

    def d_loss(trainable, non_trainable, sharp, fake):
        real_logits, non_trainable = discriminator.stateless_call(
            trainable, non_trainable, sharp, training=True
        )
        fake_logits, non_trainable = discriminator.stateless_call(
            trainable, non_trainable, fake, training=True
        )
        return ops.mean(losses.discriminator_loss(real_logits, fake_logits)), non_trainable

    def g_loss(trainable, non_trainable, d_state, blurry, sharp):
        latents, non_trainable = generator.stateless_call(
            trainable, non_trainable, blurry, training=True
        )
        total = losses.multiscale_mse(sharp, latents)
        if with_gan:
            logits, _ = discriminator.stateless_call(*d_state, latents[0], training=False)
            total = total + adversarial_weight * losses.generator_adversarial_loss(logits)
        return ops.mean(total), (non_trainable, latents[0])

    @jax.jit
    def step(state, blurry, sharp):
        g_vars, g_opt, d_vars, d_opt = state
        if with_gan:  # D first, on G's output before this step's update (as train_step does)
            latents, _ = generator.stateless_call(*g_vars, blurry, training=True)
            fake = jax.lax.stop_gradient(latents[0])
            (_, d_non), grads = jax.value_and_grad(d_loss, has_aux=True)(*d_vars, sharp, fake)
            d_trainable, d_opt = d_optimizer.stateless_apply(d_opt, grads, d_vars[0])
            d_vars = (d_trainable, d_non)
        (loss, (g_non, _)), grads = jax.value_and_grad(g_loss, has_aux=True)(
            *g_vars, d_vars, blurry, sharp
        )
        g_trainable, g_opt = g_optimizer.stateless_apply(g_opt, grads, g_vars[0])
        return ((g_trainable, g_non), g_opt, d_vars, d_opt), loss

    state = (
        (
            [v.value for v in generator.trainable_variables],
            [v.value for v in generator.non_trainable_variables],
        ),
        [v.value for v in g_optimizer.variables],
        (
            [v.value for v in discriminator.trainable_variables],
            [v.value for v in discriminator.non_trainable_variables],
        ),
        [v.value for v in d_optimizer.variables],
    )
    rng = np.random.default_rng(0)
    blurry, sharp = (
        jax.device_put(rng.random((batch, crop, crop, 3), dtype=np.float32)) for _ in range(2)
    )
    started = time.perf_counter()
    state, loss = step(state, blurry, sharp)
    loss.block_until_ready()
    first = time.perf_counter() - started
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        state, loss = step(state, blurry, sharp)
        loss.block_until_ready()
        seconds.append(time.perf_counter() - started)
    if not np.isfinite(float(loss)):
        raise SystemExit(f"error: the loss became {float(loss)} in {spec} {precision}")
    return first, float(np.median(seconds))


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _positive_ints(text):
    return [_positive_int(part) for part in text.split(",")]


def _precisions(text):
    for precision in text.split(","):
        if precision not in PRECISIONS:
            raise argparse.ArgumentTypeError(f"{precision!r} is not one of {PRECISIONS}")
    return text.split(",")


def _spec(name):
    from keras_deblur.models.specs import GENERATOR_SPECS

    if name not in GENERATOR_SPECS:
        raise argparse.ArgumentTypeError(f"{name!r} is not one of {sorted(GENERATOR_SPECS)}")
    return name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=_spec, default="paper", help="a GENERATOR_SPECS name")
    parser.add_argument("--crop_size", type=_positive_int, default=256)
    parser.add_argument(
        "--batch_sizes", type=_positive_ints, default="4,16", help="comma-separated"
    )
    parser.add_argument(
        "--precisions", type=_precisions, default="float32,mixed_bfloat16", help="comma-separated"
    )
    parser.add_argument("--adversarial_weight", type=float, default=1e-4, help="0: no GAN")
    parser.add_argument(
        "--steps", type=_positive_int, default=20, help="timed steps after the first"
    )
    args = parser.parse_args(argv)
    if args.adversarial_weight < 0:
        parser.error(f"argument --adversarial_weight: {args.adversarial_weight} is negative")

    import jax
    import keras

    if keras.backend.backend() != "jax":
        raise SystemExit(
            f"error: this tool runs on Keras's JAX backend, not {keras.backend.backend()}"
        )
    print(f"devices: {jax.devices()}", flush=True)
    for precision in args.precisions:
        for batch in args.batch_sizes:
            first, seconds = time_case(
                args.spec, args.crop_size, batch, precision, args.adversarial_weight, args.steps
            )
            print(
                f"{args.spec} {args.crop_size}x{args.crop_size} batch {batch} {precision} "
                f"adversarial_weight {args.adversarial_weight}: first call {first:.1f} s, "
                f"{1 / seconds:.2f} steps/s, {batch / seconds:.1f} pairs/s",
                flush=True,
            )


if __name__ == "__main__":
    main()
