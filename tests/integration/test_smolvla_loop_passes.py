"""``token_prune`` and ``feature_cache`` on a tiny SmolVLA (LeRobot's own code, two cameras of 16 visual
tokens each): what they keep and reuse, against LeRobot's policy and a reimplementation, the FLOPs,
the save/reload round trip and the lowered graphs.

Runs whenever lerobot 0.4.4 is installed (the README's test command installs it); skips only without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from edgecompress.models.lerobot_compat import INSTALL, lerobot_version

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(lerobot_version() is None, reason=f"lerobot is not installed ({INSTALL})"),
]
TOKENS = 16  # visual tokens per camera: 64 px, 8 px patches, connector scale 2
TOLERANCE = 1e-4  # lowered graphs vs PyTorch (measured: ~5e-6)


@pytest.fixture(scope="module")
def two_cameras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SmolVLA with two 48x64 cameras resized to 64 px (16 visual tokens each), 4 layer pairs."""
    from lerobot.configs.types import FeatureType, PolicyFeature

    from edgecompress.testing.smolvla import write_tiny_smolvla

    features = {
        f"observation.images.{name}": PolicyFeature(type=FeatureType.VISUAL, shape=(3, 48, 64))
        for name in ("top", "wrist")
    }
    features["observation.state"] = PolicyFeature(type=FeatureType.STATE, shape=(6,))
    return write_tiny_smolvla(
        tmp_path_factory.mktemp("smolvla") / "policy",
        vision={"image_size": 64},
        input_features=features,
        resize_imgs_with_padding=(64, 64),
    )


def _load(folder: Path) -> SimpleNamespace:
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.models.smolvla_observation import chunk_noise, random_observations

    adapter = load_smolvla(folder)
    meta = adapter.meta()
    observation, noise = random_observations(meta, 1, seed=5)[0], chunk_noise(meta)
    return SimpleNamespace(
        adapter=adapter,
        context=SimpleNamespace(calibration=lambda count: random_observations(meta, count, seed=1), imgsz=0),
        observation=observation,
        noise=noise,
        act=lambda a: a.torch_predict()(observation, noise),
    )


def _run(pass_name: str, adapter: Any, context: Any, **settings: Any) -> dict[str, Any]:
    from edgecompress.passes import PASSES

    cls = PASSES[pass_name]
    return cls(cls.Config.model_validate(settings)).run(adapter, context).details


def test_token_prune_keeping_every_token_is_lerobots_policy_and_pruning_shortens_the_late_cache(
    two_cameras: Path, tmp_path: Path
) -> None:
    from edgecompress.models.smolvla_export import PrefixGraph, example_inputs, prefix_inputs

    tiny = _load(two_cameras)
    original, before = tiny.adapter, tiny.act(tiny.adapter)
    every = original.editable()
    details = _run("token_prune", every, tiny.context, after_layer=2, keep=TOKENS)
    assert details == {"visual_tokens": TOKENS, "kept_tokens": TOKENS, "after_layer": 2}
    assert np.array_equal(tiny.act(every), before)  # the package's loop, nothing pruned: LeRobot's actions

    pruned = original.editable()
    details = _run("token_prune", pruned, tiny.context, after_layer=2, keep=0.25, keep_top=2)
    assert details["kept_tokens"] == 4
    prefix = 2 * TOKENS + 8 + 1  # two cameras, the task (8 tokens), the state token
    with torch.no_grad():
        outputs = PrefixGraph(pruned)(*prefix_inputs(pruned, tiny.observation))
    keys, values, pad, late_keys, late_values, kept_pad = outputs
    assert keys.shape[:3] == values.shape[:3] == (2, 1, prefix) and pad.shape == (1, prefix)
    # after layer 2: 4 of 16 tokens per camera, every task and state token, each with its own pad entry
    assert late_keys.shape[:3] == late_values.shape[:3] == (2, 1, prefix - 2 * 12)
    assert kept_pad.shape == (1, prefix - 24)
    assert torch.equal(kept_pad[:, 8:], pad[:, 32:])  # the task's padding stays masked
    assert len(example_inputs(pruned)[1]) == 2 + 6  # the step graph takes both caches
    flops, smaller = original.flops(), pruned.flops()
    assert smaller["vision"] == flops["vision"] and smaller["vlm"] < flops["vlm"]
    assert smaller["expert"] < flops["expert"]  # the expert attends to the shorter cache after the cut
    actions = tiny.act(pruned)
    assert np.isfinite(actions).all() and not np.allclose(actions, before, atol=1e-3)
    saved = pruned.with_model(pruned, tmp_path / "pruned")
    record = json.loads((saved.checkpoint / "compression.json").read_text())
    assert record["token_pruning"] == {"after_layer": 2, "keep": 4, "keep_top": 2}
    assert saved.loop == pruned.loop and np.array_equal(tiny.act(saved), actions)


def test_token_prune_keeps_the_tokens_the_task_attends_to_in_smolvlas_own_attention(
    two_cameras: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``keep_top == keep`` the kept tokens are each camera's top-attended ones; the attention is
    recomputed here from the arguments of LeRobot's attention call in layer 2 of its own prefix pass."""
    from lerobot.policies.smolvla.smolvlm_with_expert import SmolVLMWithExpertModel

    from edgecompress.models.smolvla_loop import prefix_cache

    tiny = _load(two_cameras)
    calls: list[tuple[torch.Tensor, ...]] = []
    attend = SmolVLMWithExpertModel.eager_attention_forward

    def recording(self: Any, mask: Any, batch: int, head_dim: int, query: Any, key: Any, value: Any) -> Any:
        calls.append((mask, query, key))
        return attend(self, mask, batch, head_dim, query, key, value)

    monkeypatch.setattr(SmolVLMWithExpertModel, "eager_attention_forward", recording)
    tiny.act(tiny.adapter)  # LeRobot's predict_action_chunk: the prefix pass calls it once per layer first
    monkeypatch.undo()
    mask, query, key = calls[1]
    heads, kv_heads = query.shape[2], key.shape[2]
    key = key[:, :, :, None].expand(-1, -1, -1, heads // kv_heads, -1).flatten(2, 3)
    logits = torch.einsum("bqhd,bkhd->bhqk", query, key) / query.shape[-1] ** 0.5
    probs = logits.masked_fill(~mask[:, None], float("-inf")).softmax(-1).mean(1)  # (B, query, key)
    task_mask = torch.from_numpy(tiny.observation.mask)
    queries = torch.cat([task_mask, torch.ones(1, 1, dtype=torch.bool)], dim=1)
    received = probs[:, 2 * TOKENS :][queries].mean(0)  # over real task words and the state token
    expected = [
        sorted(received[start : start + TOKENS].topk(3).indices.add(start).tolist()) for start in (0, TOKENS)
    ]

    tiny.adapter.set_token_budget(2, 3, 3)
    policy, batch = tiny.adapter.policy, tiny.adapter.batch(tiny.observation)
    images, masks = policy.prepare_images(batch)
    tokens, state = batch["observation.language.tokens"], policy.prepare_state(batch)
    with torch.no_grad():
        pruning = tiny.adapter.loop.token_pruning
        prefix = prefix_cache(policy, images, masks, tokens, task_mask, state, pruning)
    assert prefix.kept is not None
    kept = prefix.kept[0].tolist()
    assert [kept[:3], kept[3:6]] == expected and kept[6:] == list(range(2 * TOKENS, 2 * TOKENS + 9))
    assert [p.shape[1] for p in prefix.pads] == [41, 41, 15, 15]
    assert prefix.cache[2]["key_states"].shape[1] == 15


def _reference_cached_chunk(adapter: Any, observation: Any, noise: np.ndarray, interval: int) -> np.ndarray:
    """Feature caching written independently: LeRobot's own ``denoise_step`` on full steps, with forward
    hooks recording each expert layer's attention (o_proj) and MLP outputs; a cached step adds those
    to the suffix embedding and runs only the final norm and the output projection."""
    from lerobot.policies.smolvla.modeling_smolvla import make_att_2d_masks

    policy = adapter.policy
    flow, model = policy.model, policy.model.vlm_with_expert
    batch = adapter.batch(observation)
    images, masks = policy.prepare_images(batch)
    tokens, task = batch["observation.language.tokens"], batch["observation.language.attention_mask"]
    recorded: dict[tuple[int, str], torch.Tensor] = {}
    handles = []
    for index, layer in enumerate(model.lm_expert.layers):
        for name, module in (("attention", layer.self_attn.o_proj), ("mlp", layer.mlp)):
            hook = lambda m, a, out, key=(index, name): recorded.__setitem__(key, out.clone())  # noqa: E731
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            embeddings, pad, att = flow.embed_prefix(
                images, masks, tokens, task, state=policy.prepare_state(batch)
            )
            _, cache = model.forward(
                attention_mask=make_att_2d_masks(pad, att), position_ids=torch.cumsum(pad, dim=1) - 1,
                past_key_values=None, inputs_embeds=[embeddings, None], use_cache=True, fill_kv_cache=True,
            )  # fmt: skip
            steps = policy.config.num_steps
            x, dt, stored = torch.from_numpy(noise), -1.0 / steps, {}
            for step in range(steps):
                time = torch.tensor(1.0 + step * dt, dtype=torch.float32).expand(1)
                if step % interval == 0:
                    velocity = flow.denoise_step(pad, cache, x, time)
                    stored = dict(recorded)
                else:
                    hidden = flow.embed_suffix(x, time)[0]
                    for index in range(len(model.lm_expert.layers)):
                        hidden = hidden + stored[index, "attention"] + stored[index, "mlp"]
                    velocity = flow.action_out_proj(
                        model.lm_expert.norm(hidden)[:, -policy.config.chunk_size :]
                    )
                x = x + dt * velocity
    finally:
        for handle in handles:
            handle.remove()
    return x[:, :, :6].numpy()


def test_feature_cache_reuses_the_expert_branches_of_the_last_full_step(
    two_cameras: Path, tmp_path: Path
) -> None:
    tiny = _load(two_cameras)
    original, before = tiny.adapter, tiny.act(tiny.adapter)
    flops = original.flops()

    every = original.editable()
    assert _run("feature_cache", every, tiny.context, interval=1)["full_steps"] == 3
    assert not every.loop.changed and np.array_equal(tiny.act(every), before)

    cached = original.editable()
    details = _run("feature_cache", cached, tiny.context, interval=2)
    assert details["full_steps"] == 2 and details["steps"] == 3 and details["layers"] == "all"
    actions = tiny.act(cached)
    reference = _reference_cached_chunk(original, tiny.observation, tiny.noise, interval=2)
    np.testing.assert_allclose(actions, reference, atol=1e-6)
    assert not np.allclose(actions, before, atol=1e-3)
    smaller = cached.flops()
    assert smaller["vision"] == flops["vision"] and smaller["vlm"] == flops["vlm"]
    # 2 full steps of 3; a cached step runs only the suffix embedding and the output projection
    assert 2 / 3 * flops["expert"] < smaller["expert"] < 0.7 * flops["expert"]

    mlp_only = original.editable()
    _run("feature_cache", mlp_only, tiny.context, interval=3, layers=[1, 3], branches="mlp")
    assert mlp_only.flops()["expert"] < flops["expert"] and not np.allclose(tiny.act(mlp_only), before)
    saved = mlp_only.with_model(mlp_only, tmp_path / "cached")
    record = json.loads((saved.checkpoint / "compression.json").read_text())["feature_cache"]
    assert record == {"interval": 3, "layers": [1, 3], "branches": "mlp"}
    assert saved.loop == mlp_only.loop and np.array_equal(tiny.act(saved), tiny.act(mlp_only))
    with pytest.raises(ValueError, match="not positions of the 4 expert layers"):
        _run("feature_cache", original.editable(), tiny.context, interval=2, layers=[4])


def test_structural_passes_must_come_before_the_loop_changes(two_cameras: Path) -> None:
    tiny = _load(two_cameras)
    _run("token_prune", tiny.adapter, tiny.context, after_layer=2, keep=4)
    with pytest.raises(ValueError, match="must run before token_prune and feature_cache"):
        _run("layer_prune", tiny.adapter, tiny.context, layers=1, calibration=1)
    with pytest.raises(ValueError, match="must run before"):
        _run("resolution", tiny.adapter, tiny.context, size=32)
    with pytest.raises(ValueError, match="leaves no layer"):
        _run("token_prune", tiny.adapter, tiny.context, after_layer=4, keep=4)


def test_pruned_and_cached_smolvla_lowers_to_graphs_that_agree_with_pytorch(
    two_cameras: Path, tmp_path: Path
) -> None:
    from edgecompress.config import load_target
    from edgecompress.families.smolvla import lower_smolvla
    from edgecompress.models.smolvla_observation import graph_meta, random_observations
    from edgecompress.runtime.smolvla import load_smolvla_runtime

    tiny = _load(two_cameras)
    adapter = tiny.adapter
    _run("token_prune", adapter, tiny.context, after_layer=2, keep=4, keep_top=2)
    _run("feature_cache", adapter, tiny.context, interval=2)
    profile = load_target("x86-cpu")
    files = {path.name for path in lower_smolvla(adapter, tmp_path / "graphs", profile, loop="python")}
    assert {"prefix.xml", "step.xml", "step_cached.xml"} <= files
    meta = graph_meta(tmp_path / "graphs")
    assert meta["cache_interval"] == 2 and meta["prefix_outputs"][3:] == [
        "keys_pruned",
        "values_pruned",
        "kept_pad",
    ]
    runtime, predict = load_smolvla_runtime(tmp_path / "graphs", profile), adapter.torch_predict()
    observations = random_observations(adapter.meta(), 2, seed=3)
    lowered = [runtime(o, tiny.noise) for o in observations]
    for observation, actions in zip(observations, lowered, strict=True):
        assert np.abs(actions - predict(observation, tiny.noise)).max() < TOLERANCE
    assert np.abs(lowered[0] - lowered[1]).max() > 1e-2
    # the same loop unrolled in one graph: both caches, both step graphs on their schedule
    lower_smolvla(adapter, tmp_path / "chunk", profile)  # the default
    chunk = load_smolvla_runtime(tmp_path / "chunk", profile)
    assert set(chunk.graphs) == {"chunk"}
    for observation, actions in zip(observations, lowered, strict=True):
        assert np.abs(chunk(observation, tiny.noise) - actions).max() < TOLERANCE
