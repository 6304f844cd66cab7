"""The SmolVLA family's compile steps: graphs lowered for the denoising loop, agreement with the original.

Every row is scored against the actions of the policy as given, in PyTorch, with one fixed noise
(``action_mse`` with ``reference: original``): on seeded synthetic observations (camera images, task
tokens, state of the policy's shapes), or with ``--data`` on held-out frames of the demonstrations.
``--data`` takes a demonstrations ``.npz`` (as the reference VLA's) that the policy folder's
``codec.json`` encodes (:mod:`edgecompress.models.smolvla_data`); the demos' train split then
calibrates ``layer_prune`` and trains ``policy_finetune``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecompress.artifact import Manifest
from edgecompress.backends.base import Lowered
from edgecompress.config import Recipe, TargetProfile
from edgecompress.errors import InputError
from edgecompress.families.base import (
    CompileFamily,
    CompilePlan,
    LoweredModel,
    Measured,
    check_float_graph_inputs,
)
from edgecompress.models.smolvla import SmolVLAAdapter, load_smolvla
from edgecompress.models.smolvla_data import CODEC_FILE, SmolVLADemos, load_smolvla_demos
from edgecompress.models.smolvla_observation import META_FILE, Observation, chunk_noise, random_observations
from edgecompress.passes.base import PassContext
from edgecompress.ui import foreign_output, status

if TYPE_CHECKING:
    from edgecompress.report.schema import DataInfo, ModelInfo, StageRow

DEFAULT_FRAMES = 4  # synthetic observations the agreement is measured on
MODEL_FOLDER = "model"  # the policy as save_pretrained wrote it, inside the artifact


def lower_smolvla(
    adapter: SmolVLAAdapter, folder: Path, profile: TargetProfile, loop: str = "graph"
) -> list[Path]:
    """Export the graphs (prefix and step, or with ``loop`` "graph" the whole chunk) to ONNX and lower
    each with the profile's backend (fp32)."""
    from edgecompress.backends import get_backend
    from edgecompress.models.smolvla_export import export_smolvla_onnx

    backend = get_backend(profile.backend)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ec-smolvla-onnx-") as exported:
        with foreign_output():
            files = export_smolvla_onnx(adapter, Path(exported), loop)
        lowered = [Path(shutil.copy(files[-1], folder / META_FILE))]
        for onnx in files[:-1]:
            lowered += backend.lower(onnx, folder, profile, "fp32", stem=onnx.stem).files
    return lowered


@dataclass
class SmolVLACompile(CompileFamily):
    """A SmolVLA compile's own inputs: the synthetic observations and noise every row is scored on."""

    name = "smolvla"

    observations: list[Observation]
    noise: np.ndarray
    demos: SmolVLADemos | None = None  # --data: calibration, training and the scored frames
    reference: list[np.ndarray] = field(default_factory=list)  # the original's actions, computed once

    def pass_context(self, plan: CompilePlan, adapter: Any, work: Path) -> PassContext:
        demos = self.demos
        if demos is None:
            calibrate = lambda count: random_observations(adapter.meta(), count, seed=1)  # noqa: E731
            return self.common_context(plan, adapter, work, calibration=calibrate)
        return self.common_context(plan, adapter, work, calibration=demos.calibration, demonstrations=demos)

    def torch_runtime(self, plan: CompilePlan, adapter: Any) -> Any:
        return adapter.torch_runtime(plan.target.threads)

    def lower(self, plan: CompilePlan, adapter: Any, folder: Path) -> LoweredModel:
        from edgecompress.runtime.smolvla import load_smolvla_runtime

        graphs = folder / plan.target.backend
        files = lower_smolvla(adapter, graphs, plan.target, plan.recipe.lower.denoising_loop)
        runtime = load_smolvla_runtime(graphs, plan.target)
        return LoweredModel(Lowered(graphs / META_FILE, files, {}), runtime)

    def lower_result(self, plan: CompilePlan, adapter: Any, build: Path, art: Path) -> LoweredModel:
        status(f"lowering result: {plan.target.backend} fp32")
        return self.lower(plan, adapter, art)

    def agreement(self, plan: CompilePlan, predict: Any) -> tuple[float, float]:
        """Mean squared and largest absolute difference of ``predict``'s actions to the original's."""
        if not self.reference:
            original = plan.adapter.torch_predict()  # type: ignore[attr-defined]
            self.reference = [original(o, self.noise) for o in self.observations]
        diffs = [predict(o, self.noise) - r for o, r in zip(self.observations, self.reference, strict=True)]
        return float(np.mean([np.mean(d**2) for d in diffs])), float(max(np.abs(d).max() for d in diffs))

    def measure(self, plan: CompilePlan, measured: list[Measured]) -> tuple[list[StageRow], DataInfo | None]:
        from edgecompress.families.smolvla_rows import smolvla_row
        from edgecompress.measure.latency import time_calls

        lat = plan.target.latency
        first = self.observations[0]
        status(f"measuring latency per action chunk: {lat.iterations} iterations after {lat.warmup} warm-up")
        calls = {m.name: (lambda p=m.runtime: p(first, self.noise)) for m in measured}
        latencies = time_calls(calls, lat.warmup, lat.iterations)
        rows = []
        for m in measured:
            mse, max_abs = self.agreement(plan, m.runtime)
            row = smolvla_row(plan, m, latencies[m.name], mse, max_abs, len(self.observations))
            status(
                f"{m.name}: action MSE vs original {mse:.3g} (max |diff| {max_abs:.3g})  "
                f"p50 {row.latency.p50_ms:.1f} ms  {row.gflops:.2f} GFLOPs"  # type: ignore[union-attr]
            )
            rows.append(row)
        return rows, self.data_info(plan)

    def data_info(self, plan: CompilePlan) -> DataInfo | None:
        """The scored held-out frames of ``--data`` (None for synthetic observations)."""
        from edgecompress.report.schema import DataInfo

        if self.demos is None:
            return None
        episodes = len(np.unique(self.demos.val.episode_ids))
        return DataInfo(
            data_yaml=str(plan.data), split="val", images=len(self.observations), instances=episodes
        )

    def write_files(self, plan: CompilePlan, art: Path, final: Any, result: LoweredModel) -> None:
        from edgecompress.models.smolvla import save_smolvla

        if final is plan.adapter:
            shutil.copytree(final.checkpoint, art / MODEL_FOLDER)
        else:
            save_smolvla(final.policy, art / MODEL_FOLDER, final.kept, final.loop)
            codec = plan.adapter.checkpoint / CODEC_FILE
            if codec.is_file():  # the compressed policy decodes as the original does
                shutil.copyfile(codec, art / MODEL_FOLDER / CODEC_FILE)
        meta = result.lowered.model_file.relative_to(art).as_posix()
        target = plan.target.backend
        Manifest("smolvla", target, plan.precision, meta, final.input_size, final.cameras()).write(art)

    def model_info(self, plan: CompilePlan) -> ModelInfo:
        from edgecompress.artifact import sha256_file
        from edgecompress.models.smolvla import WEIGHTS_FILE
        from edgecompress.report.schema import ModelInfo

        adapter: SmolVLAAdapter = plan.adapter  # type: ignore[assignment]
        return ModelInfo(
            source=str(adapter.checkpoint),
            sha256=sha256_file(adapter.checkpoint / WEIGHTS_FILE),
            family="smolvla",
            task="action",
            names=adapter.cameras(),
            imgsz=plan.imgsz,
        )


def plan_smolvla(
    model: str | Path,
    data: str | Path | None,
    profile: TargetProfile,
    recipe: Recipe,
    precision: str | None,
    imgsz: int | None,
    out: Path,
    force: bool,
) -> tuple[SmolVLACompile, SmolVLAAdapter, str, int]:
    """Check a SmolVLA compile's inputs; return the family's part of the plan, the policy, precision, size."""
    from edgecompress.artifact import check_output_dir

    chosen = check_float_graph_inputs("SmolVLA", profile, recipe, precision, imgsz)
    check_output_dir(out, force)
    adapter = load_smolvla(model)
    meta = adapter.meta()
    frames = recipe.measure.frames or DEFAULT_FRAMES
    noise = chunk_noise(meta, seed=0)
    if data:
        demos = load_smolvla_demos(data, meta, adapter.checkpoint)
        parts = SmolVLACompile(demos.observations(demos.val.sample(frames, seed=0)), noise, demos)
    else:
        _check_no_training(recipe)
        parts = SmolVLACompile(random_observations(meta, frames, seed=0), noise)
    return parts, adapter, chosen, adapter.input_size


def _check_no_training(recipe: Recipe) -> None:
    """Refuse a recipe that trains when the compile has no demonstrations."""
    from edgecompress.passes import PASSES

    for index, stage in enumerate(recipe.stages, start=1):
        cls = PASSES[stage["pass"]]
        settings = {k: v for k, v in stage.items() if k != "pass"}
        if cls(cls.Config.model_validate(settings)).train_split_use():
            raise InputError(
                f"recipe {recipe.name}: stage {index} ({cls.name}) trains on demonstrations",
                "pass --data DEMOS.npz (the policy folder needs its codec.json)",
            )
