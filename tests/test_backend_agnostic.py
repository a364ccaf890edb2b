"""Models, losses and metrics use Keras layers and keras.ops only, so they run on any backend."""

import ast
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "keras_deblur"
# The GAN's train_step (training/gan.py) runs under tf.distribute (DESIGN.md, "Where TensorFlow
# lives"), so it lives with the training code; every module of models/ is backend-agnostic.
BACKEND_AGNOSTIC = [
    *sorted((PACKAGE / "models").glob("*.py")),
    PACKAGE / "losses.py",
    PACKAGE / "metrics.py",
    PACKAGE / "flops.py",
]


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("path", BACKEND_AGNOSTIC, ids=lambda p: p.name)
def test_no_tensorflow_import(path):
    tensorflow_imports = [m for m in _imported_modules(path) if m.split(".")[0] == "tensorflow"]
    assert not tensorflow_imports, f"{path} imports {tensorflow_imports}"


JAX_SCRIPT = textwrap.dedent(
    """
    import sys
    import jax
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from keras_deblur import losses, metrics
    from keras_deblur.models import build_discriminator_from_spec, build_generator_from_spec

    rng = np.random.default_rng(0)
    blurry = rng.random((2, 32, 32, 3), dtype=np.float32)
    sharp = rng.random((2, 32, 32, 3), dtype=np.float32)
    generator = build_generator_from_spec("tiny")
    discriminator = build_discriminator_from_spec("tiny")

    def total_loss(g_weights, d_weights):
        latents, _ = generator.stateless_call(g_weights, [], blurry)
        logits, _ = discriminator.stateless_call(d_weights, [], latents[0])
        content = losses.multiscale_mse(sharp, latents)
        return jax.numpy.mean(content + 1e-4 * losses.generator_adversarial_loss(logits))

    g_weights = [v.value for v in generator.trainable_variables]
    d_weights = [v.value for v in discriminator.trainable_variables]
    loss, (g_grads, d_grads) = jax.value_and_grad(total_loss, argnums=(0, 1))(g_weights, d_weights)
    assert np.isfinite(float(loss)), loss
    for grads in (g_grads, d_grads):
        norms = [float(jax.numpy.linalg.norm(g)) for g in grads]
        assert all(np.isfinite(norms)) and sum(norms) > 0, norms
    print("psnr", np.asarray(metrics.psnr(generator(blurry)[0], sharp)))

    # Winograd convolutions' own backward pass (a custom gradient), on JAX too.
    from keras import ops
    from keras_deblur.models.winograd import winograd_conv2d

    x = rng.standard_normal((2, 9, 14, 16)).astype(np.float32)
    kernel = (rng.standard_normal((5, 5, 16, 24)) / 5).astype(np.float32)
    upstream = rng.standard_normal((2, 9, 14, 24)).astype(np.float32)

    def gradients(convolve):
        return jax.jit(jax.grad(lambda x, k: (convolve(x, k) * upstream).sum(), (0, 1)))(x, kernel)

    direct = gradients(lambda x, k: ops.conv(x, k, padding="same"))
    for got, expected in zip(gradients(winograd_conv2d), direct):
        error = float(np.abs(got - expected).max() / np.abs(expected).max())
        assert error < 1e-5, error
    assert "tensorflow" not in sys.modules, "the JAX run imported TensorFlow"

    # Last: cloning calls get_config, and Keras's serializer imports TensorFlow where installed.
    from keras_deblur.models.winograd import with_winograd_convs

    wide = build_generator_from_spec("tiny", filters=16, kernel_size=5)
    winograd = with_winograd_convs(wide)(blurry[:, :29, :27])[0]
    error = np.abs(np.asarray(winograd) - np.asarray(wide(blurry[:, :29, :27])[0])).max()
    assert error < 1e-4, error
    print("JAX OK", float(loss))
    """
)


def test_tiny_models_train_on_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PACKAGE.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "JAX OK" in result.stdout
