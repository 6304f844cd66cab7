"""The three compression stages run through Ultralytics' trainer and round-trip as normal checkpoints."""

from pathlib import Path

import pytest
import torch

from edgecompress.cli import main
from edgecompress.report import Report

IMGSZ = 160


@pytest.fixture(scope="module")
def compressed(tmp_path_factory, demo_compile_argv, quick_ort_target) -> Path:
    folder = tmp_path_factory.mktemp("compress")
    recipe = folder / "three-stages.yaml"
    recipe.write_text(
        "stages:\n"
        "  - {pass: sparsity_train, lam: 0.01, mask_ratio: 0.5, schedule: linear, epochs: 1, batch: 8,"
        " workers: 0, distill_weight: 20}\n"
        "  - {pass: bn_prune, ratio: 0.5, round_to: 8, recalibrate: 16}\n"
        "  - {pass: distill, method: cwd, epochs: 1, batch: 8, workers: 0}\n"
    )
    out = folder / "art"
    argv = demo_compile_argv("--target", quick_ort_target, "--recipe", recipe, "--imgsz", IMGSZ, "--out", out)
    assert main([*argv, "--quiet"]) == 0
    return out


def test_report_has_a_row_per_stage(compressed):
    report = Report.read(compressed / "report.json")
    assert [r.name for r in report.rows] == [
        "original",
        "baseline",
        "1. sparsity_train",
        "2. bn_prune",
        "3. distill",
        "result",
    ]
    original, pruned = report.rows[0], report.rows[3]
    assert pruned.params < 0.6 * original.params and pruned.gflops < 0.7 * original.gflops
    assert all(r.latency and r.accuracy for r in report.rows)
    sparsity = report.rows[2].details
    assert sum(sparsity["gamma_after"]["hist_counts"]) == sparsity["gamma_after"]["channels"] > 0
    assert sparsity["mask_ratio"] == 0.5 and sparsity["mask_follows"]["round_to"] == 8
    # stage A distils from the original model while the penalty works
    assert sparsity["trainer_model"] == "CWDDistillationModel" and sparsity["distill_weight"] == 20
    assert Path(sparsity["teacher"]) == Path(report.model.source).resolve()
    assert report.rows[3].details["recalibrated_on"] == 16
    distill = report.rows[4].details
    assert distill["method"] == "cwd" and distill["trainer_model"] == "CWDDistillationModel"
    assert set(distill["student_alignment"]) <= {"Conv2d", "Identity"}  # CWD's 1x1 conv, no MLP projector
    assert distill["teacher"] == report.model.source  # the model as it was before compression
    assert distill["final_train_loss"]["dis_loss"] > 0
    # the accuracy-against-epochs curve of each training stage, from Ultralytics' results.csv
    for details in (sparsity, distill):
        assert [point["epoch"] for point in details["val_curve"]] == [1]
        assert 0 <= details["val_curve"][0]["map50_95"] <= details["val_curve"][0]["map50"] <= 1
    assert distill["stopped_diverging"] is None and distill["warmup_epochs"] == 1.0
    assert (compressed / "gamma.png").exists()


def test_compressed_checkpoint_round_trips_through_ultralytics(compressed, tiny_digits, tmp_path):
    from ultralytics import YOLO

    model = YOLO(str(compressed / "model.pt"))
    params = sum(p.numel() for p in model.model.parameters())
    assert params == Report.read(compressed / "report.json").row("result").params
    metrics = model.val(
        data=str(tiny_digits),
        imgsz=IMGSZ,
        batch=4,
        device="cpu",
        plots=False,
        project=str(tmp_path),
        name="val",
    )
    assert 0.0 <= metrics.box.map50 <= 1.0
    exported = Path(model.export(format="onnx", imgsz=IMGSZ, device="cpu"))
    assert exported.exists()
    x = torch.zeros(1, 3, IMGSZ, IMGSZ)
    assert model.model.float().eval()(x)[0].shape[1] == 4 + 10


def test_compressed_checkpoint_trains_on_with_edgecompress_trainer(compressed, tiny_digits, tmp_path):
    from ultralytics import YOLO

    from edgecompress.models.yolo_training import CompressedModelTrainer

    model = YOLO(str(compressed / "model.pt"))
    widths = [m.out_channels for m in model.model.modules() if isinstance(m, torch.nn.Conv2d)]
    model.train(
        data=str(tiny_digits),
        trainer=CompressedModelTrainer,
        epochs=1,
        imgsz=IMGSZ,
        batch=8,
        workers=0,
        device="cpu",
        amp=False,
        plots=False,
        project=str(tmp_path),
        name="ft",
        val=False,
    )
    trained = YOLO(str(tmp_path / "ft" / "weights" / "last.pt"))
    assert [m.out_channels for m in trained.model.modules() if isinstance(m, torch.nn.Conv2d)] == widths


class _Interrupted(Exception):
    """Raised after the first checkpoint is saved: a training killed mid-run."""


def _interrupt(trainer) -> None:
    raise _Interrupted


def test_plain_ultralytics_train_and_resume_keep_the_pruned_widths(compressed, tiny_digits, tmp_path):
    """`YOLO(model.pt).train()` with Ultralytics' own trainer, interrupted, then `train(resume=True)`."""
    from ultralytics import YOLO

    def widths(model):
        return [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]

    model = YOLO(str(compressed / "model.pt"))
    pruned = widths(model.model)
    model.add_callback("on_model_save", _interrupt)
    settings = dict(imgsz=IMGSZ, batch=8, workers=0, device="cpu", amp=False, plots=False, val=False)
    with pytest.raises(_Interrupted):
        model.train(data=str(tiny_digits), epochs=2, project=str(tmp_path), name="ft", **settings)
    last = tmp_path / "ft" / "weights" / "last.pt"
    interrupted = YOLO(str(last))
    assert widths(interrupted.model) == pruned and interrupted.ckpt["epoch"] == 0
    interrupted.train(resume=True)
    epochs = (tmp_path / "ft" / "results.csv").read_text().strip().splitlines()[1:]
    assert [int(float(row.split(",")[0])) for row in epochs] == [1, 2]  # epoch 2 ran after the resume
    assert widths(YOLO(str(last)).model) == pruned
