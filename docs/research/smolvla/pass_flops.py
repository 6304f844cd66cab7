"""FLOPs (split), parameters and PyTorch action agreement of each SmolVLA pass alone and combined.

Runs the package's passes on a policy folder (e.g. the one build_full.py writes) the way a compile does
(the same pass classes and settings as bench/recipes/smolvla-*.yaml, calibration on seeded synthetic
observations), without lowering. Usage: python docs/research/smolvla/pass_flops.py POLICY_FOLDER [RECIPE ...]
(recipe names without the ``smolvla-`` prefix, paths to recipe files, or inline stages such as
``"feature_cache interval=2 branches=mlp + token_prune keep=8"``; default: every one-pass recipe
and ``combined``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import yaml

from edgecompress.config import load_recipe
from edgecompress.models.smolvla import load_smolvla
from edgecompress.models.smolvla_export import StepGraph, cross_kv_in_prefix, example_inputs
from edgecompress.models.smolvla_flops import _count
from edgecompress.models.smolvla_observation import chunk_noise, random_observations
from edgecompress.passes import PASSES

RECIPES = [
    "layer-prune",
    "mlp-prune",
    "vision-prune",
    "resolution",
    "token-prune",
    "feature-cache",
    "combined",
]


def recipe_stages(name: str) -> list[dict]:
    """The stages of ``bench/recipes/smolvla-NAME.yaml``, of NAME if it is a recipe file, or of NAME
    written inline (``PASS key=value ... + PASS ...``, values read as YAML)."""
    if " " in name or "=" in name:
        stages = []
        for text in name.split(" + "):
            pass_name, *settings = text.split()
            values = (setting.split("=", 1) for setting in settings)
            stages.append({"pass": pass_name, **{k: yaml.safe_load(v) for k, v in values}})
        return stages
    path = Path(name) if name.endswith((".yaml", ".yml")) else Path("bench/recipes") / f"smolvla-{name}.yaml"
    return load_recipe(path).stages


def run_recipe(original, name: str) -> tuple:
    adapter = original.editable()
    meta = adapter.meta()
    context = SimpleNamespace(
        calibration=lambda n: random_observations(meta, n, seed=1), imgsz=adapter.input_size
    )
    details = []
    for stage in recipe_stages(name):
        cls = PASSES[stage["pass"]]
        settings = {k: v for k, v in stage.items() if k != "pass"}
        details.append(cls(cls.Config.model_validate(settings)).run(adapter, context).details)
    return adapter, details


def agreement(reference: list, adapter, observations, noise) -> float:
    predict = adapter.torch_predict()
    return float(
        np.mean([np.mean((predict(o, noise) - r) ** 2) for o, r in zip(observations, reference, strict=True)])
    )


def main(folder: Path, recipes: list[str]) -> None:
    torch.set_num_threads(2)
    original = load_smolvla(folder)
    meta = original.meta()
    observations, noise = random_observations(meta, 2, seed=0), chunk_noise(meta, seed=0)
    predict = original.torch_predict()
    reference = [predict(o, noise) for o in observations]
    spread = float(np.mean((reference[0] - reference[1]) ** 2))
    _, step = example_inputs(original)
    with torch.no_grad():
        raw_step = _count(StepGraph(original), *step) / 1e9
        with cross_kv_in_prefix(original.policy):
            hoisted_step = _count(StepGraph(original), *step) / 1e9
    rows = {
        "baseline": {"params_m": original.params() / 1e6, "gflops": original.flops(), "action_mse": 0.0},
        "step_gflops_lerobot": raw_step,
        "step_gflops_cross_kv_in_prefix": hoisted_step,
        "action_mse_between_two_observations": spread,
    }
    print(json.dumps(rows, indent=1), flush=True)
    for name in recipes:
        started = time.perf_counter()
        adapter, details = run_recipe(original, name)
        rows[name] = {
            "params_m": adapter.params() / 1e6,
            "gflops": adapter.flops(),
            "action_mse": agreement(reference, adapter, observations, noise),
            "details": details,
            "wall_s": time.perf_counter() - started,
        }
        print(name, json.dumps(rows[name]), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or RECIPES)
