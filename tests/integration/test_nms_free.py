"""An end-to-end (NMS-free) head through the deploy path, on a YOLO26n trained here on the digits set.

The lowered one-to-one head gives Ultralytics' own ``predict(nms=False)`` boxes, and the report's
mAP is Ultralytics' val of the same head on the same square letterboxed images.
"""

from pathlib import Path

import pytest

from edgecompress.cli import main
from edgecompress.report import Report
from edgecompress.runtime.postprocess import Detections
from tests.integration.test_backend_parity import assert_same_boxes

CHECKPOINT = Path(__file__).resolve().parents[2] / "bench" / "models" / "yolo26n-digits.pt"
IMGSZ = 160
CONF = 0.05  # the model (40 epochs from scratch, mAP50 0.20) is unsure of most digits


@pytest.fixture(scope="module")
def nms_free_artifact(tiny_digits, quick_ov_target, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nms-free")
    out = folder / "art"
    argv = ["compile", str(CHECKPOINT), "--data", str(tiny_digits), "--target", str(quick_ov_target)]
    argv += ["--precision", "fp32", "--set", "lower.nms_free=true", "--imgsz", str(IMGSZ), "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return out


@pytest.mark.timeout(300)
def test_lowered_boxes_are_ultralytics_nms_free_predict(nms_free_artifact, tiny_digits):
    from ultralytics import YOLO

    import edgecompress

    detector = edgecompress.load(nms_free_artifact)
    reference = YOLO(str(CHECKPOINT))
    images = sorted((Path(tiny_digits).parent / "images" / "val").glob("*.jpg"))
    compared = 0
    for image in images:
        ours = detector.predict(str(image), conf=CONF)
        result = reference.predict(
            str(image), imgsz=IMGSZ, conf=CONF, nms=False, device="cpu", verbose=False
        )[0]
        theirs = Detections(
            result.boxes.xyxy.numpy(),
            result.boxes.conf.numpy(),
            result.boxes.cls.numpy().astype(int),
            ours.names,
        )
        compared += assert_same_boxes(theirs, ours, image.name, CONF)
    print(f"{compared} boxes compared on {len(images)} images")
    assert compared >= len(images)  # the trained model finds digits: not a comparison of empty lists


@pytest.mark.timeout(300)
def test_report_map_agrees_with_ultralytics_val(nms_free_artifact, tiny_digits, tmp_path):
    from ultralytics import YOLO

    ours = Report.read(nms_free_artifact / "report.json").row("result").accuracy
    theirs = YOLO(str(CHECKPOINT)).val(
        data=str(tiny_digits),
        imgsz=IMGSZ,
        batch=1,
        rect=False,
        nms=False,
        device="cpu",
        plots=False,
        project=str(tmp_path),
        name="val",
    )
    assert ours.map50_95 > 0.1
    assert ours.map50_95 == pytest.approx(theirs.box.map, abs=0.01)
    assert ours.map50 == pytest.approx(theirs.box.map50, abs=0.01)
