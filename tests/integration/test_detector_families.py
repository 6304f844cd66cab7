"""YOLO26, YOLO12 and YOLOv10 through every detector pass; their compressed checkpoints through Ultralytics.

Each family is trained for one epoch from its Ultralytics YAML on the tiny digits set (a real
checkpoint with ``train_args``, as a user's would be), compiled with sparsity training → BN-scale
pruning → CWD distillation, and the result is loaded, validated, run, exported and trained on by
Ultralytics itself with the pruned widths kept.
"""

from pathlib import Path

import pytest
import torch

from edgecompress.cli import main
from edgecompress.report import Report

IMGSZ = 96
FAMILIES = ["yolo26n", "yolo12n", "yolov10n"]
TRAIN = dict(imgsz=IMGSZ, batch=8, workers=0, device="cpu", amp=False, plots=False, verbose=False)


def _widths(model: torch.nn.Module) -> list[int]:
    return [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tiny_digits, tmp_path_factory) -> tuple[str, Path]:
    """A one-epoch digits checkpoint of the family, saved by Ultralytics' trainer."""
    from ultralytics import YOLO

    folder = tmp_path_factory.mktemp(request.param)
    YOLO(f"{request.param}.yaml").train(
        data=str(tiny_digits), epochs=1, val=False, project=str(folder), name="train", **TRAIN
    )
    return request.param, folder / "train" / "weights" / "last.pt"


@pytest.fixture(scope="module")
def compressed(family, tiny_digits, quick_ort_target, tmp_path_factory) -> tuple[str, Path]:
    name, checkpoint = family
    folder = tmp_path_factory.mktemp(f"{name}-compressed")
    recipe = folder / "three-stages.yaml"
    recipe.write_text(
        "stages:\n"
        "  - {pass: sparsity_train, lam: 0.01, mask: true, epochs: 1, batch: 8, workers: 0}\n"
        "  - {pass: bn_prune, ratio: 0.5, round_to: 8, recalibrate: 8}\n"
        "  - {pass: distill, method: cwd, epochs: 1, batch: 8, workers: 0}\n"
    )
    out = folder / "art"
    argv = ["compile", str(checkpoint), "--data", str(tiny_digits), "--target", str(quick_ort_target)]
    assert main([*argv, "--recipe", str(recipe), "--imgsz", str(IMGSZ), "--out", str(out), "--quiet"]) == 0
    return name, out


@pytest.mark.timeout(600)
def test_every_pass_runs_and_the_prune_shrinks_the_model(compressed):
    _, out = compressed
    report = Report.read(out / "report.json")
    assert [r.name for r in report.rows][2:5] == ["1. sparsity_train", "2. bn_prune", "3. distill"]
    original, pruned = report.row("original"), report.rows[3]
    assert pruned.params < 0.8 * original.params and pruned.gflops < 0.8 * original.gflops
    assert report.rows[4].details["trainer_model"] == "CWDDistillationModel"
    assert report.rows[4].details["final_train_loss"]["dis_loss"] > 0
    assert all(r.accuracy for r in report.rows)


@pytest.mark.timeout(600)
def test_the_compressed_checkpoint_round_trips_through_ultralytics(compressed, tiny_digits, tmp_path):
    from ultralytics import YOLO

    _, out = compressed
    model = YOLO(str(out / "model.pt"))
    pruned = _widths(model.model)
    params = sum(p.numel() for p in model.model.parameters())
    assert params == Report.read(out / "report.json").row("result").params
    metrics = model.val(
        data=str(tiny_digits),
        imgsz=IMGSZ,
        batch=8,
        device="cpu",
        plots=False,
        project=str(tmp_path),
        name="val",
    )
    assert 0.0 <= metrics.box.map <= metrics.box.map50 <= 1.0
    images = sorted((Path(tiny_digits).parent / "images" / "val").glob("*"))[:2]
    results = model.predict([str(p) for p in images], imgsz=IMGSZ, device="cpu", conf=0.0, verbose=False)
    assert len(results) == 2 and all(len(r.boxes) > 0 and r.boxes.xyxy.shape[1] == 4 for r in results)
    assert _widths(model.model) == pruned  # val and predict ran the pruned module
    exported = Path(YOLO(str(out / "model.pt")).export(format="onnx", imgsz=IMGSZ, device="cpu"))
    import onnxruntime as ort

    from edgecompress.runtime.preprocess import preprocess, read_image

    x = torch.from_numpy(preprocess([read_image(images[0])], IMGSZ)[0])  # a real digit, letterboxed
    reference = YOLO(str(out / "model.pt")).model.float().eval()
    with torch.no_grad():
        expected = reference(x)[0].numpy()
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert got.shape == expected.shape  # the exported graph is the pruned model, to the output
    assert abs(got - expected).max() < 1e-2 * max(1.0, float(abs(expected).max()))
    YOLO(str(out / "model.pt")).train(
        data=str(tiny_digits), epochs=1, val=False, project=str(tmp_path), name="ft", **TRAIN
    )
    assert _widths(YOLO(str(tmp_path / "ft" / "weights" / "last.pt")).model) == pruned
