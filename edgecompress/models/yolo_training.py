"""Ultralytics training hooks for compressed models: a trainer that keeps pruned widths, and CWD.

This module path is stable: checkpoints written while distilling pickle ``CWDDistillationModel``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.distill_model import DistillationModel

from edgecompress.models.ultralytics_compat import distillation_class


def cwd_loss(student: torch.Tensor, teacher: torch.Tensor, tau: float) -> torch.Tensor:
    """Channel-wise distillation: mean over (batch, channel) of KL(softmax_HW(t/τ) ‖ softmax_HW(s/τ)) · τ²."""
    n, c = student.shape[:2]
    s = student.reshape(n * c, -1) / tau
    t = teacher.reshape(n * c, -1) / tau
    kl = (F.softmax(t, dim=1) * (F.log_softmax(t, dim=1) - F.log_softmax(s, dim=1))).sum(dim=1)
    return kl.mean() * tau**2


def channel_aligners(student_dims: list[int], teacher_dims: list[int]) -> torch.nn.ModuleList:
    """CWD's student-to-teacher alignment per neck level: one 1×1 conv where the widths differ, else none.

    As the CWD paper aligns channels, in place of Ultralytics' Conv1×1 → ReLU → Conv1×1 projector (a
    second network between student and loss, trained with the student from random weights).
    """
    return torch.nn.ModuleList(
        torch.nn.Identity() if s == t else torch.nn.Conv2d(s, t, kernel_size=1)
        for s, t in zip(student_dims, teacher_dims, strict=True)
    )


class CWDDistillationModel(DistillationModel):
    """Ultralytics' distillation wrapper with the feature loss replaced by CWD (importable, so picklable)."""

    tau: ClassVar[float] = 4.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        first = [p[0] for p in self.projector]  # Ultralytics' Conv1×1 → ReLU → Conv1×1 per level
        last = [p[-1] for p in self.projector]
        device = first[0].weight.device if first else torch.device("cpu")
        self.projector = channel_aligners([c.in_channels for c in first], [c.out_channels for c in last]).to(
            device
        )

    def loss_sl2(
        self, student_feat: torch.Tensor, teacher_feat: torch.Tensor, feat_idx: int, teacher_scores: tuple
    ) -> torch.Tensor:
        """CWD between the projected student feature and the teacher feature of one neck level."""
        return cwd_loss(student_feat, teacher_feat, type(self).tau)


class CompressedModelTrainer(DetectionTrainer):
    """A DetectionTrainer that trains the checkpoint's module as it is (pruned widths kept).

    ``guard`` (class attribute, set with :func:`configured`) holds the
    :class:`~edgecompress.models.training_guard.TrainingGuard` settings: precise BatchNorm
    statistics before each validation and the divergence stop.
    """

    guard: ClassVar[dict[str, Any]] = {"precise_bn": 256, "diverge_loss": 1.0e5, "ema_epochs": 0.0}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from edgecompress.models.training_guard import TrainingGuard

        TrainingGuard(**type(self).guard).attach(self)

    def build_dataset(self, img_path: str, mode: str = "train", batch: int | None = None) -> Any:
        """Ultralytics' dataset, except that val letterboxes every image to the square ``imgsz``.

        Ultralytics validates in rectangular batches padded by half a stride (352 for 320); the deploy
        path and the compile's report score square letterboxed images. On DeepPCB's square scans the
        two disagreed by 14 points of mAP50-95 on the same weights, and moved in opposite directions
        between epochs, so ``best.pt`` (chosen by val fitness) could be the wrong epoch.
        """
        from ultralytics.data import build_yolo_dataset
        from ultralytics.utils.torch_utils import unwrap_model

        model = unwrap_model(self.model) if isinstance(self.model, torch.nn.Module) else None
        stride = max(int(model.stride.max()), 32) if model is not None else 32
        return build_yolo_dataset(self.args, img_path, batch, self.data, mode=mode, rect=False, stride=stride)

    def get_model(self, cfg: Any = None, weights: Any = None, verbose: bool = True) -> Any:
        """Return the loaded (compressed) module instead of rebuilding it from its YAML."""
        if weights is None:
            return super().get_model(cfg=cfg, weights=weights, verbose=verbose)
        from edgecompress.models.yolo_modules import trainable_as_is

        return trainable_as_is(weights, self.args)


class DistillationTrainer(CompressedModelTrainer):
    """Trains with Ultralytics' ``distill_model`` setting, the feature loss being CWD at ``tau``.

    The swap is made inside ``_do_train``, which every process runs: under multi-GPU DDP Ultralytics
    pickles the trainer class with cloudpickle and trains in fresh interpreters, where a swap made
    by the launching process would be missing. Configure by subclassing (``configured``).
    """

    tau: ClassVar[float] = 4.0

    def _do_train(self) -> None:
        with distillation_class(CWDDistillationModel, tau=type(self).tau):
            super()._do_train()


def configured(trainer: type[CompressedModelTrainer], **settings: Any) -> type[CompressedModelTrainer]:
    """A subclass of ``trainer`` carrying ``settings`` as class attributes.

    Ultralytics' DDP launcher pickles the trainer class with cloudpickle; a class made here is not
    importable by name, so it is pickled by value, settings included, into every DDP worker.
    """
    return type(f"Configured{trainer.__name__}", (trainer,), settings)


def student_of(model: Any) -> Any:
    """The detection model inside DDP/compile and distillation wrappers (or the model itself)."""
    from ultralytics.utils.torch_utils import unwrap_model

    model = unwrap_model(model)
    return unwrap_model(getattr(model, "student_model", model))


def bn_scales(model: torch.nn.Module, skip: set[int]) -> list[torch.nn.BatchNorm2d]:
    """The BatchNorm layers whose γ sparsity training penalises (those of ``skip`` ids excluded)."""
    return [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) and id(m) not in skip]


def add_l1_subgradient(
    layers: list[torch.nn.BatchNorm2d], lam: float, mask: dict[int, torch.Tensor] | None = None
) -> None:
    """Add λ·sign(γ) (times the layer's 0/1 mask, if given) to each BN weight gradient."""
    for bn in layers:
        if bn.weight.grad is None:
            continue
        step = lam * torch.sign(bn.weight.data)
        bn.weight.grad.add_(step * mask[id(bn)] if mask else step)


def shrink_masked(layers: list[torch.nn.BatchNorm2d], mask: dict[int, torch.Tensor], factor: float) -> None:
    """Multiply γ and β of the masked BN channels by ``factor``: their output fades towards SiLU(0) = 0."""
    with torch.no_grad():
        for bn in layers:
            keep = 1.0 - mask[id(bn)] * (1.0 - factor)
            bn.weight.mul_(keep)
            bn.bias.mul_(keep)


def shrink_factor(shrink_to: float, steps: int) -> float:
    """Per-step factor that takes a value to ``shrink_to`` of itself in ``steps`` steps."""
    return float(shrink_to) ** (1.0 / max(1, steps))


def pruning_mask(
    model: torch.nn.Module, layers: list[torch.nn.BatchNorm2d], plan: dict[str, torch.Tensor]
) -> dict[int, torch.Tensor]:
    """0/1 mask per BN of ``layers``: 1 on the channels of ``plan`` (BN module name → channel indices)."""
    modules = dict(model.named_modules())
    mask = {id(bn): torch.zeros_like(bn.weight.detach()) for bn in layers}
    for name, channels in plan.items():
        bn = modules[name]
        if id(bn) in mask:
            mask[id(bn)][channels.to(bn.weight.device)] = 1.0
    return mask


class SparsityTrainer(CompressedModelTrainer):
    """Adds the L1 subgradient λ·sign(γ) of BN scales to the gradients before every optimizer step.

    ``schedule`` is ``constant`` or ``linear`` (λ decays linearly to 0 over the epochs). With
    ``prune`` set (a ``bn_prune`` configuration) and its ``planner`` (``planner(model, prune, imgsz)``
    → BN name → channels that pruning step would remove), only those channels are penalised, as
    MaskSparsity does: the plan is torch-pruning's own for the current weights, recomputed every
    epoch, so coupled channels (residual adds, concats) are penalised together and the channels that
    will be kept are left alone. The model must be split-free.

    ``method: shrink`` replaces the L1 term by gradual pruning: after every optimizer step γ and β of
    the masked channels are multiplied by one factor chosen so that they end at ``shrink_to`` of their
    value, while the task loss trains the rest to take over; the prune afterwards removes channels
    that already output (nearly) nothing.
    """

    penalty: ClassVar[dict[str, Any]] = {"lam": 1e-3, "schedule": "constant", "prune": None, "planner": None}

    def _shrink_factor(self) -> float:
        """The shrink factor for this run's optimizer steps (batches per epoch / accumulate × epochs)."""
        import math

        steps = int(self.epochs) * math.ceil(len(self.train_loader) / max(int(self.accumulate), 1))
        return shrink_factor(float(self.penalty.get("shrink_to", 0.01)), steps)

    def _penalised(self) -> list[torch.nn.BatchNorm2d]:
        from edgecompress.models.yolo_head import head_output_layers

        model = student_of(self.model)
        skip = {id(sub) for m in head_output_layers(model) for sub in m.modules()}
        return bn_scales(model, skip)

    def _epoch_mask(self, layers: list[torch.nn.BatchNorm2d]) -> dict[int, torch.Tensor] | None:
        prune, planner = self.penalty.get("prune"), self.penalty.get("planner")
        if not prune or planner is None:
            return None
        if getattr(self, "_mask_epoch", None) != self.epoch:
            model = student_of(self.model)
            self._mask = pruning_mask(model, layers, planner(model, prune, int(self.args.imgsz)))
            self._mask_epoch = self.epoch
        return self._mask

    def optimizer_step(self) -> None:
        """Ultralytics' step (unscale, clip to norm 10, step, EMA) with λ·sign(γ) added after the clip.

        Added before the clip, the penalty would be scaled down with the task gradient whenever the
        gradient norm exceeds 10, which on YOLO losses is most steps.
        """
        shrink = self.penalty.get("method") == "shrink"
        lam = 0.0 if shrink else float(self.penalty["lam"])
        if self.penalty["schedule"] == "linear":
            lam *= 1 - self.epoch / max(self.epochs, 1)
        layers = self._penalised()
        mask = self._epoch_mask(layers)
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=10.0)
        if lam:
            add_l1_subgradient(layers, lam, mask)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad()
        if shrink and mask is not None:
            shrink_masked(layers, mask, self._shrink_factor())
        if self.ema:
            self.ema.update(self.model)


class SparseDistillationTrainer(SparsityTrainer, DistillationTrainer):
    """Sparsity training with CWD from a teacher (``distill_model``): penalty, task and teacher at once."""

    def _epoch_mask(self, layers: list[torch.nn.BatchNorm2d]) -> dict[int, torch.Tensor] | None:
        """The mask, planned on a copy of the student once the features its hooks captured are dropped.

        The distillation hooks keep the last batch's features (tensors inside the autograd graph),
        which a deep copy of the student cannot copy.
        """
        from ultralytics.utils.torch_utils import unwrap_model

        wrapper = unwrap_model(self.model)
        for captured in (getattr(wrapper, "_student_feats", None), getattr(wrapper, "_teacher_feats", None)):
            if captured is not None:
                captured.clear()
        return super()._epoch_mask(layers)
