"""--mixed_precision=auto: bf16 only where it is faster on this hardware; explicit values win."""

import pytest

from keras_deblur import precision


def _never_probe():
    raise AssertionError("the probe must not run here")


def test_explicit_values_win():
    assert precision.choose("mixed_bfloat16", flags={"avx2"}, probe=_never_probe) == (
        "mixed_bfloat16",
        "--mixed_precision=mixed_bfloat16",
    )
    assert precision.choose("none", gpu_capabilities=[(9, 0)], probe=_never_probe)[0] == "float32"
    assert precision.choose("float32", probe=_never_probe)[0] == "float32"


def test_cpu_without_bf16_instructions_is_float32_without_probing():
    policy, why = precision.choose("auto", flags={"avx2", "fma"}, probe=_never_probe)
    assert (
        policy == "float32" and why == "CPU without bf16 instructions: no avx512_bf16 or amx_bf16"
    )


@pytest.mark.parametrize(
    "speedup, policy, measured",
    [
        (2.0, "mixed_bfloat16", "bf16 probe 2.00x as fast as fp32"),
        (1.05, "float32", "bf16 probe 1.05x as fast as fp32"),
        (1 / 1.9, "float32", "bf16 probe 1.90x slower"),
    ],
)
def test_cpu_with_bf16_instructions_follows_the_probe(speedup, policy, measured):
    chosen, why = precision.choose("auto", flags={"avx512f", "avx512_bf16"}, probe=lambda: speedup)
    assert chosen == policy
    assert why == f"CPU with avx512_bf16: {measured}"


@pytest.mark.parametrize(
    "capability, policy",
    [((9, 0), "mixed_bfloat16"), ((7, 5), "mixed_float16"), ((6, 1), "float32")],
)
def test_gpus_by_compute_capability(capability, policy):
    assert (
        precision.choose(
            "auto", gpu_capabilities=[capability], flags={"avx512_bf16"}, probe=_never_probe
        )[0]
        == policy
    )


def test_unknown_value_is_named():
    with pytest.raises(ValueError, match="--mixed_precision must be one of .* got 'fp8'"):
        precision.choose("fp8")


def test_the_probe_measures_a_positive_ratio():
    assert precision.bf16_probe(repeats=1) > 0


def test_cpu_flags_reads_the_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nflags\t\t: other\n")
    assert precision.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "avx512_bf16"}
    assert precision.cpu_flags(str(tmp_path / "missing")) == set()


@pytest.mark.parametrize(
    "environ, keeps_bf16",
    [
        ({}, True),
        ({"ONEDNN_MAX_CPU_ISA": "avx2"}, False),
        ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, False),
        ({"DNNL_MAX_CPU_ISA": "AVX2"}, False),
        ({"ONEDNN_MAX_CPU_ISA": "ALL"}, True),
    ],
)
def test_a_onednn_isa_cap_below_bf16_drops_the_bf16_flags(monkeypatch, environ, keeps_bf16):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    flags = precision.usable_cpu_flags(environ)
    assert ("avx512_bf16" in flags) is keeps_bf16 and "avx2" in flags
