"""Winograd convolutions (`models/winograd.py`) as units that XLA compiles one at a time, inside a
model or a train step that runs without XLA. TensorFlow only, where `models/` is not.

Each unit (a conv's value with its bias, its kernel's gradient) is one tf.function per kernel
shape, traced once for any input size (the strips are counted from the size when XLA compiles for
it), so all the convs of a scale share it: about a second of compiling per shape and size. A
whole model under XLA took 30-75 s to compile for inference (and the shipped model then ran 15%
slower); a paper-size train step took minutes, and at 256x256, batch 4, more memory than 24 GB,
to compile (BUILD.md, "Winograd in strips"). Called from inside XLA (`train --jit_compile`), the
units are compiled with the rest.

The gradient is put together outside the units (`differentiable_conv2d`), so that the tape keeps
the conv's input itself: a unit that took the input for the backward pass returned a copy of it,
and the paper's train step kept every conv's input twice.
"""

import contextlib
import functools

import tensorflow as tf

from keras_deblur.models.winograd import (
    differentiable_conv2d,
    winograd_forward,
    winograd_kernel_gradient,
)


def winograd_compiled_alone(x, kernel, bias=None):
    """`winograd_conv2d` made of compiled units: the convolution of `with_winograd_convs(model,
    winograd_compiled_alone)` (deblur) and of `use_winograd_convs(model, winograd_compiled_alone)`
    (train)."""
    # The layer's kernel is a Keras variable, which a tf.function cannot take as an argument.
    kernel = tf.convert_to_tensor(kernel)
    return differentiable_conv2d(x, kernel, bias, _forward_unit, _kernel_gradient_unit)


def _forward_unit(x, kernel, bias):
    return forward_unit(tuple(kernel.shape))(x, kernel, bias)


def _kernel_gradient_unit(x, kernel, dy):
    return kernel_gradient_unit(tuple(kernel.shape))(x, kernel, dy)


@functools.cache
def forward_unit(kernel_shape):
    """`winograd_forward(x, kernel, bias)` compiled by XLA for a kernel of this shape: the shape
    must be known when tracing, the images' sizes need not."""
    signature = [_maps(kernel_shape[2]), _tensor(kernel_shape), _tensor(kernel_shape[3:])]
    return tf.function(winograd_forward, input_signature=signature, jit_compile=True)


@functools.cache
def kernel_gradient_unit(kernel_shape):
    """`winograd_kernel_gradient(x, kernel, dy)` compiled by XLA for a kernel of this shape."""
    signature = [_maps(kernel_shape[2]), _tensor(kernel_shape), _maps(kernel_shape[3])]
    return tf.function(winograd_kernel_gradient, input_signature=signature, jit_compile=True)


def _maps(channels):
    return _tensor([None, None, None, channels])


def _tensor(shape):
    return tf.TensorSpec(shape, tf.float32)


@contextlib.contextmanager
def remapper_off():
    """Grappler's remapper off while inside: for a train step whose generator computes with these
    units beside a discriminator.

    There TensorFlow 2.21's remapper fails on the discriminator's conv, bias and LeakyReLU (it
    removes the BiasAdd that the LeakyReLU's gradient still reads), prints "E0000 ... remapper
    failed: ... Mutation::Apply error: fanout '...LeakyReluGrad' exist for missing node
    '...BiasAdd'" and keeps the graph it started from. Off, the step runs that same graph without
    the line; step times were the same either way (BUILD.md, the train command). The option is read
    at each call of a tf.function (it is part of the call's configuration), so it must stay off for
    every call of the step, not only the first."""
    before = tf.config.optimizer.get_experimental_options().get("remapping", True)
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": before})
