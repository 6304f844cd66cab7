"""The policy family's compile steps: demonstrations, graphs lowered for the denoising loop, action error."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
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
    float_graph_measured_on,
)
from edgecompress.models.policy import PolicyAdapter, action_error, load_policy
from edgecompress.models.policy_data import Demonstrations, load_demonstrations
from edgecompress.passes.base import PassContext
from edgecompress.ui import foreign_output, status

if TYPE_CHECKING:
    from edgecompress.report.schema import DataInfo, ModelInfo, StageRow


def lower_policy(policy: PolicyAdapter, folder: Path, profile: TargetProfile) -> list[Path]:
    """Export the policy's graphs to ONNX and lower each with the profile's backend (fp32) into ``folder``.

    ``folder`` then holds ``policy.json`` (the denoising loop's settings) and one model per graph.
    """
    import tempfile

    from edgecompress.backends import get_backend
    from edgecompress.models.vla.export import export_policy_onnx

    backend = get_backend(profile.backend)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ec-policy-onnx-") as exported:
        with foreign_output():
            files = export_policy_onnx(policy.network, Path(exported))
        lowered = [Path(shutil.copy(files[-1], folder / "policy.json"))]
        for onnx in files[:-1]:
            lowered += backend.lower(onnx, folder, profile, "fp32", stem=onnx.stem).files
    return lowered


@dataclass
class PolicyCompile(CompileFamily):
    """A policy compile's own inputs: demonstrations split into train (calibration) and val (scored)."""

    name = "policy"

    train: Demonstrations
    val: Demonstrations

    def pass_context(self, plan: CompilePlan, adapter: Any, work: Path) -> PassContext:
        return self.common_context(plan, adapter, work, calibration=lambda count: self.train.sample(count, 0))

    def torch_runtime(self, plan: CompilePlan, adapter: Any) -> Any:
        return adapter.editable().torch_runtime(plan.target.threads)

    def _load(self, plan: CompilePlan, folder: Path, files: list[Path]) -> LoweredModel:
        from edgecompress.runtime.policy import load_policy_runtime

        runtime = load_policy_runtime(folder, plan.target)
        return LoweredModel(Lowered(folder / "policy.json", files, {}), runtime)

    def lower(self, plan: CompilePlan, adapter: Any, folder: Path) -> LoweredModel:
        graphs = folder / plan.target.backend
        return self._load(plan, graphs, lower_policy(adapter, graphs, plan.target))

    def lower_result(self, plan: CompilePlan, adapter: Any, build: Path, art: Path) -> LoweredModel:
        status(f"lowering result: {plan.target.backend} fp32")
        return self.lower(plan, adapter, art)

    def measure(self, plan: CompilePlan, measured: list[Measured]) -> tuple[list[StageRow], DataInfo | None]:
        from edgecompress.measure.latency import time_calls
        from edgecompress.report.schema import DataInfo, LatencyRow, PolicyAccuracyRow, StageRow

        lat = plan.target.latency
        original: PolicyAdapter = plan.adapter  # type: ignore[assignment]
        images, text, states = original.observations(self.val.subset(np.arange(1)))
        config = original.config
        noise = np.random.default_rng(0).standard_normal((1, config.horizon, config.action_dim))
        noise = noise.astype(np.float32)
        status(f"measuring latency per action chunk: {lat.iterations} iterations after {lat.warmup} warm-up")
        calls = {m.name: (lambda p=m.runtime: p(images, text, states, noise)) for m in measured}
        latencies = time_calls(calls, lat.warmup, lat.iterations)
        rows = []
        for m in measured:
            policy: PolicyAdapter = m.adapter  # type: ignore[assignment]
            error = action_error(m.runtime, policy, self.val)
            params, gflops = policy.complexity(plan.imgsz)
            status(
                f"{m.name}: action MSE {error:.5f}  p50 {latencies[m.name].p50_ms:.1f} ms  "
                f"{gflops:.3f} GFLOPs"
            )
            rows.append(
                StageRow(
                    name=m.name,
                    kind=m.kind,  # type: ignore[arg-type]
                    measured_on=float_graph_measured_on(plan, m.runtime, config.image_size),
                    params=params,
                    gflops=gflops,
                    metrics=PolicyAccuracyRow(action_mse=error, frames=len(self.val)),
                    latency=LatencyRow.of(latencies[m.name]),
                    wall_s=m.wall_s,
                    details=m.details or {},
                )
            )
        data = DataInfo(
            data_yaml=str(plan.data),
            split="val",
            images=len(self.val),
            instances=len(np.unique(self.val.episode_ids)),
        )
        return rows, data

    def write_files(self, plan: CompilePlan, art: Path, final: Any, result: LoweredModel) -> None:
        shutil.copyfile(final.checkpoint, art / "model.pt")
        meta = result.lowered.model_file.relative_to(art).as_posix()
        manifest = Manifest(
            "policy",
            plan.target.backend,
            plan.precision,
            meta,
            final.config.image_size,
            self.train.instructions,
        )
        manifest.write(art)

    def model_info(self, plan: CompilePlan) -> ModelInfo:
        from edgecompress.artifact import sha256_file
        from edgecompress.report.schema import ModelInfo

        source = plan.adapter.checkpoint
        return ModelInfo(
            source=str(source),
            sha256=sha256_file(source),
            family="policy",
            task="action",
            names=self.train.instructions,
            imgsz=plan.imgsz,
        )


def plan_policy(
    model: str | Path,
    data: str | Path,
    profile: TargetProfile,
    recipe: Recipe,
    precision: str | None,
    imgsz: int | None,
    out: Path,
    force: bool,
) -> tuple[PolicyCompile, PolicyAdapter, str, int]:
    """Check a policy compile's inputs; return the family's part of the plan, the policy, precision, size."""
    from edgecompress.artifact import check_output_dir

    chosen = check_float_graph_inputs("a policy", profile, recipe, precision, imgsz)
    check_output_dir(out, force)
    policy = load_policy(model)
    demos = load_demonstrations(data)
    config = policy.config
    if demos.images.shape[1:3] != (config.image_size, config.image_size):
        raise InputError(
            f"{data} holds {demos.images.shape[1]}x{demos.images.shape[2]} images; the policy takes "
            f"{config.image_size}x{config.image_size}",
            "pass the demonstrations the policy was trained on",
        )
    if demos.states.shape[1] != config.state_dim or demos.actions.shape[1] != config.action_dim:
        raise InputError(
            f"{data}: state/action sizes {demos.states.shape[1]}/{demos.actions.shape[1]} differ from the "
            f"policy's {config.state_dim}/{config.action_dim}",
            "pass the demonstrations the policy was trained on",
        )
    train, val = demos.split()
    if recipe.measure.frames:
        val = val.sample(recipe.measure.frames, seed=0)
    return PolicyCompile(train, val), policy, chosen, config.image_size
