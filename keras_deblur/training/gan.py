"""`DeblurGAN`: the generator and discriminator trained together (paper eq. 4-6), with its
train_step.

This is where TensorFlow is the point (DESIGN.md, "Where TensorFlow lives"): the steps run per
replica under `tf.distribute` and reduce their losses over the GLOBAL batch with
`tf.nn.compute_average_loss`, so gradients summed across replicas are those of the global mean.
The generator and discriminator themselves stay backend-agnostic.
"""

import keras
import tensorflow as tf

from keras_deblur import losses, metrics

METRIC_NAMES = (
    "g_loss",
    "content_loss",
    "adversarial_loss",
    "d_loss",
    "d_real_accuracy",
    "d_fake_accuracy",
    "psnr",
)


class DeblurGAN(keras.Model):
    """The multi-scale generator G and, when the adversarial weight is positive, the discriminator
    D.

    Each training step first updates D on sharp images (real) and G's finest output (fake), then
    G on content loss + adversarial_weight * adversarial loss (eq. 6). With adversarial_weight = 0
    the discriminator is not used at all: no D step is built and no time is spent on it.
    """

    def __init__(self, generator, discriminator=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}

    def compile(
        self, g_optimizer, d_optimizer=None, content_loss="mse", adversarial_weight=1e-4, **kwargs
    ):
        """Takes one optimizer per network and the loss settings.

        Args:
          g_optimizer, d_optimizer: Keras optimizers (wrap them in LossScaleOptimizer for
            mixed_float16). d_optimizer may be None when adversarial_weight is 0.
          content_loss: "mse" (eq. 4), "l1" (the authors' later recipe) or "l1_fft" (MIMO-UNet's).
          adversarial_weight: lambda of eq. 6 (1e-4 in the paper); 0 turns the GAN off.
        """
        super().compile(**kwargs)
        if adversarial_weight < 0:
            raise ValueError(f"adversarial_weight must be >= 0, got {adversarial_weight}")
        if adversarial_weight > 0 and (self.discriminator is None or d_optimizer is None):
            raise ValueError(
                f"adversarial_weight={adversarial_weight} needs a discriminator and a d_optimizer"
            )
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.content_loss_fn = losses.content_loss(content_loss)
        self.adversarial_weight = float(adversarial_weight)

    @property
    def uses_discriminator(self):
        return self.adversarial_weight > 0

    @property
    def metrics(self):
        # Only the trackers this configuration updates, so logs never show a constant 0.
        names = METRIC_NAMES if self.uses_discriminator else ("g_loss", "content_loss", "psnr")
        return [self.trackers[name] for name in names]

    def call(self, blurry, training=False):
        return self.generator(blurry, training=training)

    def build_optimizers(self):
        """Creates the optimizer slots now; call inside `strategy.scope()` (Keras 3 needs it
        there)."""
        self.g_optimizer.build(self.generator.trainable_variables)
        if self.uses_discriminator:
            self.d_optimizer.build(self.discriminator.trainable_variables)

    @staticmethod
    def _apply(optimizer, scaled_loss, tape, variables):
        gradients = tape.gradient(scaled_loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))

    def _discriminator_step(self, fake, sharp):
        """Updates D on sharp images (real) and the generator's finest output `fake` (no gradient
        to G)."""
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(sharp, training=True)
            fake_logits = self.discriminator(fake, training=True)
            per_example = losses.discriminator_loss(real_logits, fake_logits)
            # scale_loss multiplies by the loss scale under mixed_float16 (identity otherwise), and
            # must be recorded by the tape; the LossScaleOptimizer divides the gradients back.
            scaled = self.d_optimizer.scale_loss(tf.nn.compute_average_loss(per_example))
        self._apply(self.d_optimizer, scaled, tape, self.discriminator.trainable_variables)
        self.trackers["d_loss"].update_state(per_example)
        self.trackers["d_real_accuracy"].update_state(
            tf.cast(tf.reshape(real_logits, [-1]) > 0, tf.float32)
        )
        self.trackers["d_fake_accuracy"].update_state(
            tf.cast(tf.reshape(fake_logits, [-1]) < 0, tf.float32)
        )

    def train_step(self, data):
        """One step on one replica's share of the global batch: (blurry, sharp) float32 in [0, 1].

        Runs per replica; losses are averaged over the global batch, so the optimizers'
        cross-replica
        sum of gradients is the gradient of the global mean loss. The generator runs once: D is
        updated on its output (outside G's tape), then G's adversarial loss asks the updated D, as
        the authors' code does.
        """
        blurry, sharp = data
        with tf.GradientTape() as tape:
            latents = self.generator(blurry, training=True)
            content = self.content_loss_fn(sharp, latents)
            total = content
            if self.uses_discriminator:
                with tape.stop_recording():
                    self._discriminator_step(tf.stop_gradient(latents[0]), sharp)
                adversarial = losses.generator_adversarial_loss(
                    self.discriminator(latents[0], training=False)
                )
                total = content + self.adversarial_weight * adversarial
            scaled = self.g_optimizer.scale_loss(tf.nn.compute_average_loss(total))
        self._apply(self.g_optimizer, scaled, tape, self.generator.trainable_variables)
        self.trackers["g_loss"].update_state(total)
        self.trackers["content_loss"].update_state(content)
        if self.uses_discriminator:
            self.trackers["adversarial_loss"].update_state(adversarial)
        self.trackers["psnr"].update_state(metrics.psnr(latents[0], sharp))
        return {m.name: m.result() for m in self.metrics}
