"""Training-stage settings reach Ultralytics' trainer unchanged (device list for its DDP included)."""

from pathlib import Path

from edgecompress.passes.distill import DistillConfig, resolved_data_yaml, train_overrides
from edgecompress.passes.sparsity_train import SparsityConfig


def test_device_and_hyperparameters_pass_through(tmp_path):
    for config in (
        DistillConfig(device="0,1", epochs=3, batch=32, lr0=0.01, optimizer="SGD", nbs=32),
        SparsityConfig(device="0,1", epochs=3, batch=32, lr0=0.01, optimizer="SGD", nbs=32),
    ):
        args = train_overrides(config, Path("m.pt"), Path("d.yaml"), tmp_path, 416)
        assert (
            args["device"],
            args["epochs"],
            args["batch"],
            args["lr0"],
            args["optimizer"],
            args["imgsz"],
            args["nbs"],
        ) == ("0,1", 3, 32, 0.01, "SGD", 416, 32)
        assert args["amp"] is False and args["plots"] is False  # offline: no AMP check download, no fonts


def test_relative_dataset_path_is_resolved_next_to_the_yaml(tmp_path):
    (tmp_path / "set").mkdir()
    source = tmp_path / "set" / "data.yaml"
    source.write_text("path: .\ntrain: images/train\nval: images/val\nnames: ['a']\n")
    resolved = resolved_data_yaml(source, tmp_path / "work")
    assert f"path: {tmp_path / 'set'}" in resolved.read_text()
