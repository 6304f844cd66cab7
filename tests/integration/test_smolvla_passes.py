"""The compression passes on a tiny SmolVLA (LeRobot's own code): what each removes, and that the saved
folder rebuilds the smaller policy with the same actions.

Runs whenever lerobot 0.4.4 is installed (the README's test command installs it); skips only without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from edgecompress.models.lerobot_compat import INSTALL, lerobot_version

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(lerobot_version() is None, reason=f"lerobot is not installed ({INSTALL})"),
]


@pytest.fixture(scope="module")
def six_layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SmolVLA with 6 VLM and 6 expert layers: 3 self/cross pairs."""
    from edgecompress.testing.smolvla import write_tiny_smolvla

    return write_tiny_smolvla(tmp_path_factory.mktemp("smolvla") / "policy", num_vlm_layers=6)


def _load(folder: Path) -> SimpleNamespace:
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.models.smolvla_observation import chunk_noise, random_observations

    adapter = load_smolvla(folder)
    meta = adapter.meta()
    context = SimpleNamespace(calibration=lambda count: random_observations(meta, count, seed=1), imgsz=0)
    observation = random_observations(meta, 1, seed=5)[0]
    return SimpleNamespace(
        adapter=adapter, context=context, act=lambda a: a.torch_predict()(observation, chunk_noise(meta))
    )


def _silence(*modules: torch.nn.Module) -> None:
    """Zero the weights (and biases) of the Linears that write a layer's two residual branches."""
    for module in modules:
        torch.nn.init.zeros_(module.weight)
        if module.bias is not None:
            torch.nn.init.zeros_(module.bias)


def test_layer_prune_removes_the_redundant_self_cross_pair_and_the_folder_reloads(
    six_layers: Path, tmp_path: Path
) -> None:
    from edgecompress.passes.layer_prune import LayerPruneConfig, LayerPrunePass

    tiny = _load(six_layers)
    adapter = tiny.adapter
    model = adapter.policy.model.vlm_with_expert
    text, expert = model.get_vlm_model().text_model.layers, model.lm_expert.layers
    for index in (2, 3):  # VLM and expert layers 2 and 3 become the identity
        for layer in (text[index], expert[index]):
            _silence(layer.self_attn.o_proj, layer.mlp.down_proj)
    before = tiny.act(adapter)
    details = LayerPrunePass(LayerPruneConfig(layers=1, calibration=2)).run(adapter, tiny.context).details
    assert details["removed_layers"] == ["2-3"] and details["kept_layers"] == ["0-1", "4-5"]
    assert details["importance"]["2-3"] == pytest.approx(0.0, abs=1e-6)
    assert min(details["importance"]["0-1"], details["importance"]["4-5"]) > 1e-4
    assert len(text) == 6 and len(model.get_vlm_model().text_model.layers) == 4 == len(model.lm_expert.layers)
    assert model.num_vlm_layers == model.num_expert_layers == adapter.policy.config.num_vlm_layers == 4
    # self-attention on even positions (k/v from the expert's width), cross on odd (k/v from the VLM cache)
    text_config = model.config.text_config
    width, cache = model.expert_hidden_size, text_config.num_key_value_heads * text_config.head_dim
    inputs = [layer.self_attn.k_proj.in_features for layer in model.lm_expert.layers]
    assert inputs == [width, cache, width, cache]
    after = tiny.act(adapter)
    np.testing.assert_allclose(after, before, atol=1e-5)  # identity layers removed: same actions
    saved = adapter.with_model(adapter, tmp_path / "pruned")
    assert json.loads((saved.checkpoint / "config.json").read_text())["num_vlm_layers"] == 4
    assert saved.layer_labels("language") == ["0-1", "4-5"]
    assert np.array_equal(tiny.act(saved), after)


def test_layer_prune_to_a_flops_fraction_and_stacks_it_cannot_prune(six_layers: Path) -> None:
    from edgecompress.models.policy import PolicyAdapter, build_policy
    from edgecompress.passes.layer_prune import LayerPruneConfig, LayerPrunePass
    from edgecompress.testing.policy import tiny_vla_config

    tiny = _load(six_layers)
    start = tiny.adapter.flops()["total"]
    LayerPrunePass(LayerPruneConfig(flops=0.8, calibration=1)).run(tiny.adapter, tiny.context)
    assert tiny.adapter.flops()["total"] <= 0.8 * start
    assert len(tiny.adapter.layer_labels("language")) in (1, 2)
    reference = PolicyAdapter(Path("tiny.pt"), build_policy(tiny_vla_config()))
    with pytest.raises(ValueError, match="only its language layers"):
        reference.layer_labels("vision")


def test_mlp_prune_narrows_vlm_and_expert_mlps_and_the_widths_survive_reload(
    six_layers: Path, tmp_path: Path
) -> None:
    from edgecompress.passes.mlp_prune import MlpPruneConfig, MlpPrunePass

    tiny = _load(six_layers)
    adapter = tiny.adapter
    flops = adapter.flops()
    details = MlpPrunePass(MlpPruneConfig(ratio=0.5, round_to=8)).run(adapter, tiny.context).details
    assert details["intermediate_sizes_before"] == [128] * 6 + [256] * 6  # VLM layers, then expert layers
    assert details["intermediate_sizes"] == [64] * 6 + [128] * 6
    narrowed = adapter.flops()
    assert narrowed["vlm"] < flops["vlm"] and narrowed["expert"] < flops["expert"]
    assert narrowed["vision"] == flops["vision"]
    actions = tiny.act(adapter)
    saved = adapter.with_model(adapter, tmp_path / "narrow")
    record = json.loads((saved.checkpoint / "compression.json").read_text())
    assert record["mlp_widths"] == {"vlm": [64] * 6, "expert": [128] * 6}
    assert saved.intermediate_sizes() == details["intermediate_sizes"]
    assert np.array_equal(tiny.act(saved), actions)
    # a resume must see the widths change: the folder's fingerprint covers compression.json
    before = saved.fingerprint()
    (saved.checkpoint / "compression.json").write_text(json.dumps({**record, "edited": True}))
    assert saved.fingerprint() != before


def test_vision_layer_prune_and_a_lower_resolution_shrink_the_vision_tower_and_reload(
    six_layers: Path, tmp_path: Path
) -> None:
    from edgecompress.passes.layer_prune import LayerPruneConfig, LayerPrunePass
    from edgecompress.passes.resolution import ResolutionConfig, ResolutionPass

    tiny = _load(six_layers)
    adapter = tiny.adapter
    encoder = adapter.policy.model.vlm_with_expert.get_vlm_model().vision_model.encoder
    _silence(encoder.layers[1].self_attn.out_proj, encoder.layers[1].mlp.fc2)
    before, flops = tiny.act(adapter), adapter.flops()
    config = LayerPruneConfig(layers=1, calibration=2, stack="vision")
    details = LayerPrunePass(config).run(adapter, tiny.context).details
    assert details["removed_layers"] == ["1"] and details["importance"]["1"] == pytest.approx(0, abs=1e-6)
    np.testing.assert_allclose(tiny.act(adapter), before, atol=1e-5)
    assert adapter.flops()["vision"] < flops["vision"] and adapter.flops()["vlm"] == flops["vlm"]
    with pytest.raises(ValueError, match="divisible by the connector's scale factor 2"):
        ResolutionPass(ResolutionConfig(size=24)).run(adapter, tiny.context)
    ResolutionPass(ResolutionConfig(size=16)).run(adapter, tiny.context)  # 4x4 patches -> 2x2
    small = adapter.flops()
    assert adapter.input_size == 16 and small["vision"] < flops["vision"] / 4 and small["vlm"] < flops["vlm"]
    actions = tiny.act(adapter)
    saved = adapter.with_model(adapter, tmp_path / "small")
    backbone = json.loads((saved.checkpoint / "vlm" / "config.json").read_text())
    assert backbone["vision_config"]["num_hidden_layers"] == 1 and saved.input_size == 16
    assert saved.layer_labels("vision") == ["0"]
    assert np.array_equal(tiny.act(saved), actions)


def test_the_smolvla_recipes_validate_for_smolvla_only() -> None:
    from edgecompress.config import load_recipe
    from edgecompress.config.recipe import check_family
    from edgecompress.errors import InputError

    recipes = sorted((Path(__file__).parents[2] / "bench" / "recipes").glob("smolvla-*.yaml"))
    assert recipes
    for path in recipes:
        recipe = load_recipe(path)
        check_family(recipe, "smolvla")
        if any(stage["pass"] == "resolution" for stage in recipe.stages):
            with pytest.raises(InputError, match="does not apply to policy models"):
                check_family(recipe, "policy")
