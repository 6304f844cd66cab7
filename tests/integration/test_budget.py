"""--budget-ms searches the pruning ratio by measuring candidates on the target runtime."""

from pathlib import Path

import pytest

from edgecompress.cli import main
from edgecompress.report import Report


@pytest.fixture(scope="module")
def budget_argv(tmp_path_factory, demo_compile_argv, quick_ort_target):
    recipe = tmp_path_factory.mktemp("budget") / "prune.yaml"
    recipe.write_text(
        "stages:\n  - {pass: bn_prune, round_to: 8, search_steps: 3}\n"
        "measure: {accuracy: false, baseline: false}\n"
    )

    def argv(budget: str, out: Path) -> list[str]:
        return demo_compile_argv(
            "--target",
            quick_ort_target,
            "--recipe",
            recipe,
            "--imgsz",
            160,
            "--budget-ms",
            budget,
            "--out",
            out,
        )

    return argv


def test_generous_budget_picks_the_least_pruned_candidate_that_fits(tmp_path, budget_argv):
    out = tmp_path / "art"
    assert main([*budget_argv("10000", out), "--quiet"]) == 0
    details = Report.read(out / "report.json").row("stage").details
    candidates = details["candidates"]
    assert len(candidates) == 1 + 3 and all(c["p50_ms"] > 0 for c in candidates)
    fitting = [c["ratio"] for c in candidates if c["meets_budget"]]
    assert details["chosen_ratio"] == min(fitting) < 0.2
    assert candidates[0]["params"] < details["params_after"]  # the most pruned candidate is the smallest


def test_impossible_budget_fails_without_artifact(tmp_path, capsys, budget_argv):
    out = tmp_path / "art"
    assert main(budget_argv("0.0001", out)) == 1
    assert "budget" in capsys.readouterr().err and not out.exists()


def test_budget_needs_a_pruning_stage(tmp_path, capsys, demo_compile_argv):
    assert main(demo_compile_argv("--budget-ms", 5, "--out", tmp_path / "a")) == 2
    assert "needs a recipe with a bn_prune stage" in capsys.readouterr().err
