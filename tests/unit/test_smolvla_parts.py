"""SmolVLA parts that need no LeRobot: folder checks, task padding, the deploy runtime's Euler loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgecompress.errors import InputError
from edgecompress.models.smolvla import read_policy_config
from edgecompress.models.smolvla_observation import Observation, pad_language, random_observations
from edgecompress.runtime.smolvla import SmolVLARuntime

META = {
    "images": ["image0"],
    "camera_shapes": [[3, 6, 8]],
    "lang_length": 5,
    "vocab_size": 50,
    "state_dim": 3,
    "action_dim": 2,
    "max_action_dim": 4,
    "chunk_size": 3,
    "num_steps": 4,
}


def _folder(tmp_path: Path, config: object, weights: bool = True) -> Path:
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    if weights:
        (folder / "model.safetensors").write_bytes(b"")
    return folder


@pytest.mark.parametrize(
    ("config", "weights", "message"),
    [
        (None, True, "has no config.json"),
        ({"type": "act"}, True, "is a act config, not a SmolVLA policy"),
        ([1, 2], True, "is a untyped config"),
        ({"type": "smolvla"}, False, "has no model.safetensors"),
    ],
)
def test_a_folder_that_is_not_a_smolvla_policy_is_refused(
    tmp_path: Path, config: object, weights: bool, message: str
) -> None:
    folder = _folder(tmp_path, config, weights)
    if config is None:
        (folder / "config.json").unlink()
    with pytest.raises(InputError, match=message):
        read_policy_config(folder)


def test_a_smolvla_folder_is_compiled_as_smolvla_whatever_the_family_flag(tmp_path: Path) -> None:
    from edgecompress.compiler import model_family

    folder = _folder(tmp_path, {"type": "smolvla"})
    assert model_family(folder, "policy") == "smolvla" == model_family(folder, "yolo")
    assert model_family(tmp_path / "policy.pt", "policy") == "policy"
    with pytest.raises(InputError, match=r"has no config\.json"):
        model_family(tmp_path, "policy")


def test_language_is_padded_with_masked_tokens_and_never_cut() -> None:
    tokens, mask = pad_language(np.array([[7, 8]]), np.array([[True, True]]), 4)
    assert tokens.tolist() == [[7, 8, 0, 0]] and mask.tolist() == [[True, True, False, False]]
    assert tokens.dtype == np.int64 and mask.dtype == bool
    with pytest.raises(ValueError, match="at most 1"):
        pad_language(tokens, mask, 1)


def test_random_observations_are_seeded_and_have_the_policy_shapes() -> None:
    first, again = random_observations(META, 2, seed=3), random_observations(META, 2, seed=3)
    assert np.array_equal(first[1].images[0], again[1].images[0])
    assert not np.array_equal(first[0].images[0], first[1].images[0])
    obs = first[0]
    assert obs.images[0].shape == (1, 3, 6, 8) and obs.images[0].min() >= 0 and obs.images[0].max() <= 1
    assert obs.tokens.shape == obs.mask.shape == (1, 5) and obs.state.shape == (1, 3)
    assert obs.mask[0, 0] and (obs.tokens[~obs.mask] == 0).all() and obs.tokens.max() < 50


def test_the_runtime_runs_lerobots_euler_loop_over_the_step_graph() -> None:
    """Time goes 1, 0.75, 0.5, 0.25 and x += -1/4 * v; the chunk is cut to the action size."""
    seen: dict[str, list] = {"prefix": [], "step": []}
    velocity = np.arange(12, dtype=np.float32).reshape(1, 3, 4)

    def prefix(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        seen["prefix"].append(feeds)
        cache = np.ones((2, 1, 9, 1, 4), np.float32)
        return [cache, 0 * cache, feeds["lang_masks"]]

    def step(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        seen["step"].append(float(feeds["timestep"][0]))
        return [velocity * feeds["timestep"][0]]

    runtime = SmolVLARuntime({"prefix": prefix, "step": step}, META, "openvino", "test")
    observation = Observation(
        (np.zeros((1, 3, 6, 8), np.float32),),
        np.array([[4, 5]]),
        np.array([[True, True]]),
        np.zeros((1, 3), np.float32),
    )
    noise = np.ones((1, 3, 4), np.float32)
    actions = runtime(observation, noise)
    assert seen["step"] == [1.0, 0.75, 0.5, 0.25]
    assert seen["prefix"][0]["lang_tokens"].shape == (1, 5) and set(seen["prefix"][0]) >= {"image0", "state"}
    expected = noise - 0.25 * velocity * (1.0 + 0.75 + 0.5 + 0.25)
    assert actions.shape == (1, 3, 2)
    np.testing.assert_allclose(actions, expected[:, :, :2], rtol=1e-6)
    with pytest.raises(ValueError, match="takes 1 camera images, got 0"):
        runtime(Observation((), observation.tokens, observation.mask, observation.state), noise)
