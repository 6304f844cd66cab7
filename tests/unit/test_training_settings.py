"""Training-stage settings reach Ultralytics' trainer unchanged (device list for its DDP included)."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from edgecompress.passes.distill import DistillConfig
from edgecompress.passes.sparsity_train import SparsityConfig
from edgecompress.passes.training import resolved_data_yaml, train_overrides


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
        assert (
            args["close_mosaic"] == 10
        )  # Ultralytics' default: the last epochs match val's full-size objects
    assert (
        train_overrides(DistillConfig(close_mosaic=0), Path("m"), Path("d"), tmp_path, 320)["close_mosaic"]
        == 0
    )


def test_relative_dataset_path_is_resolved_next_to_the_yaml(tmp_path):
    (tmp_path / "set").mkdir()
    source = tmp_path / "set" / "data.yaml"
    source.write_text("path: .\ntrain: images/train\nval: images/val\nnames: ['a']\n")
    resolved = resolved_data_yaml(source, tmp_path / "work")
    assert f"path: {tmp_path / 'set'}" in resolved.read_text()


def test_a_missing_distillation_teacher_fails_when_the_recipe_loads(tmp_path):
    import pytest

    from edgecompress.config import load_recipe
    from edgecompress.errors import InputError

    path = tmp_path / "r.yaml"
    path.write_text(f"stages:\n  - {{pass: distill, teacher: {tmp_path / 'nope.pt'}}}\n")
    with pytest.raises(InputError, match=r"teacher .*nope\.pt is not an existing \.pt checkpoint"):
        load_recipe(path)
    (tmp_path / "t.pt").write_bytes(b"x")
    path.write_text(f"stages:\n  - {{pass: distill, teacher: {tmp_path / 't.pt'}}}\n")
    assert load_recipe(path).stages[0]["teacher"] == str(tmp_path / "t.pt")


def test_sparsity_mask_follows_the_prune_stage_unless_given_its_own_ratio():
    from edgecompress.passes.sparsity_train import mask_pruning_settings

    stages = [
        {"pass": "sparsity_train", "mask": True},
        {"pass": "bn_prune", "ratio": 0.6, "criterion": "uniform", "target": "flops", "round_to": 4},
    ]
    follows = mask_pruning_settings(SparsityConfig(mask=True), stages)
    assert follows is not None
    assert (follows["ratio"], follows["criterion"], follows["target"], follows["round_to"]) == (
        0.6,
        "uniform",
        "flops",
        4,
    )
    assert mask_pruning_settings(SparsityConfig(mask_ratio=0.3), stages)["ratio"] == 0.3
    assert mask_pruning_settings(SparsityConfig(), stages) is None  # plain L1 on every γ


def test_sparsity_mask_can_name_its_own_prune_settings():
    from edgecompress.passes.sparsity_train import mask_pruning_settings

    config = SparsityConfig(mask={"ratio": 0.65, "criterion": "uniform", "round_to": 8})
    follows = mask_pruning_settings(config, [{"pass": "sparsity_train"}])  # no bn_prune stage in the recipe
    assert (follows["ratio"], follows["criterion"], follows["round_to"]) == (0.65, "uniform", 8)


def test_a_bad_explicit_mask_fails_when_the_recipe_loads(tmp_path):
    import pytest

    from edgecompress.config import load_recipe
    from edgecompress.errors import InputError

    path = tmp_path / "r.yaml"
    path.write_text("stages:\n  - {pass: sparsity_train, mask: {ratio: 1.5}}\n")
    with pytest.raises(InputError, match="ratio"):
        load_recipe(path)


def test_a_committed_run_resumes_from_another_checkout_path(tmp_path):
    import torch

    from edgecompress.passes.training import rebase_checkpoint_paths

    last = tmp_path / "last.pt"
    torch.save(
        {"epoch": 3, "train_args": {"project": "/old/checkout/work", "data": "/old/d.yaml", "lr0": 0.1}}, last
    )
    rebase_checkpoint_paths(last, {"project": str(tmp_path), "data": str(tmp_path / "d.yaml"), "lr0": 0.5})
    args = torch.load(last, weights_only=False)["train_args"]
    assert args == {"project": str(tmp_path), "data": str(tmp_path / "d.yaml"), "lr0": 0.1}


@pytest.mark.parametrize("checkpoint", ["last", "best"])
def test_distill_returns_the_epoch_its_checkpoint_setting_names(tmp_path, monkeypatch, checkpoint):
    import ultralytics.nn.tasks

    import edgecompress.models.yolo_training as yolo_training
    from edgecompress.passes import distill

    weights = tmp_path / "train" / "weights"
    weights.mkdir(parents=True)
    trainer = SimpleNamespace(
        last=weights / "last.pt", best=weights / "best.pt", save_dir=tmp_path / "train", tloss={},
        loss_names=(), model=torch.nn.Identity(), best_fitness=0.5,
    )  # fmt: skip
    trainer.last.write_bytes(b"final epoch")
    trainer.best.write_bytes(b"best epoch by val")
    monkeypatch.setattr(distill, "train_or_resume", lambda *args: trainer)
    loaded = []
    monkeypatch.setattr(ultralytics.nn.tasks, "load_checkpoint", lambda path: (loaded.append(path), None))
    monkeypatch.setattr(yolo_training, "student_of", lambda model: torch.nn.Identity())
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: images\nval: images\nnames: ['a']\n")
    adapter = SimpleNamespace(with_model=lambda model, path: SimpleNamespace(checkpoint=path))
    ctx = SimpleNamespace(work=tmp_path, adapter=adapter, data=data, imgsz=64, resume=False, teacher=None)
    config = distill.DistillConfig(method="none", epochs=1, checkpoint=checkpoint)
    result = distill.DistillPass(config).run(torch.nn.Identity(), ctx)
    assert Path(loaded[0]).read_bytes() == {"last": b"final epoch", "best": b"best epoch by val"}[checkpoint]
    assert result.details["checkpoint"] == checkpoint
    assert distill.DistillConfig().checkpoint == "last"  # the reported accuracy involves no choice on val
