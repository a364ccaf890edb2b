"""The training step function of one worker: `run(count)` runs `count` DeblurGAN steps in one
tf.function call (Orbit's "steps per loop"), so the host waits for the device once per call rather
than once per step."""

import contextlib

import tensorflow as tf

from keras_deblur.models.winograd import computes_winograd
from keras_deblur.winograd_units import remapper_off


def make_step_function(gan, strategy, topology, iterator, jit_compile):
    """`run(count=1)`: `count` training steps on this worker's batches from `iterator`; returns the
    metric trackers' results (means since their last reset)."""
    replica_step = tf.function(gan.train_step, jit_compile=True) if jit_compile else gan.train_step

    def one_step():
        batch = next(iterator)
        shares = [tf.split(t, topology.local_replicas) for t in batch]
        per_replica = strategy.experimental_distribute_values_from_function(
            lambda ctx: tuple(
                s[ctx.replica_id_in_sync_group % topology.local_replicas] for s in shares
            )
        )
        strategy.run(replica_step, args=(per_replica,))

    @tf.function
    def steps(count):
        for _ in tf.range(count):
            one_step()
        return {m.name: m.result() for m in gan.metrics}

    winograd_beside_discriminator = gan.discriminator is not None and any(
        map(computes_winograd, gan.generator.layers)
    )
    options = remapper_off if winograd_beside_discriminator else contextlib.nullcontext

    def run(count=1):
        with options():
            return steps(tf.constant(count, tf.int64))

    return run
