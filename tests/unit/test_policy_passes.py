"""The policy passes on tiny seeded reference VLAs: what each removes, keeps and reuses."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from edgecompress.models.policy import PolicyAdapter, build_policy, layer_importance
from edgecompress.models.policy_data import Demonstrations
from edgecompress.models.vla.config import TokenPruning
from edgecompress.models.vla.head import full_steps, sample_actions
from edgecompress.models.vla.tokens import select_visual_tokens, split_budget
from edgecompress.passes.feature_cache import FeatureCacheConfig, FeatureCachePass
from edgecompress.passes.layer_prune import LayerPruneConfig, LayerPrunePass
from edgecompress.passes.mlp_prune import MlpPruneConfig, MlpPrunePass
from edgecompress.passes.token_prune import TokenPruneConfig, TokenPrunePass, token_budget
from edgecompress.testing.policy import reaching_demonstrations, tiny_vla_config


def _policy(**changes: object) -> PolicyAdapter:
    return PolicyAdapter(Path("tiny.pt"), build_policy(tiny_vla_config(**changes)).eval())


def _demos(episodes: int = 2) -> Demonstrations:
    return reaching_demonstrations(episodes=episodes, steps=4)


def _context(demos: Demonstrations) -> SimpleNamespace:
    return SimpleNamespace(calibration=lambda count, seed=0: demos.sample(count, seed), imgsz=0)


def _inputs(policy: PolicyAdapter, demos: Demonstrations, seed: int = 0) -> tuple[torch.Tensor, ...]:
    from edgecompress.models.policy import image_tensor

    images, text, states = policy.observations(demos)
    config = policy.config
    noise = torch.from_numpy(
        np.random.default_rng(seed)
        .standard_normal((len(demos), config.horizon, config.action_dim))
        .astype("float32")
    )
    return image_tensor(images), torch.from_numpy(text), torch.from_numpy(states), noise


def _silence(layer: torch.nn.Module) -> None:
    """Make a decoder layer the identity: both residual branches write zeros."""
    torch.nn.init.zeros_(layer.self_attn.o_proj.weight)
    torch.nn.init.zeros_(layer.mlp.down_proj.weight)


def test_layer_importance_ranks_identity_layers_lowest_and_the_pass_removes_exactly_them() -> None:
    policy, demos = _policy(language_layers=5), _demos()
    for index in (1, 3):
        _silence(policy.decoder_layers()[index])
    importance = layer_importance(policy, policy.observations(demos))
    assert importance[1] == pytest.approx(0.0, abs=1e-6) and importance[3] == pytest.approx(0.0, abs=1e-6)
    assert min(importance[0], importance[2], importance[4]) > 1e-3
    inputs = _inputs(policy, demos)
    with torch.no_grad():
        before = policy.network(*inputs)
    result = LayerPrunePass(LayerPruneConfig(layers=2)).run(policy, _context(demos))
    assert result.details["removed_layers"] == [1, 3]
    assert policy.config.kept_layers == [0, 2, 4] and len(policy.decoder_layers()) == 3
    with torch.no_grad():
        after = policy.network(*inputs)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)  # identity layers removed: same output


def test_layer_prune_by_flops_fraction_stops_at_the_target() -> None:
    from edgecompress.models.policy import complexity

    policy, demos = _policy(language_layers=6), _demos()
    start = complexity(policy)["gflops"]
    LayerPrunePass(LayerPruneConfig(flops=0.9)).run(policy, _context(demos))
    assert complexity(policy)["gflops"] <= 0.9 * start
    assert 1 <= 6 - policy.config.language_layers < 6


def test_layer_prune_needs_exactly_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        LayerPruneConfig()
    with pytest.raises(ValueError, match="exactly one"):
        LayerPruneConfig(layers=1, flops=0.5)


@pytest.mark.parametrize(("keep", "keep_top"), [(5, 2), (8, 3), (1, 4), (6, 0)])
def test_token_selection_keeps_the_exact_count_and_the_forced_top_tokens(keep: int, keep_top: int) -> None:
    generator = torch.Generator().manual_seed(keep)
    scores, tokens = torch.rand(3, 16, generator=generator), torch.randn(3, 16, 8, generator=generator)
    chosen = select_visual_tokens(scores, tokens, keep, keep_top)
    assert chosen.shape == (3, keep)
    forced, _, _ = split_budget(keep, keep_top)
    for row in range(3):
        picked = chosen[row].tolist()
        assert picked == sorted(set(picked))  # unique, ascending
        top = torch.argsort(scores[row], descending=True)[:forced].tolist()
        assert set(top) <= set(picked)


def test_token_selection_fills_half_by_diversity() -> None:
    """Two clusters of near-duplicate tokens: the scores prefer one; diversity must reach the other."""
    base = torch.tensor([1.0, 0.0, 0.0, 0.0])
    other = torch.tensor([0.0, 1.0, 0.0, 0.0])
    tokens = torch.stack([base + 0.01 * i for i in range(6)] + [other + 0.01 * i for i in range(6)])[None]
    scores = torch.tensor([[1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]])
    chosen = select_visual_tokens(scores, tokens, keep=4, keep_top=2)[0].tolist()
    assert chosen[:3] == [0, 1, 2]  # 2 forced + 1 by score
    assert chosen[3] >= 6  # the diversity pick comes from the other cluster


def test_token_budget_takes_counts_and_fractions() -> None:
    assert token_budget(0.25, 16) == 4
    assert token_budget(5, 16) == 5
    with pytest.raises(ValueError):
        token_budget(2.5, 16)


def test_token_prune_shortens_the_sequence_and_keeps_output_shapes() -> None:
    policy, demos = _policy(), _demos()
    inputs = _inputs(policy, demos)
    with torch.no_grad():
        full_context = policy.network.context(*inputs[:3])
        full_actions = policy.network(*inputs)
    details = (
        TokenPrunePass(TokenPruneConfig(after_layer=2, keep=0.25, keep_top=1))
        .run(policy, _context(demos))
        .details
    )
    assert details["kept_tokens"] == 4 and details["visual_tokens"] == 16
    with torch.no_grad():
        context = policy.network.context(*inputs[:3])
        actions = policy.network(*inputs)
    assert context.shape[1] == full_context.shape[1] - 12
    assert actions.shape == full_actions.shape and torch.isfinite(actions).all()


def test_token_prune_keeping_every_token_reproduces_the_unpruned_policy() -> None:
    policy, demos = _policy(), _demos()
    inputs = _inputs(policy, demos)
    with torch.no_grad():
        before = policy.network(*inputs)
    policy.set_token_pruning(TokenPruning(after_layer=2, keep=16, keep_top=4))
    with torch.no_grad():
        after = policy.network(*inputs)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)


def test_cache_interval_one_reproduces_the_uncached_loop_exactly() -> None:
    policy, demos = _policy(), _demos()
    images, text, states, noise = _inputs(policy, demos)
    head, steps = policy.network.head, policy.config.denoise_steps
    with torch.no_grad():
        context = policy.network.context(images, text, states)
        x = noise
        for index in range(steps):
            x = x - head(x, torch.full((len(x),), 1.0 - index / steps), context) / steps
        cached = sample_actions(head, context, noise, steps, interval=1)
    assert torch.equal(cached, x)


@pytest.mark.parametrize("interval", [1, 2, 3, 4])
def test_cache_interval_sets_which_steps_run_the_blocks(interval: int) -> None:
    policy, demos = _policy(denoise_steps=8), _demos()
    images, text, states, noise = _inputs(policy, demos)
    calls = []
    # DiTBlock.branches is called directly (not forward), so count the calls of its attention
    hook = policy.network.head.blocks[0].attn.register_forward_hook(lambda *_: calls.append(1))
    FeatureCachePass(FeatureCacheConfig(interval=interval)).run(policy, _context(demos))
    with torch.no_grad():
        actions = policy.network(images, text, states, noise)
    hook.remove()
    assert len(calls) == -(-8 // interval) == sum(full_steps(8, interval))
    assert actions.shape == noise.shape


def test_cached_steps_change_the_result_but_stay_close() -> None:
    policy, demos = _policy(denoise_steps=8), _demos()
    inputs = _inputs(policy, demos)
    with torch.no_grad():
        exact = policy.network(*inputs)
        policy.set_cache_interval(2)
        cached = policy.network(*inputs)
    assert not torch.equal(exact, cached)
    assert (exact - cached).abs().max() < 0.5 * exact.abs().max()


def test_mlp_prune_narrows_every_layer_to_multiples_of_round_to() -> None:
    policy, demos = _policy(hidden_size=32), _demos()
    inputs = _inputs(policy, demos)
    details = MlpPrunePass(MlpPruneConfig(ratio=0.5, round_to=8)).run(policy, _context(demos)).details
    assert details["intermediate_sizes_before"] == [64] * 4 and details["intermediate_sizes"] == [32] * 4
    for layer in policy.decoder_layers():
        assert (
            layer.mlp.gate_proj.out_features
            == layer.mlp.up_proj.out_features
            == layer.mlp.down_proj.in_features
            == 32
        )
    with torch.no_grad():
        assert policy.network(*inputs).shape == inputs[3].shape
