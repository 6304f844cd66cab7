"""TensorRT engine-build plumbing without TensorRT: builder settings, trtexec argv, versions, head scope."""

import pytest

from edgecompress.backends.tensorrt_build import (
    build_settings,
    parse_l4t,
    parse_trtexec,
    trtexec_argv,
    trtexec_build_argv,
    version_mismatches,
)
from edgecompress.config import load_target
from edgecompress.errors import InputError

STATS = "min = {}, max = {}, mean = {}, median = {}, " + ", ".join(
    f"percentile({p}%) = {{}}" for p in (90, 95, 99)
)
TRTEXEC_TAIL = "\n".join(
    [
        "[11/24/2026-10:00:01] [I] === Performance summary ===",
        "[11/24/2026-10:00:01] [I] Throughput: 812.345 qps",
        "[11/24/2026-10:00:01] [I] Latency: "
        + STATS.format(*(f"{v} ms" for v in (1.1, 2.5, 1.25, 1.2, 1.4, 1.5, 2.0))),
        "[I] Enqueue Time: min = 0.2 ms, max = 0.4 ms, mean = 0.25 ms, median = 0.24 ms",
        "[11/24/2026-10:00:01] [I] GPU Compute Time: "
        + STATS.format(*(f"{v} ms" for v in (1.0, 2.2, 1.19, 1.18, 1.3, 1.35, 1.9))),
    ]
)


def _profile(**tensorrt):
    profile = load_target("orin-nx")
    return profile.model_copy(update={"tensorrt": profile.tensorrt.model_copy(update=tensorrt)})


def test_builder_settings_follow_the_profile_and_precision():
    fp32, fp16, int8 = (build_settings(_profile(), p) for p in ("fp32", "fp16", "int8"))
    assert fp32.workspace_bytes == 4 << 30 and fp32.flags == () and fp32.dla_core is None
    assert fp16.flags == ("FP16",) and not fp16.gpu_fallback
    assert int8.flags == ("FP16", "INT8") and "Q/DQ" in int8.notes[0]
    no_block = load_target("orin-nx").model_copy(update={"tensorrt": None})
    assert build_settings(no_block, "fp16").workspace_bytes == 2 << 30


def test_dla_core_with_gpu_fallback_and_its_refusal_at_fp32():
    dla = build_settings(_profile(dla_core=1, gpu_fallback=True), "int8")
    assert dla.dla_core == 1 and dla.gpu_fallback and dla.flags[-1] == "GPU_FALLBACK"
    assert not build_settings(_profile(dla_core=0, gpu_fallback=False), "fp16").gpu_fallback
    with pytest.raises(InputError, match="DLA core 0"):
        build_settings(_profile(dla_core=0), "fp32")


def test_trtexec_arguments():
    settings = build_settings(_profile(dla_core=0, workspace_gb=1.5), "int8")
    build = trtexec_build_argv("m.onnx", "m.engine", settings)
    assert build == [
        "trtexec",
        "--onnx=m.onnx",
        "--saveEngine=m.engine",
        "--memPoolSize=workspace:1536",
        "--fp16",
        "--int8",
        "--useDLACore=0",
        "--allowGPUFallback",
    ]
    timing = trtexec_argv("m.engine", settings, warmup_ms=200, iterations=300, trtexec="/usr/bin/trtexec")
    assert timing[0] == "/usr/bin/trtexec" and "--loadEngine=m.engine" in timing
    assert {"--warmUp=200", "--iterations=300", "--duration=0", "--useDLACore=0"} <= set(timing)
    assert not any(
        a.startswith("--useDLACore") for a in trtexec_argv("e", build_settings(_profile(), "fp16"))
    )


def test_parse_trtexec_summary():
    figures = parse_trtexec(TRTEXEC_TAIL)
    assert figures["throughput_qps"] == pytest.approx(812.345)
    assert figures["gpu_compute_ms"] == {
        "min": 1.0,
        "max": 2.2,
        "mean": 1.19,
        "median": 1.18,
        "p90": 1.3,
        "p95": 1.35,
        "p99": 1.9,
    }
    assert figures["latency_ms"]["median"] == 1.2 and figures["latency_ms"]["p99"] == 2.0
    assert parse_trtexec("garbage") == {}


def test_version_comparison():
    recorded = {"tensorrt": "10.3.0", "cuda": "12.6", "l4t": "36.4.0", "gpu": "Orin"}
    assert version_mismatches(recorded, dict(recorded)) == []
    assert version_mismatches(recorded, {**recorded, "extra": "x"}) == []
    changed = version_mismatches(recorded, {**recorded, "tensorrt": "10.7.0"})
    assert changed == ["tensorrt 10.3.0 (engine) vs 10.7.0 (here)"]
    off_jetson = version_mismatches(recorded, {k: v for k, v in recorded.items() if k != "l4t"})
    assert off_jetson == ["l4t 36.4.0 (engine) vs none (here)"]


def test_l4t_release_line():
    line = "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13"
    assert parse_l4t(line) == "36.4.0"
    assert parse_l4t("something else\n") == "something else"
