"""--budget-ms searches the pruning ratio by measuring candidates on the target runtime."""

from pathlib import Path

import pytest

from edgecompress.cli import main
from edgecompress.report import Report

IMGSZ = 160


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("budget")
    target = folder / "quick-ort.yaml"
    target.write_text(
        "description: quick ORT\nbackend: onnxruntime\nprecisions: [fp32]\ndefault_precision: fp32\n"
        "threads: 2\nlatency: {warmup: 1, iterations: 5, batch: 1}\n"
    )
    recipe = folder / "prune.yaml"
    recipe.write_text(
        "stages:\n  - {pass: bn_prune, round_to: 8, search_steps: 3}\n"
        "measure: {accuracy: false, baseline: false}\n"
    )
    return target, recipe


def test_generous_budget_picks_the_least_pruned_candidate_that_fits(tmp_path, demo_model, tiny_digits, setup):
    target, recipe = setup
    out = tmp_path / "art"
    code = main(
        [
            "compile",
            str(demo_model),
            "--data",
            str(tiny_digits),
            "--target",
            str(target),
            "--recipe",
            str(recipe),
            "--imgsz",
            str(IMGSZ),
            "--budget-ms",
            "10000",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    details = Report.read(out / "report.json").row("stage").details
    candidates = details["candidates"]
    assert len(candidates) == 1 + 3 and all(c["p50_ms"] > 0 for c in candidates)
    fitting = [c["ratio"] for c in candidates if c["meets_budget"]]
    assert details["chosen_ratio"] == min(fitting) < 0.2
    assert candidates[0]["params"] < details["params_after"]  # the most pruned candidate is the smallest


def test_impossible_budget_fails_without_artifact(tmp_path, capsys, demo_model, tiny_digits, setup):
    target, recipe = setup
    out = tmp_path / "art"
    code = main(
        [
            "compile",
            str(demo_model),
            "--data",
            str(tiny_digits),
            "--target",
            str(target),
            "--recipe",
            str(recipe),
            "--imgsz",
            str(IMGSZ),
            "--budget-ms",
            "0.0001",
            "--out",
            str(out),
        ]
    )
    assert code == 1 and "budget" in capsys.readouterr().err and not out.exists()


def test_budget_needs_a_pruning_stage(tmp_path, capsys, demo_model, tiny_digits):
    code = main(
        [
            "compile",
            str(demo_model),
            "--data",
            str(tiny_digits),
            "--budget-ms",
            "5",
            "--out",
            str(tmp_path / "a"),
        ]
    )
    assert code == 2 and "needs a recipe with a bn_prune stage" in capsys.readouterr().err
