"""LeRobot's SmolVLA end to end on a tiny config built offline: round trip, lowering, compile, bad input.

Runs whenever the ``[lerobot]`` extra and lerobot 0.4.4 are installed (the README's test command
installs both); skips only without lerobot.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgecompress.cli import main
from edgecompress.errors import InputError
from edgecompress.models.lerobot_compat import INSTALL, lerobot_version

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(lerobot_version() is None, reason=f"lerobot is not installed ({INSTALL})"),
]
TOLERANCE = 1e-4  # largest |action difference| of a lowered graph vs PyTorch (measured: ~4e-6)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgecompress.testing.smolvla import write_tiny_smolvla

    return write_tiny_smolvla(tmp_path_factory.mktemp("smolvla") / "policy")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """x86-cpu with a short latency run (timings are not asserted)."""
    import yaml

    from edgecompress.config import load_target

    profile = load_target("x86-cpu").model_dump()
    profile["latency"] = {**profile["latency"], "warmup": 1, "iterations": 3}
    path = tmp_path_factory.mktemp("target") / "x86-cpu-short.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def test_save_and_load_round_trip_keeps_every_weight_and_the_actions(tiny: Path, tmp_path: Path) -> None:
    import torch

    from edgecompress.models.smolvla import SmolVLAAdapter
    from edgecompress.models.smolvla_observation import chunk_noise, random_observations

    adapter = SmolVLAAdapter.load(tiny)
    meta = adapter.meta()
    assert meta["cameras"] == ["observation.images.top"] and meta["chunk_size"] == 8
    copy = adapter.with_model(adapter.policy, tmp_path / "copy")
    assert json.loads((copy.checkpoint / "config.json").read_text())["type"] == "smolvla"
    weights, loaded = adapter.policy.state_dict(), copy.policy.state_dict()
    assert weights.keys() == loaded.keys()
    assert all(torch.equal(weights[k], loaded[k]) for k in weights)
    observation, noise = random_observations(meta, 1)[0], chunk_noise(meta)
    actions = adapter.torch_predict()(observation, noise)
    assert actions.shape == (1, 8, 6) and np.isfinite(actions).all()
    assert np.array_equal(actions, copy.torch_predict()(observation, noise))


def test_flops_split_adds_up_and_the_expert_scales_with_the_denoising_steps(tmp_path: Path) -> None:
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.testing.smolvla import write_tiny_smolvla

    three = load_smolvla(write_tiny_smolvla(tmp_path / "a", num_steps=3)).flops()
    six = load_smolvla(write_tiny_smolvla(tmp_path / "b", num_steps=6)).flops()
    assert min(three.values()) > 0
    assert three["vision"] + three["vlm"] + three["expert"] == pytest.approx(three["total"])
    assert six["expert"] == pytest.approx(2 * three["expert"])
    assert six["vision"] == pytest.approx(three["vision"]) and six["vlm"] == pytest.approx(three["vlm"])


def test_weights_that_do_not_match_the_config_are_one_input_error(tiny: Path, tmp_path: Path) -> None:
    from edgecompress.models.smolvla import load_smolvla

    folder = Path(shutil.copytree(tiny, tmp_path / "edited"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "expert_width_multiplier": 0.5}))
    with pytest.raises(InputError, match=r"model\.safetensors"):
        load_smolvla(folder)
    (folder / "config.json").write_text(json.dumps({**config, "vlm_model_name": "someone/else"}))
    with pytest.raises(InputError, match="unknown SmolVLA backbone"):
        load_smolvla(folder)


def test_lowered_graphs_on_onnx_runtime_agree_with_pytorch(tiny: Path, tmp_path: Path) -> None:
    from edgecompress.config import load_target
    from edgecompress.families.smolvla import lower_smolvla
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.models.smolvla_observation import chunk_noise, random_observations
    from edgecompress.runtime.smolvla import load_smolvla_runtime

    adapter, profile = load_smolvla(tiny), load_target("x86-cpu-ort")
    lower_smolvla(adapter, tmp_path / "ort", profile, loop="python")
    files = lower_smolvla(adapter, tmp_path / "ort-chunk", profile)  # the default
    assert sorted(path.name for path in files) == ["chunk.onnx", "chunk.onnx.data", "smolvla.json"]
    runtimes = [load_smolvla_runtime(tmp_path / name, profile) for name in ("ort", "ort-chunk")]
    assert set(runtimes[1].graphs) == {"chunk"}
    observations, noise = random_observations(adapter.meta(), 3, seed=7), chunk_noise(adapter.meta(), 1)
    expected = [adapter.torch_predict()(o, noise) for o in observations]
    for observation, actions in zip(observations, expected, strict=True):
        for runtime in runtimes:  # the Euler loop in Python, and unrolled in one graph
            assert np.abs(runtime(observation, noise) - actions).max() < TOLERANCE
    # the observations matter (else agreement would prove nothing): they move the actions far more
    assert np.abs(expected[0] - expected[1]).max() > 100 * TOLERANCE


def test_compile_writes_a_measured_artifact_that_loads(tiny: Path, target: Path, tmp_path: Path) -> None:
    from edgecompress import load
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.models.smolvla_observation import chunk_noise, random_observations
    from edgecompress.report import Report
    from edgecompress.runtime.smolvla import SmolVLARuntime

    out = tmp_path / "art"
    command = ["compile", str(tiny), "--family", "policy", "--target", str(target), "--out", str(out)]
    assert main([*command, "--quiet"]) == 0
    report = Report.read(out / "report.json")
    assert [row.name for row in report.rows] == ["original", "result"]
    assert report.model.family == "smolvla" and report.recipe["stages"] == []
    adapter = load_smolvla(tiny)
    original, result = report.rows
    assert result.measured_on.runtime == "openvino" and result.measured_on.threads == 2
    assert result.latency is not None and result.latency.p50_ms > 0 and result.latency.iterations == 3
    assert result.params == original.params == adapter.params()
    assert result.gflops == pytest.approx(adapter.flops()["total"], rel=1e-6) and result.gflops > 0
    split = result.details["gflops_split"]
    assert split["vision"] > 0 and split["expert"] > 0
    assert result.policy is not None and result.policy.reference == "original"
    assert result.policy.frames == 4 and result.policy.action_mse < TOLERANCE**2
    assert result.details["action_max_abs_diff"] < TOLERANCE
    assert (out / "model" / "model.safetensors").is_file() and (out / "report.md").is_file()
    runtime = load(out)
    assert isinstance(runtime, SmolVLARuntime)
    assert set(runtime.graphs) == {"chunk"} and runtime.meta["loop"] == "graph"  # the default loop
    observation, noise = random_observations(adapter.meta(), 1, seed=11)[0], chunk_noise(adapter.meta(), 5)
    assert np.abs(runtime(observation, noise) - adapter.torch_predict()(observation, noise)).max() < TOLERANCE


def test_bad_smolvla_input_is_one_error_line_and_exit_code_2(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def compile_(model: Path, *extra: str) -> tuple[int, str]:
        code = main(["compile", str(model), "--family", "policy", "--out", str(tmp_path / "out"), *extra])
        return code, capsys.readouterr().err

    empty = tmp_path / "empty"
    empty.mkdir()
    act = Path(shutil.copytree(tiny, tmp_path / "act"))
    config = json.loads((act / "config.json").read_text())
    (act / "config.json").write_text(json.dumps({**config, "type": "act"}))
    cases = [
        (compile_(empty), "has no config.json"),
        (compile_(act), "is a act config, not a SmolVLA policy"),
        (compile_(tiny, "--recipe", "yolo-prune50"), "does not apply to smolvla models"),
        (compile_(tiny, "--data", str(tmp_path / "demos.npz")), "demonstrations not found"),
        (compile_(tiny, "--precision", "int8"), "lowered at fp32"),
    ]
    monkeypatch.setattr("edgecompress.models.lerobot_compat.lerobot_version", lambda: None)
    cases.append((compile_(tiny), "need LeRobot, which is not installed"))
    for (code, err), message in cases:
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "pip install --no-deps lerobot==0.4.4" in cases[-1][0][1]
    assert not (tmp_path / "out").exists()


def test_cross_layer_projections_of_the_cache_run_once_in_the_prefix_with_the_same_velocity(
    tiny: Path,
) -> None:
    import torch

    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.models.smolvla_export import StepGraph, cross_kv_in_prefix, cross_layers, example_inputs
    from edgecompress.models.smolvla_flops import _count

    adapter = load_smolvla(tiny)
    model = adapter.policy.model
    assert cross_layers(adapter.policy) == [1, 3]  # self-attention on even layers, cross on odd
    prefix, (x_t, time, keys, values, pad) = example_inputs(adapter)
    with torch.no_grad():  # LeRobot's own step on the raw cache: the PrefixGraph's raw keys for self layers
        _, cache = model.vlm_with_expert.forward(**_prefix_call(adapter, prefix))
        raw = {i: cache[i] for i in cache}
        expected = model.denoise_step(pad, raw, x_t, time)
        assert torch.equal(keys[0], raw[0]["key_states"]) and not torch.equal(keys[1], raw[1]["key_states"])
        with cross_kv_in_prefix(adapter.policy):
            hoisted = StepGraph(adapter)(x_t, time, keys, values, pad)
            hoisted_flops = _count(StepGraph(adapter), x_t, time, keys, values, pad)
    torch.testing.assert_close(hoisted, expected, atol=1e-5, rtol=1e-5)
    assert hoisted_flops < _count(StepGraph(adapter), x_t, time, keys, values, pad)
    assert isinstance(model.vlm_with_expert.lm_expert.layers[1].self_attn.k_proj, torch.nn.Linear)  # restored


def _prefix_call(adapter: object, prefix: tuple) -> dict:
    """The arguments PrefixGraph gives SmolVLMWithExpertModel.forward, for LeRobot's raw cache."""
    import torch
    from lerobot.policies.smolvla.modeling_smolvla import make_att_2d_masks

    policy = adapter.policy  # type: ignore[attr-defined]
    tokens, masks, state, *images = prefix
    batch = dict(zip(adapter.cameras(), images, strict=True))  # type: ignore[attr-defined]
    batch["observation.state"] = state
    images_, image_masks = policy.prepare_images(batch)
    embeddings, pad, att = policy.model.embed_prefix(
        images_, image_masks, tokens, masks, state=policy.prepare_state(batch)
    )
    return {
        "attention_mask": make_att_2d_masks(pad, att),
        "position_ids": torch.cumsum(pad, dim=1) - 1,
        "past_key_values": None,
        "inputs_embeds": [embeddings, None],
        "use_cache": True,
        "fill_kv_cache": True,
    }
