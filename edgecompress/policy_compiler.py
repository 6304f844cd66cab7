"""Compile a policy: validate → original and baseline rows → passes → lower → measure → artifact.

The policy counterpart of :mod:`edgecompress.compiler`: same recipes, targets, report schema and
atomic artifact; accuracy is the action-chunk error on held-out demonstrations.
"""

from __future__ import annotations

import copy
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from edgecompress.artifact import (
    Manifest,
    atomic_directory,
    check_output_dir,
    output_lock,
    sha256_file,
    write_checksums,
)
from edgecompress.config import Recipe, TargetProfile, load_recipe, load_target
from edgecompress.config.recipe import apply_overrides, check_family
from edgecompress.errors import InputError, StageFailed
from edgecompress.models.policy import PolicyModel, action_error, complexity, load_policy
from edgecompress.models.policy_data import Demonstrations, load_demonstrations
from edgecompress.report import Report
from edgecompress.report.schema import DataInfo, ModelInfo
from edgecompress.ui import foreign_output, status

BACKENDS = ("openvino", "onnxruntime")


@dataclass
class PolicyContext:
    """Everything validated for one policy compile."""

    policy: PolicyModel
    target: TargetProfile
    recipe: Recipe
    precision: str
    data: Path
    train: Demonstrations
    val: Demonstrations
    out: Path
    force: bool = False
    command: str = ""
    stage_dir: Path = field(default_factory=Path)

    def calibration(self, count: int, seed: int = 0) -> Demonstrations:
        """A seeded sample of training frames for the passes that look at activations."""
        return self.train.sample(count, seed)


def plan_policy(
    model: str | Path,
    data: str | Path,
    target: str | Path = "x86-cpu",
    recipe: str | Path = "vla-efficient",
    precision: str | None = None,
    out: str | Path | None = None,
    overrides: list[str] | None = None,
    force: bool = False,
    command: str = "",
) -> PolicyContext:
    """Validate every input of a policy compile; raises InputError on bad input."""
    profile = load_target(target)
    the_recipe = apply_overrides(load_recipe(recipe), overrides or [])
    check_family(the_recipe, "policy")
    if profile.backend not in BACKENDS:
        raise InputError(
            f"policies lower to OpenVINO or ONNX Runtime; target {profile.name} uses {profile.backend}",
            "use --target x86-cpu or x86-cpu-ort",
        )
    chosen = precision or the_recipe.lower.precision or "fp32"
    if chosen != "fp32":
        raise InputError(f"policies are lowered at fp32, not {chosen}", "pass --precision fp32")
    out_dir = Path(out) if out else Path("runs") / f"{Path(model).stem}-{profile.name}"
    check_output_dir(out_dir, force)
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
    frames = the_recipe.measure.frames
    if frames:
        val = val.sample(frames, seed=0)
    return PolicyContext(policy, profile, the_recipe, chosen, Path(data), train, val, out_dir, force, command)


def lower_policy(policy: PolicyModel, folder: Path, backend: str) -> list[Path]:
    """Export the policy's graphs to ONNX and, for OpenVINO, convert them to IR in ``folder``."""
    from edgecompress.models.vla.export import export_policy_onnx

    with foreign_output():
        files = export_policy_onnx(policy.network, folder / "onnx")
    if backend == "onnxruntime":
        return files
    import openvino as ov

    lowered = [shutil.copy(files[-1], folder / "policy.json")]
    for onnx in files[:-1]:
        xml = folder / f"{onnx.stem}.xml"
        ov.save_model(ov.convert_model(str(onnx)), str(xml), compress_to_fp16=False)
        lowered += [xml, xml.with_suffix(".bin")]
    return [Path(p) for p in lowered]


def _runtime(ctx: PolicyContext, folder: Path) -> Any:
    from edgecompress.runtime.policy import load_policy_runtime

    graphs = folder if ctx.target.backend == "openvino" else folder / "onnx"
    return load_policy_runtime(graphs, ctx.target.backend, ctx.target.device, ctx.target.threads)


@dataclass
class _Measured:
    name: str
    kind: str
    predict: Any
    policy: PolicyModel
    details: dict[str, Any]
    wall_s: float | None = None


def _run_stages(ctx: PolicyContext, build: Path) -> tuple[PolicyModel, list[_Measured]]:
    from edgecompress.passes import PASSES

    policy, measured = ctx.policy, []
    for index, stage in enumerate(ctx.recipe.stages, start=1):
        cls = PASSES[stage["pass"]]
        ctx.stage_dir = build / f"stage{index}-{cls.name}"
        status(f"stage {index}: {cls.name}")
        started = time.perf_counter()
        settings = {k: v for k, v in stage.items() if k != "pass"}
        working = PolicyModel(policy.checkpoint, copy.deepcopy(policy.network))
        try:
            result = cls(cls.Config.model_validate(settings)).run(working, ctx)  # type: ignore[arg-type]
        except ValueError as exc:
            raise StageFailed(f"stage {index} ({cls.name}): {exc}", "change the stage's settings") from exc
        policy = load_policy(result.model.save(ctx.stage_dir / "result.pt"))
        wall = time.perf_counter() - started
        runtime = _runtime(ctx, _lowered(ctx, policy, ctx.stage_dir))
        measured.append(_Measured(f"{index}. {cls.name}", "stage", runtime, policy, result.details, wall))
    return policy, measured


def _lowered(ctx: PolicyContext, policy: PolicyModel, folder: Path) -> Path:
    lower_policy(policy, folder / ctx.target.backend, ctx.target.backend)
    return folder / ctx.target.backend


def _rows(ctx: PolicyContext, measured: list[_Measured]) -> list[Any]:
    from edgecompress.measure.environment import cpu_model, isa_flags
    from edgecompress.measure.latency import time_calls
    from edgecompress.report.schema import MeasuredOn, PolicyAccuracyRow, StageRow
    from edgecompress.stage_rows import latency_row

    lat = ctx.target.latency
    sample = ctx.val.subset(np.arange(1))
    images, text, states = ctx.policy.observations(sample)
    config = ctx.policy.config
    noise = (
        np.random.default_rng(0).standard_normal((1, config.horizon, config.action_dim)).astype(np.float32)
    )
    status(f"measuring latency per action chunk: {lat.iterations} iterations after {lat.warmup} warm-up")
    calls = {m.name: (lambda p=m.predict: p(images, text, states, noise)) for m in measured}
    latencies = time_calls(calls, lat.warmup, lat.iterations)
    rows = []
    for m in measured:
        error = action_error(m.predict, m.policy, ctx.val)
        sizes = complexity(m.policy)
        status(
            f"{m.name}: action MSE {error:.5f}  p50 {latencies[m.name].p50_ms:.1f} ms  "
            f"{sizes['gflops']:.3f} GFLOPs"
        )
        runtime = getattr(m.predict, "name", "torch")
        rows.append(
            StageRow(
                name=m.name,
                kind=m.kind,  # type: ignore[arg-type]
                measured_on=MeasuredOn(
                    runtime=runtime,
                    runtime_version=getattr(m.predict, "version", _torch_version()),
                    precision="fp32",
                    executed_precision="f32",  # the policy graphs are always compiled with f32 forced
                    device=ctx.target.device if runtime != "torch" else "CPU",
                    cpu=cpu_model(),
                    isa=isa_flags(),
                    threads=ctx.target.threads,
                    batch=1,
                    imgsz=config.image_size,
                ),
                params=int(sizes["params"]),
                gflops=sizes["gflops"],
                policy=PolicyAccuracyRow(action_mse=error, frames=len(ctx.val)),
                latency=latency_row(latencies[m.name]),
                wall_s=m.wall_s,
                details=m.details,
            )
        )
    return rows


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def _torch_predict(policy: PolicyModel, threads: int | None) -> Any:
    import torch

    if threads:
        torch.set_num_threads(threads)
    return policy.torch_predict()


def _report(ctx: PolicyContext, rows: list, files: dict[str, str], wall: float) -> Report:
    from edgecompress.compile_inputs import environment

    source = ctx.policy.checkpoint
    return Report(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=ctx.command or " ".join(sys.argv),
        model=ModelInfo(
            source=str(source),
            sha256=sha256_file(source),
            family="policy",
            task="action",
            names=ctx.train.instructions,
            imgsz=ctx.policy.config.image_size,
        ),
        target=ctx.target.model_dump(),
        recipe=ctx.recipe.model_dump(),
        precision=ctx.precision,
        environment=environment(),
        data=DataInfo(
            data_yaml=str(ctx.data),
            split="val",
            images=len(ctx.val),
            instances=len(np.unique(ctx.val.episode_ids)),
        ),
        rows=rows,
        artifact_files=files,
        total_wall_s=wall,
    )


def run_policy(ctx: PolicyContext) -> Path:
    """Run the policy compile described by ``ctx`` and return the artifact folder."""
    with output_lock(ctx.out):
        return _run_policy_locked(ctx)


def _run_policy_locked(ctx: PolicyContext) -> Path:
    from edgecompress.report.render import render

    started = time.perf_counter()
    build = ctx.out.resolve().with_name(f"{ctx.out.name}.work")
    shutil.rmtree(build, ignore_errors=True)
    try:
        with atomic_directory(ctx.out, ctx.force) as art:
            original = PolicyModel(ctx.policy.checkpoint, copy.deepcopy(ctx.policy.network))
            measured = [
                _Measured("original", "original", _torch_predict(original, ctx.target.threads), original, {})
            ]
            if ctx.recipe.measure.baseline:
                status(f"lowering baseline: {ctx.target.backend} fp32")
                baseline = _runtime(ctx, _lowered(ctx, original, build / "baseline"))
                measured.append(_Measured("baseline", "baseline", baseline, original, {}))
            final, stages = _run_stages(ctx, build)
            status(f"lowering result: {ctx.target.backend} fp32")
            lowered = lower_policy(final, art / ctx.target.backend, ctx.target.backend)
            measured += [
                *stages,
                _Measured("result", "result", _runtime(ctx, art / ctx.target.backend), final, {}),
            ]
            rows = _rows(ctx, measured)
            shutil.copyfile(final.checkpoint, art / "model.pt")
            (art / "recipe.yaml").write_text(yaml.safe_dump(ctx.recipe.model_dump(), sort_keys=False))
            (art / "target.yaml").write_text(yaml.safe_dump(ctx.target.model_dump(), sort_keys=False))
            graphs = art / ctx.target.backend
            meta = (
                graphs / "policy.json"
                if ctx.target.backend == "openvino"
                else graphs / "onnx" / "policy.json"
            )
            manifest = Manifest(
                "policy",
                ctx.target.backend,
                ctx.precision,
                meta.relative_to(art).as_posix(),
                final.config.image_size,
                ctx.train.instructions,
            )
            manifest.write(art)
            files = {p.relative_to(art).as_posix(): sha256_file(p) for p in lowered}
            report = _report(ctx, rows, files, time.perf_counter() - started)
            report.write(art / "report.json")
            render(report, art)
            write_checksums(art)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return ctx.out
