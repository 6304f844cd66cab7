"""The one compile loop, for every model family: plan → baseline → stages → lower → measure → artifact.

Everything that can be wrong with the input is checked in :func:`plan` before any work starts; what
differs between families (input checks, lowering, the accuracy that is measured, the artifact's model
files) is the family's :class:`~edgecompress.families.base.CompileFamily`.
"""

from __future__ import annotations

import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from edgecompress.artifact import atomic_directory, output_lock, sha256_file, write_checksums
from edgecompress.compile_inputs import environment
from edgecompress.config import load_recipe, load_target
from edgecompress.config.recipe import apply_overrides, check_family
from edgecompress.errors import InputError, StageFailed
from edgecompress.families.base import CompilePlan, LoweredModel, Measured
from edgecompress.families.policy import plan_policy
from edgecompress.families.smolvla import plan_smolvla
from edgecompress.families.yolo import plan_yolo, with_latency_budget
from edgecompress.models.base import ModelAdapter
from edgecompress.report import Report
from edgecompress.report.render import render
from edgecompress.stage_progress import FinishedStage, StageProgress, progress_key
from edgecompress.ui import status

PLANNERS = {"yolo": plan_yolo, "policy": plan_policy, "smolvla": plan_smolvla}
DEFAULT_RECIPES = {"yolo": "default", "policy": "vla-efficient", "smolvla": "fp32"}


def model_family(model: str | Path | None, family: str) -> str:
    """The family to compile ``model`` as: a folder is a LeRobot policy (SmolVLA), whatever ``family`` says.

    Checkpoints of the other families are files; a folder without a SmolVLA ``config.json`` is refused
    here with one clear line.
    """
    if model is not None and Path(model).is_dir():
        from edgecompress.models.smolvla import read_policy_config

        read_policy_config(Path(model))
        return "smolvla"
    return family


def plan(
    model: str | Path,
    data: str | Path | None,
    target: str | Path = "x86-cpu",
    recipe: str | Path | None = None,
    precision: str | None = None,
    out: str | Path | None = None,
    imgsz: int | None = None,
    overrides: list[str] | None = None,
    force: bool = False,
    command: str = "",
    budget_ms: float | None = None,
    resume: bool = False,
    family: str = "yolo",
) -> CompilePlan:
    """Validate every input and return the plan of the compile; raises InputError on bad input."""
    family = model_family(model, family)
    if family not in PLANNERS:
        raise InputError(f"unknown model family {family!r}", f"use one of: {', '.join(PLANNERS)}")
    profile = load_target(target)
    the_recipe = apply_overrides(load_recipe(recipe or DEFAULT_RECIPES[family]), overrides or [])
    check_family(the_recipe, family)
    if budget_ms is not None:
        if family != "yolo":
            raise InputError("--budget-ms is for detectors", "drop --budget-ms for --family policy")
        the_recipe = with_latency_budget(the_recipe, budget_ms)
    out_dir = Path(out) if out else Path("runs") / f"{Path(model).stem}-{profile.name}"
    parts, adapter, chosen, size = PLANNERS[family](
        model, data or "", profile, the_recipe, precision, imgsz, out_dir, force
    )
    return CompilePlan(
        parts, adapter, profile, the_recipe, chosen, size, Path(data or ""), out_dir, force, command, resume
    )


def _baseline_rows(plan: CompilePlan, build: Path) -> list[Measured]:
    """The original model in PyTorch and, unless it equals the result, lowered at FP32."""
    if not plan.recipe.measure.baseline:
        return []
    original, family = plan.adapter, plan.family
    rows = [Measured("original", "original", family.torch_runtime(plan, original), original)]
    if plan.precision != "fp32" or plan.recipe.stages:
        status(f"lowering baseline: {plan.target.backend} fp32")
        started = time.perf_counter()
        runtime = family.lower(plan, original, build / "baseline").runtime
        rows.append(Measured("baseline", "baseline", runtime, original, None, time.perf_counter() - started))
    return rows


def _run_stages(plan: CompilePlan, build: Path) -> tuple[ModelAdapter, list[Measured]]:
    """Run the recipe stages; each result is saved as the family's checkpoint, reloaded, lowered at FP32.

    Finished stages are recorded in the work folder; with ``plan.resume`` they are reloaded, not rerun.
    A pass that refuses its settings for this model (ValueError) stops the compile with StageFailed.
    """
    from edgecompress.passes import PASSES

    key = progress_key(plan.adapter.fingerprint(), plan.recipe.stages, plan.imgsz, plan.data)
    progress = StageProgress(build, key)
    adapter, measured = plan.adapter, []
    for index, stage in enumerate(plan.recipe.stages, start=1):
        cls = PASSES[stage["pass"]]
        stage_dir = build / f"stage{index}-{cls.name}"
        done = progress.get(index) if plan.resume else None
        if done:
            status(f"stage {index}: {cls.name} (finished earlier, reloaded)")
            adapter = type(adapter).load(done.checkpoint)
        else:
            status(f"stage {index}: {cls.name}")
            started = time.perf_counter()
            settings = {k: v for k, v in stage.items() if k != "pass"}
            context = plan.family.pass_context(plan, adapter, stage_dir)
            try:
                result = cls(cls.Config.model_validate(settings)).run(adapter.editable(), context)
            except ValueError as exc:
                raise StageFailed(
                    f"stage {index} ({cls.name}): {exc}", "change the stage's settings"
                ) from exc
            adapter = adapter.with_model(result.model, stage_dir / "result.pt")
            done = FinishedStage(
                index, cls.name, str(adapter.checkpoint), result.details, time.perf_counter() - started
            )
            progress.record(done)
        runtime = plan.family.lower(plan, adapter, stage_dir).runtime
        measured.append(
            Measured(f"{index}. {cls.name}", "stage", runtime, adapter, done.details, done.wall_s)
        )
    return adapter, measured


def _report(
    plan: CompilePlan, rows: list, data_info: Any, result: LoweredModel, files: dict, wall: float
) -> Report:
    return Report(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=plan.command or " ".join(sys.argv),
        model=plan.family.model_info(plan),
        target=plan.target.model_dump(),
        recipe=plan.recipe.model_dump(),
        precision=plan.precision,
        environment=environment(),
        data=data_info,
        calibration=result.calibration,
        rows=rows,
        artifact_files=files,
        total_wall_s=wall,
    )


def run(plan: CompilePlan) -> Path:
    """Run the compile described by ``plan`` and return the artifact folder.

    Intermediate files live in ``<out>.work/``; it is kept after a failure of a compile with stages
    (for ``--resume``) and removed otherwise.
    """
    with output_lock(plan.out):
        return _run_locked(plan)


def _run_locked(plan: CompilePlan) -> Path:
    started = time.perf_counter()
    build = plan.out.resolve().with_name(f"{plan.out.name}.work")
    if not plan.resume:
        shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_directory(plan.out, plan.force) as art:
            measured = _baseline_rows(plan, build)
            final, stage_rows = _run_stages(plan, build)
            lowering = time.perf_counter()
            result = plan.family.lower_result(plan, final, build, art)
            result_row = Measured(
                "result",
                "result",
                result.runtime,
                final,
                result.lowered.details,
                time.perf_counter() - lowering,
            )
            rows, data_info = plan.family.measure(plan, [*measured, *stage_rows, result_row])
            plan.family.write_files(plan, art, final, result)
            (art / "recipe.yaml").write_text(yaml.safe_dump(plan.recipe.model_dump(), sort_keys=False))
            (art / "target.yaml").write_text(yaml.safe_dump(plan.target.model_dump(), sort_keys=False))
            files = {p.relative_to(art).as_posix(): sha256_file(p) for p in result.lowered.files}
            report = _report(plan, rows, data_info, result, files, time.perf_counter() - started)
            report.write(art / "report.json")
            render(report, art)
            write_checksums(art)
    except BaseException:
        if not plan.recipe.stages:
            shutil.rmtree(build, ignore_errors=True)
        raise
    shutil.rmtree(build, ignore_errors=True)
    return plan.out


def compile_model(**kwargs: Any) -> Path:
    """Validate, then compile; see :func:`plan` for the arguments."""
    return run(plan(**kwargs))


__all__ = ["CompilePlan", "compile_model", "plan", "run"]
