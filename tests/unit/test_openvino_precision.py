"""OpenVINO runs what was asked and the report says what it ran (its bf16 default read back)."""

import numpy as np
import pytest

from edgecompress.backends.openvino import OpenVINOBackend, load_config
from edgecompress.config.target import TargetProfile
from edgecompress.measure.environment import ISA_FLAGS, cpu_has_bf16, isa_flags
from edgecompress.report.schema import MeasuredOn


def _profile() -> TargetProfile:
    return TargetProfile(
        name="cpu",
        description="x",
        backend="openvino",
        precisions=["fp32", "bf16", "int8"],
        default_precision="fp32",
        threads=1,
    )


def test_isa_flags_are_a_subset_in_declared_order():
    flags = isa_flags()
    assert set(flags) <= set(ISA_FLAGS)
    assert flags == [f for f in ISA_FLAGS if f in flags]


@pytest.mark.parametrize(
    ("precision", "hint"), [("fp32", "f32"), ("bf16", "bf16"), ("fp16", None), ("int8", None)]
)
def test_only_fp32_and_bf16_pin_the_float_type(precision, hint):
    assert load_config(_profile(), precision).get("INFERENCE_PRECISION_HINT") == hint


@pytest.fixture(scope="module")
def conv_xml(tmp_path_factory):
    import openvino as ov
    from openvino import opset13 as ops

    x = ops.parameter([1, 3, 16, 16], np.float32)
    w = ops.constant(np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32))
    conv = ops.convolution(x, w, [1, 1], [1, 1], [1, 1], [1, 1])
    xml = tmp_path_factory.mktemp("ov") / "m.xml"
    ov.save_model(ov.Model([conv], [x]), str(xml), compress_to_fp16=False)
    return xml


def test_fp32_runs_f32_on_every_cpu(conv_xml):
    runtime = OpenVINOBackend().load(conv_xml, _profile(), "fp32")
    assert runtime.executed_precision == "f32"


def test_the_default_float_type_is_read_back(conv_xml):
    runtime = OpenVINOBackend().load(conv_xml, _profile(), "int8")
    assert runtime.executed_precision == ("bf16" if cpu_has_bf16() else "f32")


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no BF16 (AVX512_BF16 or AMX)")
def test_bf16_runs_bf16_where_the_cpu_has_it(conv_xml):
    assert OpenVINOBackend().load(conv_xml, _profile(), "bf16").executed_precision == "bf16"


def test_a_version_1_0_report_row_still_reads():
    row = {
        "runtime": "openvino",
        "runtime_version": "2026.4.1",
        "precision": "fp32",
        "device": "CPU",
        "cpu": "x",
        "threads": 2,
        "batch": 1,
        "imgsz": 320,
    }
    measured = MeasuredOn.model_validate(row)
    assert measured.executed_precision is None and measured.isa == []
