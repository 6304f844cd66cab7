"""`edgecompress compile --family policy` end to end on a tiny reference VLA and synthetic demonstrations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgecompress.cli import main
from edgecompress.models.policy import PolicyAdapter, build_policy
from edgecompress.models.policy_training import fit_normalization
from edgecompress.testing.policy import tiny_vla_config, write_reaching_demos

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from edgecompress.models.policy_data import load_demonstrations

    folder = tmp_path_factory.mktemp("policy")
    demos = write_reaching_demos(folder / "demos.npz", episodes=5, steps=6)
    policy = PolicyAdapter(folder / "policy.pt", build_policy(tiny_vla_config(language_layers=4)))
    fit_normalization(policy, load_demonstrations(demos))
    return policy.save(folder / "policy.pt"), demos


def _compile(model: Path, demos: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "compile",
            str(model),
            "--family",
            "policy",
            "--data",
            str(demos),
            "--target",
            "x86-cpu",
            "--recipe",
            "vla-efficient",
            "--set",
            "stages.0.layers=1",
            "--set",
            "stages.1.after_layer=1",
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
    )


def test_policy_compile_writes_a_measured_artifact_that_loads(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    from edgecompress import load
    from edgecompress.report import Report
    from edgecompress.runtime.policy import PolicyRuntime

    model, demos = inputs
    out = tmp_path / "art"
    assert _compile(model, demos, out) == 0
    report = Report.read(out / "report.json")
    names = [row.name for row in report.rows]
    assert names == ["original", "baseline", "1. layer_prune", "2. token_prune", "3. feature_cache", "result"]
    assert report.model.family == "policy"
    rows = {row.name: row for row in report.rows}
    assert rows["result"].gflops < rows["baseline"].gflops
    assert rows["1. layer_prune"].params < rows["baseline"].params
    assert (
        rows["1. layer_prune"].details["removed_layers"]
        and rows["2. token_prune"].details["kept_tokens"] == 4
    )
    for row in report.rows:
        assert row.policy is not None and np.isfinite(row.policy.action_mse) and row.latency is not None
        assert row.measured_on.runtime == ("torch" if row.name == "original" else "openvino")
    # the lowered baseline scores the original policy: same action error as PyTorch, to runtime precision
    assert rows["baseline"].policy.action_mse == pytest.approx(rows["original"].policy.action_mse, rel=1e-3)
    assert "action MSE" in (out / "report.md").read_text() and (out / "report.png").is_file()
    manifest = json.loads((out / "artifact.json").read_text())
    assert manifest["family"] == "policy"
    runtime = load(out)
    assert isinstance(runtime, PolicyRuntime)
    chunk = runtime.predict(np.zeros((16, 16, 3), np.uint8), "reach the red square", np.zeros(4, np.float32))
    assert chunk.shape == (4, 4) and np.isfinite(chunk).all()


def test_policy_compile_refuses_bad_input_with_exit_code_2(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, demos = inputs
    assert _compile(model, demos, tmp_path / "a", "--set", "stages.0.layers=0") == 2
    assert (
        main(["compile", str(model), "--family", "policy", "--data", str(demos), "--recipe", "yolo-prune50"])
        == 2
    )
    assert "does not apply to policy models" in capsys.readouterr().err
    assert _compile(model, tmp_path / "none.npz", tmp_path / "b") == 2
    assert "demonstrations not found" in capsys.readouterr().err
    assert _compile(tmp_path / "none.pt", demos, tmp_path / "c") == 2
    assert not any(p.name.startswith(("a", "b", "c")) for p in tmp_path.iterdir())


def test_a_policy_stage_that_cannot_apply_fails_without_an_artifact(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    model, demos = inputs
    # 3 of 4 layers removed leaves 1: token pruning after layer 1 has no layer left to prune for
    assert _compile(model, demos, tmp_path / "art", "--set", "stages.0.layers=3") == 1
    assert not (tmp_path / "art").exists()
