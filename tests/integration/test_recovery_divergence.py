"""A recovery training whose losses explode stops with one clear error and leaves no artifact.

The limit is set below any real loss, so the first epoch of a real Ultralytics training trips it.
"""

from edgecompress.cli import main


def test_exploding_recovery_fails_the_compile_with_the_fix(
    tmp_path, capsys, demo_compile_argv, quick_ort_target
):
    recipe = tmp_path / "explode.yaml"
    recipe.write_text(
        "stages:\n"
        "  - {pass: bn_prune, ratio: 0.3, round_to: 8, recalibrate: 16}\n"
        # every real loss is above this limit, so the guard sees the first epoch as exploded
        "  - {pass: distill, method: none, epochs: 2, batch: 8, workers: 0, diverge_loss: 1.0e-6}\n"
    )
    out = tmp_path / "art"
    argv = demo_compile_argv("--target", quick_ort_target, "--recipe", recipe, "--imgsz", 160, "--out", out)
    code = main([*argv, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert (
        err[-1].startswith("error: ") and "training diverged in epoch 1" in err[-1] and "lower lr0" in err[-1]
    )
    assert not out.exists() and not list(tmp_path.glob("art.partial-*"))
