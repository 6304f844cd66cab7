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

from edgecompress.passes.base import Pass, PassResult
from edgecompress.passes.training import (
    TrainingConfig,
    epoch_curve,
    guard_settings,
    resolved_data_yaml,
    train_or_resume,
    train_overrides,
    trained_checkpoint,
)

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext


class DistillConfig(TrainingConfig):
    """Fine-tuning settings; ``method: none`` is plain fine-tuning (the control)."""

    method: Literal["cwd", "none"] = "cwd"
    tau: float = Field(4.0, gt=0)
    weight: float = Field(1.0, ge=0, description="distillation loss weight (Ultralytics' `dis`)")
    teacher: Path | None = Field(
        None, description="CWD teacher checkpoint (default: the model as it was before compression)"
    )
    checkpoint: Literal["last", "best"] = Field(
        "last",
        description="the epoch kept: `last`, the final one, or `best` by Ultralytics' val fitness (its "
        "best.pt); val is also the split the report scores, so `best` puts a choice made on it into "
        "the reported accuracy",
    )

    @field_validator("teacher")
    @classmethod
    def _teacher_is_a_checkpoint(cls, teacher: Path | None) -> Path | None:
        if teacher is not None and (teacher.suffix != ".pt" or not teacher.is_file()):
            raise ValueError(f"teacher {teacher} is not an existing .pt checkpoint")
        return teacher


class DistillPass(Pass):
    """Fine-tune the compressed model, distilling from the original one (recipe key ``distill``)."""

    name = "distill"
    reads_train = "labels"
    Config = DistillConfig

    def run(self, model: Any, ctx: PassContext) -> PassResult:
        """Train ``model`` on the compile's data and return the kept checkpoint's model."""
        from ultralytics.nn.tasks import load_checkpoint

        from edgecompress.models.yolo_training import DistillationTrainer, configured, student_of

        config = self.config
        assert isinstance(config, DistillConfig)
        work = ctx.work
        student = ctx.adapter.with_model(model, work / "start.pt")
        overrides = train_overrides(
            config, student.checkpoint, resolved_data_yaml(ctx.data, work), work, ctx.imgsz
        )
        if config.method == "cwd":
            teacher = config.teacher or ctx.teacher
            overrides.update({"distill_model": str(Path(teacher).resolve()), "dis": config.weight})
        trainer_cls = configured(DistillationTrainer, tau=config.tau, **guard_settings(config))
        trainer = train_or_resume(trainer_cls, overrides, work, ctx.resume)
        kept, stopped = trained_checkpoint(trainer, prefer=config.checkpoint)
        trained, _ = load_checkpoint(str(kept))
        from ultralytics.utils.torch_utils import unwrap_model

        tloss = trainer.tloss
        losses = (
            tloss.items() if isinstance(tloss, dict) else zip(trainer.loss_names, tloss or [], strict=False)
        )
        projector = getattr(unwrap_model(trainer.model), "projector", None)
        details = {
            "trainer_model": type(unwrap_model(trainer.model)).__name__,
            "student_alignment": [type(m).__name__ for m in projector] if projector is not None else None,
            "final_train_loss": {k: round(float(v), 5) for k, v in losses},
            "method": config.method,
            "teacher": str(config.teacher or ctx.teacher) if config.method == "cwd" else None,
            "epochs": config.epochs,
            "tau": config.tau,
            "weight": config.weight,
            "best_fitness": float(trainer.best_fitness or 0.0),
            "checkpoint": config.checkpoint,
            "lr0": config.lr0,
            "warmup_epochs": config.warmup_epochs,
            "precise_bn": config.precise_bn,
            "ema_epochs": config.ema_epochs,
            "stopped_diverging": stopped,
            "val_curve": epoch_curve(trainer),
        }
        return PassResult(student_of(trained).float().eval(), details)
