import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_deblur.models import build_discriminator_from_spec, build_generator_from_spec
from keras_deblur.training.gan import DeblurGAN


def _gan(
    adversarial_weight, rng_seed=0, num_scales=3, optimizer=lambda: keras.optimizers.Adam(1e-3)
):
    keras.utils.set_random_seed(rng_seed)
    gan = DeblurGAN(
        build_generator_from_spec("tiny", num_scales=num_scales),
        build_discriminator_from_spec("tiny"),
    )
    d_optimizer = optimizer() if adversarial_weight else None
    gan.compile(optimizer(), d_optimizer, adversarial_weight=adversarial_weight)
    gan.build_optimizers()
    return gan


def _batch():
    rng = np.random.default_rng(0)
    return (
        tf.constant(rng.random((2, 32, 32, 3), dtype=np.float32)),
        tf.constant(rng.random((2, 32, 32, 3), dtype=np.float32)),
    )


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _changed(before, model):
    return [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]


@pytest.mark.parametrize("num_scales", [1, 2, 3])
def test_one_step_changes_both_networks(num_scales):
    gan = _gan(1e-4, num_scales=num_scales)
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    logs = tf.function(gan.train_step)(_batch())
    assert all(_changed(g_before, gan.generator))
    assert all(_changed(d_before, gan.discriminator))
    assert set(logs) == {
        "g_loss",
        "content_loss",
        "adversarial_loss",
        "d_loss",
        "d_real_accuracy",
        "d_fake_accuracy",
        "psnr",
    }
    assert float(logs["g_loss"]) == pytest.approx(
        float(logs["content_loss"]) + 1e-4 * float(logs["adversarial_loss"]), rel=1e-5
    )


def _graph_ops(gan):
    step = tf.function(gan.train_step)
    return [op.name for op in step.get_concrete_function(_batch()).graph.get_operations()]


def test_no_adversarial_weight_no_discriminator_step():
    gan = _gan(0.0)
    d_before = _weights(gan.discriminator)
    logs = tf.function(gan.train_step)(_batch())
    assert not any(_changed(d_before, gan.discriminator))
    assert set(logs) == {"g_loss", "content_loss", "psnr"}
    assert not [name for name in _graph_ops(gan) if "discriminator" in name]
    # The same check finds the discriminator when it is used, so it can fail.
    assert [name for name in _graph_ops(_gan(1e-4)) if "discriminator" in name]


def test_adversarial_weight_needs_a_discriminator():
    gan = DeblurGAN(build_generator_from_spec("tiny"))
    with pytest.raises(
        ValueError, match="adversarial_weight=0.0001 needs a discriminator and a d_optimizer"
    ):
        gan.compile(keras.optimizers.Adam(), None, adversarial_weight=1e-4)
    with pytest.raises(ValueError, match="adversarial_weight must be >= 0, got -1"):
        gan.compile(keras.optimizers.Adam(), None, adversarial_weight=-1)


def test_mixed_float16_step_has_gradients_for_both_networks():
    # The loss must be scaled inside the tape, or every gradient is None. initial_scale=256 lifts
    # the gradients of D's first layer above fp16's underflow, yet keeps the first step from
    # overflowing (an overflowing step is skipped and would change nothing).
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        gan = _gan(
            1e-4,
            optimizer=lambda: keras.optimizers.LossScaleOptimizer(
                keras.optimizers.Adam(1e-3), initial_scale=256.0
            ),
        )
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    tf.function(gan.train_step)(_batch())
    assert all(_changed(g_before, gan.generator))
    assert all(_changed(d_before, gan.discriminator))


def _forward_convolutions(gan):
    step = tf.function(gan.train_step).get_concrete_function(_batch())
    return sum(
        op.type == "Conv2D" and not op.name.startswith("gradient_tape/")
        for op in step.graph.get_operations()
    )


def test_the_generator_runs_once_per_step():
    # Forward convolutions in the traced step (the up-convolutions' gradients, also Conv2D ops, are
    # under gradient_tape/): the generator's
    # once, the discriminator's three times (real and fake for D's loss, fake again for G's).
    gan = _gan(1e-4)
    convs = {
        name: sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
        for name, model in (("g", gan.generator), ("d", gan.discriminator))
    }
    assert _forward_convolutions(gan) == convs["g"] + 3 * convs["d"]
