"""Ultralytics' own validation (dataset check, font lookup) runs with the network guard on."""


def test_ultralytics_val_runs_offline(demo_model, tiny_digits, tmp_path):
    from ultralytics import YOLO

    metrics = YOLO(str(demo_model)).val(
        data=str(tiny_digits),
        imgsz=320,
        batch=4,
        device="cpu",
        plots=False,
        project=str(tmp_path),
        name="val",
        verbose=False,
    )
    assert 0.0 < metrics.box.map50 <= 1.0
