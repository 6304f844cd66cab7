"""Multi-GPU DDP: Ultralytics pickles the trainer class (cloudpickle) and trains in fresh interpreters.

No GPU is needed to check the handoff itself: the state file Ultralytics' own launcher writes is
loaded in a new interpreter as its DDP worker script does, and the worker's trainer must still
carry the stage's settings (sparsity penalty, CWD temperature) and swap in the CWD loss when it
trains.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

# The loading lines of the worker script that ultralytics.utils.dist.generate_ddp_file writes; the
# training loop is stopped where it would build the model, after the trainer's own setup ran.
WORKER = """
import json, sys
import ultralytics.engine.trainer as trainer_module
from ultralytics.utils import DEFAULT_CFG_DICT
from ultralytics.utils.patches import torch_load

state = torch_load(sys.argv[1], map_location="cpu")
cfg = DEFAULT_CFG_DICT.copy()
cfg.update(save_dir="")
trainer = state["trainer"](cfg=cfg, overrides=state["args"], _callbacks=state["callbacks"])
seen = {"penalty": getattr(type(trainer), "penalty", None)}

class Stop(Exception):
    pass

def setup_train():
    seen["distillation_model"] = trainer_module.DistillationModel.__name__
    seen["tau"] = getattr(trainer_module.DistillationModel, "tau", None)
    raise Stop

trainer._setup_train = setup_train
try:
    trainer._do_train()
except Stop:
    pass
print(json.dumps(seen, default=lambda o: f"{o.__module__}.{o.__qualname__}"))
"""


def _worker_sees(trainer_cls, overrides: dict, tmp_path: Path, monkeypatch) -> dict:
    import ultralytics.utils.dist as dist

    monkeypatch.setattr(dist, "USER_CONFIG_DIR", tmp_path)
    trainer = trainer_cls(overrides=overrides)
    script = Path(dist.generate_ddp_file(trainer))
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(script.with_suffix(".pt"))],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def overrides(tmp_path, demo_model, tiny_digits):
    from edgecompress.passes.distill import DistillConfig
    from edgecompress.passes.training import resolved_data_yaml, train_overrides

    data = resolved_data_yaml(tiny_digits, tmp_path / "data")
    return train_overrides(DistillConfig(epochs=1), demo_model, data, tmp_path / "work", 160)


def test_cwd_settings_reach_the_ddp_worker(overrides, demo_model, tmp_path, monkeypatch):
    from edgecompress.models.yolo_training import DistillationTrainer, configured

    overrides.update({"distill_model": str(demo_model), "dis": 1.0})
    seen = _worker_sees(configured(DistillationTrainer, tau=2.5), overrides, tmp_path, monkeypatch)
    assert seen["distillation_model"] == "CWDDistillationModel"
    assert seen["tau"] == 2.5


def test_sparsity_penalty_reaches_the_ddp_worker(overrides, tmp_path, monkeypatch):
    from edgecompress.models.yolo_training import SparsityTrainer, configured
    from edgecompress.passes.bn_prune import plan_for_settings

    penalty = {
        "lam": 0.05,
        "schedule": "linear",
        "prune": {"ratio": 0.5, "criterion": "uniform"},
        "planner": plan_for_settings,
    }
    seen = _worker_sees(configured(SparsityTrainer, penalty=penalty), overrides, tmp_path, monkeypatch)
    # the mask planner travels by reference (an importable function), the settings by value
    assert seen["penalty"] == {**penalty, "planner": "edgecompress.passes.bn_prune.plan_for_settings"}
