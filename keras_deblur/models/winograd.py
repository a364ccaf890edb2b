"""Winograd convolution: the same 'same'-padded convolution with fewer multiplications.

Lavin and Gray (Fast Algorithms for Convolutional Neural Networks, CVPR 2016) compute an m x m
tile of a convolution's output with an r x r kernel from an n x n input tile, n = m + r - 1, as

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, per input channel, summed)

so that the channel sums become n^2 independent matrix products of [tiles, C] by [C, K]: 36 or 64
multiplications per tile and channel pair instead of m^2 r^2 (for m = 4: 144 for r = 3, 400 for
r = 5). The paper generator's 5 x 5 convs need 6.25x fewer multiplications in F(4x4, 5x5); what is
added are the transforms, cheap per tile but memory-bound: the transformed tiles are 4x the
maps they come from. So they pay only when fused by XLA (`jit_compile=True`, or the JAX backend)
and kept in the CPU's caches: `_forward` takes the image through the three steps one strip of
tile rows at a time (STRIP_BYTES), and writes each transform as a sum of scaled slices that XLA
fuses into one pass. Measured (BUILD.md, "Winograd in strips"), on 2 Zen 4 cores with AVX-512, a
conv between 64 maps runs 2.5-2.8x faster than oneDNN's direct one, the paper generator at
256x256 2.3-2.6x, the shipped `photo` model at 1280x720 2.1-2.5x; whole tiles, unfused, had
gained 2%.

The matrices come from the Cook-Toom construction on the interpolation points 0, 1, -1, 2, -2,
1/2, -1/2 and infinity: A^T and G are Vandermonde rows (G scaled by the Lagrange denominators), and
B^T is solved from the identity that the three must satisfy, then checked. Small points keep the
float32 error near the direct convolution's: on the paper generator, outputs agree to ~3e-6
(tests/models/test_winograd.py checks 1e-4).

In float32 only: bf16's 8-bit mantissa cannot carry the transforms' cancellations. For inference
(`with_winograd_convs`, `deblur --conv_algorithm=winograd`) and training (`use_winograd_convs`,
`train --conv_algorithm=winograd`): the backward pass is Winograd too (`differentiable_conv2d`).
"""

import functools

import keras
import numpy as np
from keras import ops

CONV_ALGORITHMS = ("direct", "winograd")  # how `Deblurrer` runs a Keras model's convolutions
AUTO = "auto"  # deblur's choice: Winograd where the model runs in float32 (`Deblurrer`)
OUTPUT_TILE = 4  # m: F(4x4, r x r); larger tiles need larger points and lose float32 accuracy
POINTS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5)  # finite interpolation points, in order of use
KERNEL_SIZES = (3, 5)  # r: n - 1 = m + r - 2 finite points must be among POINTS
# The transformed input tiles of one strip of the image, which the products and the output
# transform then use while they are still in the CPU's caches: taken through each step whole, the
# 4x larger tiles went to memory and back, and a conv between 64 maps at 1280x720 ran 1.4x slower
# (BUILD.md, "Winograd in strips"). 4 MiB is 256 tiles of 64 maps for r = 5.
STRIP_BYTES = 4 * 2**20
MIN_CHANNELS = 16  # fewer maps on either side: products too small to pay for the transforms (a
# rule of thumb, not measured: the first and last convs of a scale, 3 or 6 <-> filters, stay direct)


def check_conv_algorithm(value):
    """Raises the error a user sees for a value that is not in CONV_ALGORITHMS."""
    if value not in CONV_ALGORITHMS:
        raise ValueError(f"--conv_algorithm must be one of {CONV_ALGORITHMS}, got {value!r}")


@functools.cache  # every conv's call asks again (each call in eager mode, on JAX)
def winograd_matrices(m, r):
    """(A^T [m, n], G [n, r], B^T [n, n]) of F(m, r) as read-only float64 numpy arrays,
    n = m + r - 1.

    One dimension: y = A^T ((G g) * (B^T d)) is the valid correlation of d (n values) with g
    (r values), y_i = sum_s g_s d_{i+s}; the 2-D transforms apply it along rows, then columns.
    """
    n = m + r - 1
    if n - 1 > len(POINTS):
        raise ValueError(f"F({m}, {r}) needs {n - 1} finite points; {len(POINTS)} are defined")
    points = POINTS[: n - 1]
    a_t = np.zeros((m, n))
    g = np.zeros((n, r))
    for j, point in enumerate(points):
        a_t[:, j] = [point**i for i in range(m)]
        denominator = np.prod([point - other for other in points if other != point])
        g[j] = [point**k / denominator for k in range(r)]
    a_t[m - 1, n - 1] = 1.0  # the point at infinity carries the top coefficients only
    g[n - 1, r - 1] = 1.0
    # sum_j A^T[i, j] G[j, s] B^T[j, k] = [k == i + s] for every i, s, k: linear in B^T.
    system = np.zeros((m * r * n, n * n))
    target = np.zeros(m * r * n)
    for row, (i, s, k) in enumerate(np.ndindex(m, r, n)):
        system[row].reshape(n, n)[:, k] = a_t[i] * g[:, s]
        target[row] = float(k == i + s)
    b_t = np.linalg.lstsq(system, target, rcond=None)[0].reshape(n, n)
    # Its entries are dyadic fractions for these points; rounding off lstsq's ~1e-14 of noise
    # makes its zeros exact, which the transforms skip (`_combine`). The check below is on that.
    b_t = np.round(b_t * 2.0**20) / 2.0**20
    residual = np.abs(system @ b_t.ravel() - target).max()
    if residual > 1e-9:
        raise ArithmeticError(f"F({m}, {r}): no B^T satisfies the identity (residual {residual})")
    for matrix in (a_t, g, b_t):
        matrix.flags.writeable = False  # shared by every caller through the cache
    return a_t, g, b_t


def _combine(matrix, parts):
    """sum_t matrix[a, t] * parts[t] for each row a, stacked on a new first axis. Written out
    term by term, zero terms left out and units unscaled, so that XLA computes them in one pass
    over the parts: as a tensordot (a matrix product with an inner dimension of n) the
    convolution ran 1.2x slower (BUILD.md, "Winograd in strips")."""
    rows = []
    for coefficients in matrix:
        terms = []
        for coefficient, part in zip(coefficients, parts):
            if coefficient == 1.0:
                terms.append(part)
            elif coefficient == -1.0:
                terms.append(-part)
            elif coefficient != 0.0:
                terms.append(part * float(coefficient))
        rows.append(functools.reduce(lambda a, b: a + b, terms))
    return ops.stack(rows)


def _along(matrix, x, axis, stride, count):
    """sum_t matrix[a, t] * x[..., stride * i + t, ...] over t, for i < count: [a, ...x with that
    axis of length count]. The tiles overlap by n - m, so each is a strided slice of x."""
    taps = []
    for t in range(matrix.shape[1]):
        index = [slice(None)] * len(x.shape)
        index[axis] = slice(t, t + stride * count, stride)
        taps.append(x[tuple(index)])
    return _combine(matrix, taps)


def _tiles(matrix, x, m, rows, cols):
    """`matrix` [n, t] applied along the rows, then the columns, of the tiles of x [N, H, W, C]
    whose corners are m apart: [n^2, rows * cols * N, C], indexed [column, row] and flattened."""
    x = _along(matrix, x, axis=1, stride=m, count=rows)  # [n, N, rows, W, C]
    x = _along(matrix, x, axis=3, stride=m, count=cols)  # [n, n, N, rows, cols, C]
    return ops.reshape(x, (matrix.shape[0] ** 2, -1, x.shape[-1]))


def _input_tiles(x, r, m, pad_value=0.0):
    """B^T d B of every input tile of x [N, H, W, C]: [n^2, tiles, C] and the tile grid. 'Same'
    padding, and m - 1 more at the end so the last (partial) tile has all its inputs."""
    rows, cols = (ops.shape(x)[1] + m - 1) // m, (ops.shape(x)[2] + m - 1) // m
    padding = ((0, 0), (r // 2, r // 2 + m - 1), (r // 2, r // 2 + m - 1), (0, 0))
    x = ops.pad(x, padding, constant_values=pad_value)
    return _tiles(winograd_matrices(m, r)[2], x, m, rows, cols), rows, cols


def _clip(value, floor, ceiling):
    """value within [floor, ceiling], for Python ints (static shapes, as JAX's always are) or
    tensors (a TensorFlow shape unknown while tracing, known to XLA when it compiles)."""
    if ops.is_tensor(value) or ops.is_tensor(ceiling):
        return ops.minimum(ops.maximum(value, floor), ceiling)
    return min(max(value, floor), ceiling)


def _forward(x, kernel, m, strip_bytes=STRIP_BYTES):
    r, channels, filters = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    n = m + r - 1
    a_t, g, b_t = winograd_matrices(m, r)
    # The kernel transform, G g G^T per channel pair: n^2 matrices [C, K], indexed [column b,
    # row a] as the input transform leaves its tiles.
    g = ops.convert_to_tensor(g, kernel.dtype)
    u = ops.einsum("ai,bj,ijck->back", g, g, kernel)
    u = ops.reshape(u, (n * n, channels, filters))
    batch, height, width = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
    rows, cols = (height + m - 1) // m, (width + m - 1) // m
    # Strips of whole tile rows, each taken through the three steps on its own (STRIP_BYTES).
    tiles_per_strip = max(1, strip_bytes // (n * n * channels * 4))
    strip = _clip(tiles_per_strip // (cols * batch), 1, rows)  # no taller than the image
    strips = (rows + strip - 1) // strip
    # 'Same' padding, and at the end enough zeros for whole tiles and whole strips.
    bottom, right = strips * strip * m - height + r // 2, cols * m - width + r // 2
    x = ops.pad(x, ((0, 0), (r // 2, bottom), (r // 2, right), (0, 0)))

    def strip_output(index):  # [N, strip, p, cols, q, K]: output rows strip * m * index on
        inputs = ops.slice(
            x, (0, index * strip * m, 0, 0), (batch, strip * m + n - m, cols * m + n - m, channels)
        )
        v = _tiles(b_t, inputs, m, strip, cols)  # [n^2, tiles, C]
        products = ops.matmul(v, u)  # [n^2, tiles, K]: the channel sums, one product each
        products = ops.reshape(products, (n, n, batch, strip, cols, filters))
        y = _combine(a_t, [products[:, a] for a in range(n)])  # [p (rows), b, N, strip, cols, K]
        y = _combine(a_t, [y[:, b] for b in range(n)])  # [q (columns), p, N, strip, cols, K]
        return ops.transpose(y, (2, 3, 1, 4, 0, 5))

    if isinstance(strips, int) and strips == 1:  # known now: no loop for XLA to compile
        y = strip_output(0)[None]
    else:
        y = ops.map(strip_output, ops.arange(strips))  # [strips, N, strip, p, cols, q, K]
    y = ops.reshape(ops.swapaxes(y, 0, 1), (batch, strips * strip * m, cols * m, filters))
    return y[:, :height, :width, :]


def winograd_kernel_gradient(x, kernel, dy, m=OUTPUT_TILE):
    """d loss / d kernel of `winograd_conv2d`, given dy = d loss / d output, in the Winograd
    domain: the transposed products of the input tiles and of the output gradient's tiles
    (A dY A^T), taken back by G^T . G."""
    r, channels, filters = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    n = m + r - 1
    a_t, g, _ = winograd_matrices(m, r)
    # The input tiles are computed again here rather than kept from the forward pass: kept, they
    # are 4x each conv's input for the whole backward pass (the paper step then peaks at 20 GB).
    # Padding with a value taken from dy (always 0) makes them wait for dy: without it XLA
    # computes every layer's tiles at the start of the backward pass, which keeps them as long.
    v, rows, cols = _input_tiles(x, r, m, pad_value=dy[0, 0, 0, 0] * 0.0)
    height, width = ops.shape(dy)[1], ops.shape(dy)[2]
    dy = ops.pad(dy, ((0, 0), (0, rows * m - height), (0, cols * m - width), (0, 0)))
    dy_tiles = _tiles(np.ascontiguousarray(a_t.T), dy, m, rows, cols)  # [n^2, tiles, K]
    du = ops.matmul(ops.transpose(v, (0, 2, 1)), dy_tiles)  # [n^2, C, K]
    du = ops.reshape(du, (n, n, channels, filters))
    g = ops.convert_to_tensor(g, kernel.dtype)
    return ops.einsum("ai,bj,back->ijck", g, g, du)


def winograd_conv2d(x, kernel, bias=None, m=OUTPUT_TILE, strip_bytes=STRIP_BYTES):
    """'same'-padded, stride-1 2-D convolution of x [N, H, W, C] with kernel [r, r, C, K] (odd r,
    Keras's layout), plus bias [K] (default none), computed as F(m x m, r x r). Any H and W: the
    last tiles are padded with zeros and their extra outputs cropped. Differentiable, Winograd
    backward too (`differentiable_conv2d`)."""
    return differentiable_conv2d(
        x,
        kernel,
        bias,
        functools.partial(winograd_forward, m=m, strip_bytes=strip_bytes),
        functools.partial(winograd_kernel_gradient, m=m),
    )


def winograd_forward(x, kernel, bias, m=OUTPUT_TILE, strip_bytes=STRIP_BYTES):
    """`winograd_conv2d`'s value, not differentiable: the step a unit of its own can compile. The
    bias is added here, where XLA adds it as the output transform writes each value: added after
    the unit, it was one more pass over the maps, and the paper generator at 256x256 and the
    shipped model's finest scale at 1280x720 took 2% and 4.5% longer (BUILD.md, "Winograd in
    strips")."""
    if kernel.shape[1] != kernel.shape[0] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"Winograd convolution needs a square, odd kernel, got {kernel.shape}")
    return _forward(x, kernel, m, strip_bytes) + bias


def differentiable_conv2d(x, kernel, bias, forward, kernel_gradient):
    """forward(x, kernel, bias), a 'same'-padded stride-1 convolution plus bias (None: no bias),
    with its gradients: the input's is the same convolution of the output's gradient dy with the
    kernel turned by 180 degrees (channels swapped), forward(dy, turned, 0); the kernel's is
    kernel_gradient(x, kernel, dy); the bias's dy summed. What it keeps for the backward pass is
    x, as a direct convolution does. `winograd_conv2d` passes the steps themselves;
    `winograd_units` (TensorFlow) each compiled by XLA on its own, where a compiled unit that took
    x and the backward pass with it would keep a copy of x."""
    if bias is None:
        bias = ops.zeros((kernel.shape[3],), "float32")

    @ops.custom_gradient
    def convolve(x, kernel, bias):
        def gradients(dy):
            turned = ops.transpose(ops.flip(kernel, axis=(0, 1)), (0, 1, 3, 2))
            no_bias = ops.zeros((kernel.shape[2],), dy.dtype)
            return (
                forward(dy, turned, no_bias),
                kernel_gradient(x, kernel, dy),
                ops.sum(dy, axis=(0, 1, 2)),
            )

        return forward(x, kernel, bias), gradients

    # Tensors, not the layer's variables (which ops.convert_to_tensor passes through on
    # TensorFlow): tf.custom_gradient would otherwise ask the gradient function for the variables
    # it read.
    return convolve(x, ops.copy(kernel), ops.copy(bias))


def is_eligible(layer):
    """True for a Conv2D that `winograd_conv2d` computes exactly, and where it saves time."""
    if type(layer) is not keras.layers.Conv2D:
        return False
    rows, cols = layer.kernel_size
    return (
        rows == cols
        and rows in KERNEL_SIZES
        and layer.padding == "same"
        and tuple(layer.strides) == (1, 1)
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.groups == 1
        and layer.data_format == "channels_last"
        and min(layer.kernel.shape[2], layer.kernel.shape[3]) >= MIN_CHANNELS
    )


def _check_float32(model):
    computing = {layer.dtype_policy.name for layer in model.layers if is_eligible(layer)}
    others = sorted(computing - {"float32"})
    if others:
        raise ValueError(f"Winograd convolutions need float32, got the dtype policy {others[0]!r}")


def with_winograd_convs(model, convolution=None):
    """A copy of the functional `model`, its weights included, whose eligible convs compute as
    Winograd (`use_winograd_convs`). Float32 models only (module docstring); run it under XLA, or
    give a `convolution` that is (`winograd_units.winograd_compiled_alone`: each conv
    compiled on its own, the model run without XLA, as `deblur` does). Saved, the copy loads back
    with direct convolutions.

    The copy is a plain `keras.Model` (a `Generator` comes back without its spec), and like any
    functional model with one output it returns a bare tensor, not a list."""
    _check_float32(model)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    use_winograd_convs(copy, convolution)
    return copy


def use_winograd_convs(model, convolution=None):
    """Makes `model`'s eligible convs compute as Winograd (`convolution(x, kernel, bias)`, default
    `winograd_conv2d`), bias included, in place, and returns how many.

    Only each layer's `call` is replaced, on the instance: the model's layers, variables,
    checkpoints and saved files stay what they were (a training run's generator.keras loads back
    with direct convolutions). Float32 models only; run it under XLA to gain speed, or give a
    `convolution` that is (`winograd_units.winograd_compiled_alone`, as the train step and
    `deblur` do)."""
    _check_float32(model)
    eligible = [layer for layer in model.layers if is_eligible(layer)]
    for layer in eligible:
        layer.call = functools.partial(_winograd_call, layer, convolution or winograd_conv2d)
    return len(eligible)


def _winograd_call(layer, convolution, inputs):
    """`Conv2D.call` with its convolution and bias computed by `convolution`."""
    bias = layer.bias if layer.use_bias else None
    return layer.activation(convolution(inputs, layer.kernel, bias))


def computes_winograd(layer):
    """Whether `use_winograd_convs` switched this layer."""
    return "call" in vars(layer)
