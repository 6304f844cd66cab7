"""Fine-tuning after compression, with optional channel-wise distillation (CWD) from the original model.

Training runs in Ultralytics' own trainer (see ``models/yolo_training.py``), given the compressed
module as is (its stock ``get_model`` would rebuild the unpruned architecture from the YAML), and
distillation uses
Ultralytics' ``DistillationModel`` (teacher hooks on the Detect inputs P3–P5, 1×1 projectors where
widths differ, teacher frozen and stripped from checkpoints) with the CWD loss of Shu et al. 2021:
per-channel spatial softmax at temperature τ, KL(teacher ‖ student) scaled by τ².
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.compiler import CompileContext


class DistillConfig(PassConfig):
    """Fine-tuning settings; ``method: none`` is plain fine-tuning (the control)."""

    method: Literal["cwd", "none"] = "cwd"
    epochs: int = Field(10, ge=1)
    tau: float = Field(4.0, gt=0)
    weight: float = Field(1.0, ge=0, description="distillation loss weight (Ultralytics' `dis`)")
    batch: int = Field(16, ge=1)
    lr0: float = Field(0.002, gt=0)
    optimizer: str = "AdamW"
    workers: int = Field(2, ge=0)
    device: str = "cpu"
    fraction: float = Field(1.0, gt=0, le=1, description="fraction of the train split to use")
    nbs: int = Field(
        64, ge=1, description="Ultralytics' nominal batch: one optimizer step per nbs/batch batches"
    )
    teacher: Path | None = Field(
        None, description="CWD teacher checkpoint (default: the model as it was before compression)"
    )

    @field_validator("teacher")
    @classmethod
    def _teacher_is_a_checkpoint(cls, teacher: Path | None) -> Path | None:
        if teacher is not None and (teacher.suffix != ".pt" or not teacher.is_file()):
            raise ValueError(f"teacher {teacher} is not an existing .pt checkpoint")
        return teacher


def resolved_data_yaml(data_yaml: Path, folder: Path) -> Path:
    """Copy of ``data_yaml`` whose ``path`` is absolute (Ultralytics resolves relative paths elsewhere)."""
    import yaml

    data = yaml.safe_load(data_yaml.read_text())
    root = Path(data.get("path") or data_yaml.parent)
    data["path"] = str(root if root.is_absolute() else (data_yaml.parent / root).resolve())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "data.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def train_overrides(config: Any, checkpoint: Path, data_yaml: Path, work: Path, imgsz: int) -> dict[str, Any]:
    """Ultralytics trainer arguments shared by the training passes (offline, CPU-friendly, seeded)."""
    return {
        "model": str(checkpoint),
        "data": str(data_yaml),
        "epochs": config.epochs,
        "imgsz": imgsz,
        "batch": config.batch,
        "lr0": config.lr0,
        "optimizer": config.optimizer,
        "workers": config.workers,
        "device": config.device,
        "fraction": config.fraction,
        "nbs": config.nbs,
        "amp": False,
        "plots": False,
        "close_mosaic": 0,
        "warmup_epochs": 0,
        "project": str(work.resolve()),
        "name": "train",
        "exist_ok": True,
        "seed": 0,
        "deterministic": True,
        "val": True,
        "verbose": False,
    }


def train_or_resume(trainer_cls: type, overrides: dict[str, Any], work: Path, resume: bool) -> Any:
    """Train with ``trainer_cls``; with ``resume`` and an unfinished ``last.pt`` in ``work``, continue it."""
    import torch

    last = work / "train" / "weights" / "last.pt"
    if (
        resume
        and last.exists()
        and torch.load(last, map_location="cpu", weights_only=False).get("epoch", -1) >= 0
    ):
        from edgecompress.ui import status

        status(f"resuming training from {last}")
        trainer = trainer_cls(overrides={"resume": str(last)})
    else:
        trainer = trainer_cls(overrides=overrides)
    trainer.train()
    return trainer


class DistillPass(Pass):
    """Fine-tune the compressed model, distilling from the original one (recipe key ``distill``)."""

    name = "distill"
    Config = DistillConfig

    def run(self, model: Any, ctx: CompileContext) -> PassResult:
        """Train ``model`` on the compile's data and return the best checkpoint's model."""
        from ultralytics.nn.tasks import load_checkpoint

        from edgecompress.models.yolo_training import DistillationTrainer, configured, student_of

        config = self.config
        assert isinstance(config, DistillConfig)
        work = ctx.stage_dir
        student = ctx.detector.with_model(model, work / "start.pt")
        overrides = train_overrides(
            config, student.checkpoint, resolved_data_yaml(ctx.data_yaml, work), work, ctx.imgsz
        )
        if config.method == "cwd":
            teacher = config.teacher or ctx.teacher_checkpoint
            overrides.update({"distill_model": str(Path(teacher).resolve()), "dis": config.weight})
        trainer_cls = configured(DistillationTrainer, tau=config.tau)
        trainer = train_or_resume(trainer_cls, overrides, work, ctx.resume)
        best = Path(trainer.best if Path(trainer.best).exists() else trainer.last)
        trained, _ = load_checkpoint(str(best))
        from ultralytics.utils.torch_utils import unwrap_model

        tloss = trainer.tloss
        losses = (
            tloss.items() if isinstance(tloss, dict) else zip(trainer.loss_names, tloss or [], strict=False)
        )
        details = {
            "trainer_model": type(unwrap_model(trainer.model)).__name__,
            "final_train_loss": {k: round(float(v), 5) for k, v in losses},
            "method": config.method,
            "teacher": str(config.teacher or ctx.teacher_checkpoint) if config.method == "cwd" else None,
            "epochs": config.epochs,
            "tau": config.tau,
            "weight": config.weight,
            "best_fitness": float(trainer.best_fitness or 0.0),
        }
        return PassResult(student_of(trained).float().eval(), details)
