"""Recovery training of a compressed tiny SmolVLA (LeRobot's own code) on demonstrations, and the
``--data`` checks of a SmolVLA compile: one error line each.

Runs whenever lerobot 0.4.4 is installed (the README's test command installs it); skips only without it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from edgecompress.cli import main
from edgecompress.models.lerobot_compat import INSTALL, lerobot_version

NO_LEROBOT = f"lerobot is not installed ({INSTALL})"
pytestmark = [pytest.mark.integration, pytest.mark.skipif(lerobot_version() is None, reason=NO_LEROBOT)]


@pytest.fixture(scope="module")
def reaching(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A tiny SmolVLA of 3 self/cross pairs for the reaching demos, its codec.json and the demos."""
    from edgecompress.testing.policy import write_reaching_demos
    from edgecompress.testing.smolvla import write_reaching_smolvla

    root = tmp_path_factory.mktemp("reaching")
    policy = write_reaching_smolvla(root / "policy", num_vlm_layers=6)
    return SimpleNamespace(policy=policy, demos=write_reaching_demos(root / "demos.npz"))


def _context(folder: Path, demos_path: Path) -> SimpleNamespace:
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.models.smolvla_data import load_smolvla_demos

    adapter = load_smolvla(folder)
    demos = load_smolvla_demos(demos_path, adapter.meta(), folder)
    context = SimpleNamespace(calibration=demos.calibration, imgsz=0, demonstrations=demos, teacher=folder)
    return SimpleNamespace(adapter=adapter, demos=demos, context=context)


def test_policy_finetune_lowers_the_held_out_loss_of_a_layer_pruned_smolvla(
    reaching: SimpleNamespace,
) -> None:
    import torch

    from edgecompress.passes.layer_prune import LayerPruneConfig, LayerPrunePass
    from edgecompress.passes.policy_finetune import PolicyFinetuneConfig, PolicyFinetunePass

    tiny = _context(reaching.policy, reaching.demos)
    adapter = tiny.adapter.editable()
    LayerPrunePass(LayerPruneConfig(layers=1, calibration=4)).run(adapter, tiny.context)
    assert len(adapter.policy.model.vlm_with_expert.lm_expert.layers) == 4
    untouched = {k: v.clone() for k, v in tiny.adapter.policy.state_dict().items()}
    settings = PolicyFinetuneConfig(steps=12, batch=16, lr=1e-3, warmup=2, held_out=48)
    details = PolicyFinetunePass(settings).run(adapter, tiny.context).details
    assert details["steps"] == 12 and details["held_out_frames"] == 48 and details["train_frames"] == 240
    assert details["held_out_loss_after"] < 0.9 * details["held_out_loss_before"]
    assert details["trained_params"] > 0 and not adapter.policy.training
    teacher = tiny.adapter.policy.state_dict()  # the compile's original model is left as it was
    assert all(torch.equal(teacher[k], v) for k, v in untouched.items())


def test_distillation_adds_the_teachers_chunk_term_and_token_pruning_trains_the_pruned_prefix(
    reaching: SimpleNamespace,
) -> None:
    from edgecompress.passes.policy_finetune import PolicyFinetuneConfig, PolicyFinetunePass
    from edgecompress.passes.token_prune import TokenPruneConfig, TokenPrunePass

    tiny = _context(reaching.policy, reaching.demos)
    adapter = tiny.adapter.editable()
    TokenPrunePass(TokenPruneConfig(after_layer=2, keep=2, keep_top=1)).run(adapter, tiny.context)
    settings = PolicyFinetuneConfig(steps=2, batch=8, distill=0.5, held_out=16)
    details = PolicyFinetunePass(settings).run(adapter, tiny.context).details
    assert details["distill"] == 0.5 and details["token_pruning"] == "on" and details["steps"] == 2
    assert adapter.loop.token_pruning is not None  # the inference-time setting is kept


def test_the_pruned_prefix_loss_keeping_every_token_is_lerobots_loss(reaching: SimpleNamespace) -> None:
    import torch

    from edgecompress.models.smolvla_settings import TokenPruning
    from edgecompress.models.smolvla_training import fixed_draw, flow_loss

    tiny = _context(reaching.policy, reaching.demos)
    policy, demos = tiny.adapter.policy, tiny.demos
    batch = next(demos.batches(demos.val, 4, seed=0))
    noise, times = fixed_draw(4, policy.config.chunk_size, policy.config.max_action_dim)
    everything = TokenPruning(after_layer=2, keep=tiny.adapter.visual_tokens_per_camera(), keep_top=1)
    with torch.no_grad():
        lerobot, _ = policy.forward(batch, noise=noise, time=times)
        pruned_path = flow_loss(policy, batch, noise, times, everything)
    torch.testing.assert_close(pruned_path, lerobot, rtol=1e-4, atol=1e-6)


def test_demos_become_lerobot_batches_and_observations_through_the_codec(reaching: SimpleNamespace) -> None:
    tiny = _context(reaching.policy, reaching.demos)
    demos, codec = tiny.demos, tiny.demos.codec
    batch = next(demos.batches(demos.train, 5, seed=0))
    assert batch["observation.images.top"].shape == (5, 3, 16, 16)
    assert float(batch["observation.images.top"].max()) <= 1.0
    assert batch["action"].shape == (5, 8, 4) and batch["observation.language.tokens"].shape == (5, 8)
    tokens, mask = codec.tokens("reach the red square", 8)
    assert mask.sum() == 4 and (tokens[0, 4:] == codec.pad_id).all()
    train = demos.train
    np.testing.assert_allclose(codec.unaction(codec.action(train.actions)), train.actions, atol=1e-5)
    observation = demos.calibration(3)[0]
    assert observation.images[0].shape == (1, 3, 16, 16) and observation.state.shape == (1, 4)


def test_compile_with_data_trains_scores_on_held_out_frames_and_keeps_the_codec(
    reaching: SimpleNamespace, tmp_path: Path
) -> None:
    from edgecompress.report import Report

    recipe = tmp_path / "prune-ft.yaml"
    recipe.write_text(
        "stages:\n  - pass: policy_finetune\n    steps: 3\n    batch: 8\n    lr: 0.001\n    held_out: 16\n"
        "measure:\n  baseline: false\n  frames: 2\n"
    )
    out = tmp_path / "art"
    command = ["compile", str(reaching.policy), "--data", str(reaching.demos), "--recipe", str(recipe)]
    assert main([*command, "--target", "x86-cpu-ort", "--out", str(out), "--quiet"]) == 0
    report = Report.read(out / "report.json")
    assert [row.name for row in report.rows] == ["1. policy_finetune", "result"]
    assert report.data is not None and report.data.split == "val" and report.data.images == 2
    trained = report.rows[0].details
    assert trained["steps"] == 3 and trained["held_out_frames"] == 16
    assert trained["held_out_loss_after"] < trained["held_out_loss_before"]
    assert (out / "model" / "codec.json").read_bytes() == (reaching.policy / "codec.json").read_bytes()


def test_smolvla_data_errors_are_one_line_and_exit_code_2(
    reaching: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import shutil

    def compile_(model: Path, data: Path | None, *extra: str) -> tuple[int, str]:
        given = ["--data", str(data)] if data else []
        code = main(["compile", str(model), *given, "--out", str(tmp_path / "out"), *extra])
        return code, capsys.readouterr().err

    arrays = dict(np.load(reaching.demos))
    wide = tmp_path / "wide.npz"
    np.savez(wide, **{**arrays, "states": np.zeros((len(arrays["states"]), 7), np.float32)})
    small = tmp_path / "small.npz"
    np.savez(small, **{**arrays, "images": arrays["images"][:, :8, :8]})
    words = tmp_path / "words.npz"
    np.savez(words, **{**arrays, "instructions": np.asarray(["reach the red square", "grasp the mug"])})
    bare = Path(shutil.copytree(reaching.policy, tmp_path / "bare"))
    (bare / "codec.json").unlink()
    broken = Path(shutil.copytree(reaching.policy, tmp_path / "broken"))
    (broken / "codec.json").write_text(json.dumps({"vocab": []}))
    recipe = tmp_path / "ft.yaml"
    recipe.write_text("stages:\n  - pass: policy_finetune\n    steps: 1\n")
    cases = [
        (compile_(reaching.policy, tmp_path / "none.npz"), "demonstrations not found"),
        (compile_(bare, reaching.demos), "has no codec.json"),
        (compile_(broken, reaching.demos), "is not a codec"),
        (compile_(reaching.policy, wide), "state sizes differ: demonstrations 7, codec.json 4/4, policy 4"),
        (compile_(reaching.policy, small), "takes 16x16x3"),
        (compile_(reaching.policy, words), "has words codec.json does not know: grasp, mug"),
        (
            compile_(reaching.policy, None, "--recipe", str(recipe)),
            "(policy_finetune) trains on demonstrations",
        ),
    ]
    for (code, err), message in cases:
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert not (tmp_path / "out").exists()
