"""Which numeric precision a command computes in: `--mixed_precision=auto` measures it.

bf16 speed depends on the hardware, and these CPUs differ (DESIGN.md, measured on the paper
generator's forward pass): ~2x faster than fp32 on an AMD EPYC with AVX-512 BF16, 1.9x SLOWER on an
Intel Xeon with AVX512_BF16 but no AMX, and up to 7x slower training on a CPU without any bf16
instructions (oneDNN then emulates it). So nothing hard-codes a precision. `auto` decides:

- an NVIDIA GPU of compute capability 8.0 or newer (bf16 tensor cores): mixed_bfloat16; 7.x:
  mixed_float16 (with loss scaling); older: float32;
- a CPU whose flags (/proc/cpuinfo) have neither avx512_bf16 nor amx_bf16, or where
  ONEDNN_MAX_CPU_ISA caps oneDNN below them: float32, without probing;
- a CPU with them: a short probe (~1 s) times a 3x3 convolution's forward and backward pass in
  both precisions, interleaved, and picks bf16 only if it is at least 10% faster.

Explicit values (`float32` or its old name `none`, `mixed_float16`, `mixed_bfloat16`) always win.
"""

import contextlib
import functools
import os
import time

PRECISIONS = ("auto", "float32", "none", "mixed_float16", "mixed_bfloat16")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# oneDNN's names of instruction sets below bf16, for ONEDNN_MAX_CPU_ISA (see `usable_cpu_flags`).
ONEDNN_ISAS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI")
BF16_MIN_SPEEDUP = 1.1  # bf16 must beat fp32 by this factor in the probe to be chosen


@contextlib.contextmanager
def dtype_policy(policy):
    """Layers built inside take `policy` ("float32", "mixed_bfloat16", ...); the global one comes
    back after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def check(value, flag="--mixed_precision"):
    if value not in PRECISIONS:
        raise ValueError(f"{flag} must be one of {PRECISIONS}, got {value!r}")


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (an empty set where /proc/cpuinfo is not readable)."""
    try:
        with open(path) as file:
            for line in file:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def onednn_isa_cap(environ=os.environ):
    """The instruction set oneDNN is limited to (ONEDNN_MAX_CPU_ISA, or its older name
    DNNL_MAX_CPU_ISA), upper case; "" when none is set."""
    return (environ.get("ONEDNN_MAX_CPU_ISA") or environ.get("DNNL_MAX_CPU_ISA") or "").upper()


def usable_cpu_flags(environ=os.environ, flags=None):
    """`flags` (default: `cpu_flags()`), less the bf16 ones where a oneDNN cap (`onednn_isa_cap`)
    is below bf16: its convolutions would then fail or emulate bf16. (BUILD.md emulates an
    AVX2-only CPU on a newer one with ONEDNN_MAX_CPU_ISA=AVX2.)"""
    flags = cpu_flags() if flags is None else set(flags)
    if onednn_isa_cap(environ) in ONEDNN_ISAS_WITHOUT_BF16:
        flags -= set(BF16_CPU_FLAGS)
    return flags


def _gpu_capabilities():
    import tensorflow as tf

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(details.get("compute_capability") or (0, 0))
    return capabilities


def bf16_probe(repeats=5):
    """bf16 speed-up over fp32 (fp32 seconds / bf16 seconds) of a 3x3 conv's forward and backward
    pass.

    The shape is that of a small generator's training step (batch 8, 64 x 64, 32 maps); each
    precision's best time over `repeats` interleaved rounds is compared.
    """
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.random((8, 64, 64, 32), dtype=np.float32)
    kernel = rng.random((3, 3, 32, 32), dtype=np.float32) - 0.5

    def step_in(dtype):
        x, w = tf.constant(images, dtype), tf.Variable(tf.constant(kernel, dtype))

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                y = tf.nn.conv2d(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")), w, 1, "SAME")
                loss = tf.reduce_sum(tf.cast(y, tf.float32))
            return tape.gradient(loss, w)

        return step

    steps = {"float32": step_in(tf.float32), "bfloat16": step_in(tf.bfloat16)}
    best = {name: float("inf") for name in steps}
    for name, step in steps.items():
        step().numpy()  # trace and warm up
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step().numpy()
            best[name] = min(best[name], time.perf_counter() - start)
    return best["float32"] / best["bfloat16"]


def bf16_flags(flags):
    """The bf16 instruction flags among a CPU's `flags` (empty: bf16 would be emulated)."""
    return [flag for flag in BF16_CPU_FLAGS if flag in flags]


def choose(requested, gpu_capabilities=(), flags=frozenset(), probe=bf16_probe):
    """(Keras dtype policy name, why) for a --mixed_precision value on this hardware."""
    check(requested)
    if requested != "auto":
        return ("float32" if requested == "none" else requested), f"--mixed_precision={requested}"
    if gpu_capabilities:
        capability = min(tuple(c) for c in gpu_capabilities)
        where = f"GPU of compute capability {capability[0]}.{capability[1]}"
        if capability >= (8, 0):
            return "mixed_bfloat16", f"{where}: bf16 tensor cores"
        if capability >= (7, 0):
            return "mixed_float16", f"{where}: fp16 tensor cores, no bf16"
        return "float32", f"{where}: no tensor cores"
    present = bf16_flags(flags)
    if not present:
        return "float32", f"CPU without bf16 instructions: no {' or '.join(BF16_CPU_FLAGS)}"
    speedup = probe()
    measured = (
        f"bf16 probe {speedup:.2f}x as fast as fp32"
        if speedup >= 1
        else f"bf16 probe {1 / speedup:.2f}x slower"
    )
    if speedup >= BF16_MIN_SPEEDUP:
        return "mixed_bfloat16", f"CPU with {', '.join(present)}: {measured}"
    return "float32", f"CPU with {', '.join(present)}: {measured}"


def check_exported(requested, what):
    """Refuses a --mixed_precision for `what`, a model exported in float32 (a SavedModel or a
    TFLite file): a dtype policy applies to a Keras model (--run_dir, --preset) only. A value
    that is no precision at all is named as such first."""
    if requested is not None:
        check(requested)
    if requested not in (None, "auto", "float32", "none"):
        raise ValueError(
            f"--mixed_precision={requested} applies to a Keras model (--run_dir, --preset); "
            f"{what} runs in the precision it was exported in"
        )


@functools.cache
def resolve(requested):
    """`choose` on this machine's GPUs and CPU (measured once per process). Returns (policy,
    why)."""
    if requested != "auto":
        return choose(requested)
    flags = cpu_flags()
    usable = usable_cpu_flags(flags=flags)
    policy, why = choose(requested, _gpu_capabilities(), frozenset(usable))
    if usable != flags:
        why += f" for oneDNN (its instruction sets are capped at {onednn_isa_cap()})"
    return policy, why


def describe(policy, why):
    """The one log line naming the precision chosen (`resolve`'s answer) and why."""
    return f"precision: {policy} ({why})"
