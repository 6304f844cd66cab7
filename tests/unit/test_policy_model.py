"""Policy checkpoints, demonstrations and the lowered graphs of the reference VLA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgecompress.config.target import load_target
from edgecompress.errors import InputError
from edgecompress.models.policy import PolicyAdapter, build_policy, load_policy
from edgecompress.models.policy_data import load_demonstrations
from edgecompress.models.vla.config import TokenPruning, tokenize
from edgecompress.testing.policy import (
    reaching_demonstrations,
    reaching_demos,
    tiny_vla_config,
    write_reaching_demos,
)


def _accelerated(tmp_path: Path) -> PolicyAdapter:
    policy = PolicyAdapter(tmp_path / "p.pt", build_policy(tiny_vla_config(language_layers=5)).eval())
    policy.remove_layers([1, 3])
    policy.set_token_pruning(TokenPruning(after_layer=1, keep=6, keep_top=2))
    policy.set_cache_interval(3)
    return policy


def _observation(policy: PolicyAdapter, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng, config = np.random.default_rng(seed), policy.config
    images = rng.integers(0, 256, (1, config.image_size, config.image_size, 3), dtype=np.uint8)
    text = np.array([tokenize("reach the blue square", config.vocab, config.max_text_tokens)])
    states = rng.standard_normal((1, config.state_dim)).astype(np.float32)
    noise = rng.standard_normal((1, config.horizon, config.action_dim)).astype(np.float32)
    return images, text, states, noise


def test_accelerated_checkpoint_round_trips_with_its_settings(tmp_path: Path) -> None:
    policy = _accelerated(tmp_path)
    loaded = load_policy(policy.save(tmp_path / "p.pt"))
    assert loaded.config == policy.config
    assert loaded.config.kept_layers == [0, 2, 4] and loaded.config.cache_interval == 3
    observation = _observation(policy)
    np.testing.assert_array_equal(loaded.torch_predict()(*observation), policy.torch_predict()(*observation))


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_lowered_graphs_match_torch(tmp_path: Path, backend: str) -> None:
    from edgecompress.families.policy import lower_policy
    from edgecompress.runtime.policy import load_policy_runtime

    policy = _accelerated(tmp_path)
    profile = load_target("x86-cpu").model_copy(update={"backend": backend})
    files = lower_policy(policy, tmp_path / backend, profile)
    suffix = ".onnx" if backend == "onnxruntime" else ".xml"
    assert {f.name for f in files} >= {"policy.json", f"prefix{suffix}", f"step_cached{suffix}"}
    runtime = load_policy_runtime(tmp_path / backend, profile)
    for seed in range(3):
        observation = _observation(policy, seed)
        expected = policy.torch_predict()(*observation)
        np.testing.assert_allclose(runtime(*observation), expected, atol=2e-4, rtol=1e-3)


def test_runtime_predict_takes_one_observation(tmp_path: Path) -> None:
    from edgecompress.families.policy import lower_policy
    from edgecompress.runtime.policy import load_policy_runtime

    policy = _accelerated(tmp_path)
    profile = load_target("x86-cpu").model_copy(update={"backend": "onnxruntime"})
    lower_policy(policy, tmp_path / "ort", profile)
    runtime = load_policy_runtime(tmp_path / "ort", profile)
    images, text, states, noise = _observation(policy)
    chunk = runtime.predict(images[0], "reach the blue square", states[0], noise)
    np.testing.assert_allclose(chunk, policy.torch_predict()(images, text, states, noise)[0], atol=2e-4)
    with pytest.raises(ValueError, match="uint8 RGB images of 16x16x3"):
        runtime.predict(np.zeros((8, 8, 3), np.uint8), "reach", states[0])


def test_bad_checkpoints_give_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_policy(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot load policy checkpoint"):
        load_policy(tmp_path / "junk.pt")
    import torch

    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not an edgecompress policy checkpoint"):
        load_policy(tmp_path / "other.pt")


def test_demonstration_chunks_stay_inside_their_episode() -> None:
    demos = reaching_demonstrations(episodes=2, steps=3)
    chunks = demos.chunks(5)
    np.testing.assert_array_equal(chunks[0], demos.actions[[0, 1, 2, 2, 2]])
    np.testing.assert_array_equal(chunks[4], demos.actions[[4, 5, 5, 5, 5]])
    train, val = demos.split(0.5)
    assert not set(train.episode_ids) & set(val.episode_ids)
    assert set(val.task_ids) == {0, 1}


def test_bad_demonstrations_give_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_demonstrations(tmp_path / "none.npz")
    arrays = reaching_demos(episodes=1, steps=2)
    del arrays["actions"]
    np.savez(tmp_path / "partial.npz", **arrays)
    with pytest.raises(InputError, match="lacks actions"):
        load_demonstrations(tmp_path / "partial.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(InputError, match="cannot read"):
        load_demonstrations(tmp_path / "broken.npz")
    assert len(load_demonstrations(write_reaching_demos(tmp_path / "ok.npz", episodes=1, steps=2))) == 4


def test_chunks_of_a_sampled_subset_come_from_the_whole_episodes() -> None:
    demos = reaching_demonstrations(episodes=3, steps=6)
    full = demos.chunks(4)
    train, _ = demos.split()
    picked = train.sample(7, seed=3)
    np.testing.assert_array_equal(picked.chunks(4), full[picked.rows])
    assert picked.rows is not None and len(set(picked.rows)) == 7
