"""BN-scale pruning: channels fall by the ratio in multiples of round_to; the head keeps its format."""

import pytest
import torch

from edgecompress.models.yolo_head import head_output_layers
from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale

IMGSZ = 128
FAMILIES = ["yolov8n.yaml", "yolo11n.yaml", "yolo12n.yaml", "yolov10n.yaml", "yolo26n.yaml"]


def _model(cfg: str, seed: int = 0):
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(seed)
    model = DetectionModel(cfg, nc=4, verbose=False).eval()
    for module in model.modules():  # trained-like, distinct γ so the ranking means something
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data = torch.rand(module.num_features) + 0.01
    return model


def _head_ids(model) -> set[int]:
    return {id(sub) for m in head_output_layers(model) for sub in m.modules()}


def _prunable_channels(model) -> int:
    skip = _head_ids(model)
    return sum(
        m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d) and id(m) not in skip
    )


@pytest.mark.parametrize("cfg", ["yolov8n.yaml", "yolov8s.yaml", "yolo11n.yaml", "yolo11s.yaml"])
@pytest.mark.parametrize("criterion", ["global", "uniform"])
def test_channels_fall_by_ratio_in_multiples_of_round_to(cfg, criterion):
    model = _model(cfg)
    before = _prunable_channels(model)
    pruned, details = prune_by_bn_scale(model, BNPruneConfig(ratio=0.5, criterion=criterion), IMGSZ)
    after = _prunable_channels(pruned)
    assert 0.3 < after / before < 0.7, (before, after)
    head = _head_ids(pruned)
    for conv in (m for m in pruned.modules() if isinstance(m, torch.nn.Conv2d) and id(m) not in head):
        assert conv.out_channels % 8 == 0 and conv.out_channels >= 8
    assert details["params_after"] < details["params_before"]
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    with torch.no_grad():
        assert pruned(x)[0].shape == model(x)[0].shape  # same output format: (1, 4 + nc, anchors)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cfg", ["yolo26n.yaml", "yolo12n.yaml", "yolov10n.yaml"])
def test_families_with_attention_prune_in_seconds_with_valid_outputs(cfg):
    """Their attention blocks made torch-pruning's group search run away (minutes, 11-24 GB; the timeout
    marker turns a relapse into a failure, not a hung suite)."""
    model = _model(cfg)
    pruned, details = prune_by_bn_scale(model, BNPruneConfig(ratio=0.5, criterion="global"), IMGSZ)
    assert details["params_after"] < 0.7 * details["params_before"]
    head = _head_ids(pruned)
    convs = [m for m in pruned.modules() if isinstance(m, torch.nn.Conv2d) and id(m) not in head]
    widths = [m.out_channels for m in convs]
    assert all(w % 8 == 0 for w in widths)  # round_to 8 holds through the attention-aware grouping
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    with torch.no_grad():
        assert pruned(x)[0].shape == model(x)[0].shape


def test_flops_target_is_reached():
    model = _model("yolov8n.yaml")
    _, details = prune_by_bn_scale(model, BNPruneConfig(ratio=0.6, target="flops"), IMGSZ)
    assert details["gflops_after"] <= 0.4 * details["gflops_before"] * 1.02


def test_global_criterion_removes_the_smallest_gammas_first():
    model = _model("yolov8n.yaml")
    conv = model.model[2].cv2  # a C2f output conv
    conv.bn.weight.data[:16] = 1e-4  # 16 channels that matter least
    conv.bn.weight.data[16:] = 10.0
    pruned, details = prune_by_bn_scale(model, BNPruneConfig(ratio=0.05), IMGSZ)
    kept = pruned.model[2].cv2.bn.weight.data
    assert kept.min() > 1.0  # the near-zero ones went
    assert details["gamma_removed_max"] < 1.0 and details["gamma_mass_removed"] < 0.05


def test_the_report_says_how_much_scale_a_forced_cut_removed():
    """A uniform cut of a layer whose |γ| are all large removes large γ, and the details say so."""
    model = _model("yolov8n.yaml")
    model.model[1].bn.weight.data[:] = torch.linspace(4.0, 8.0, model.model[1].bn.num_features)
    _, details = prune_by_bn_scale(model, BNPruneConfig(ratio=0.5, criterion="uniform"), IMGSZ)
    assert details["gamma_removed_max"] >= 4.0
    assert 0.1 < details["gamma_mass_removed"] < 0.9


def test_threshold_needs_a_value():
    with pytest.raises(ValueError, match="threshold"):
        BNPruneConfig(criterion="threshold")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cfg", FAMILIES)
def test_removing_dead_channels_leaves_the_output_unchanged(cfg):
    """Channels with γ = β = 0 output SiLU(0) = 0: pruning exactly them must not change the model."""
    model = _model(cfg)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data += 1.0  # every live channel well above the threshold
    dead = [model.model[2].cv2.bn, model.model[4].cv2.bn]  # C2f outputs, feeding convs, concats, residuals
    for bn in dead:
        bn.weight.data[:8] = 0.0
        bn.bias.data[:8] = 0.0
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    with torch.no_grad():
        expected = model(x)[0]
    config = BNPruneConfig(criterion="threshold", threshold=1e-3, round_to=8)
    pruned, details = prune_by_bn_scale(model, config, IMGSZ)
    assert [pruned.model[i].cv2.bn.num_features for i in (2, 4)] == [b.num_features - 8 for b in dead]
    assert details["params_after"] < details["params_before"]
    with torch.no_grad():
        assert torch.allclose(pruned(x)[0], expected, atol=1e-3)


def test_plan_names_exactly_the_channels_pruning_removes():
    """Silencing the planned channels (γ = β = 0) gives the pruned model's output; widths match the plan."""
    from edgecompress.models.yolo_modules import make_prunable
    from edgecompress.passes.bn_prune import pruning_plan

    model = _model("yolov8n.yaml")
    make_prunable(model)
    config = BNPruneConfig(ratio=0.4)
    plan = pruning_plan(model, config, IMGSZ)
    assert plan and all(len(channels) > 0 for channels in plan.values())
    pruned, _ = prune_by_bn_scale(model, config, IMGSZ)
    before, after = dict(model.named_modules()), dict(pruned.named_modules())
    for name, channels in plan.items():
        assert after[name].num_features == before[name].num_features - len(channels), name
    for name, channels in plan.items():
        before[name].weight.data[channels] = 0.0
        before[name].bias.data[channels] = 0.0
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    with torch.no_grad():
        assert torch.allclose(pruned(x)[0], model(x)[0], atol=1e-3)


def test_plan_for_a_flops_target_is_the_prune_it_will_make():
    """With ``target: flops`` the plan bisects the channel ratio as the prune does, not ratio-as-channels."""
    from edgecompress.models.yolo_modules import make_prunable
    from edgecompress.passes.bn_prune import pruning_plan

    model = _model("yolov8n.yaml")
    make_prunable(model)
    config = BNPruneConfig(ratio=0.6, target="flops", criterion="uniform", round_to=1)
    plan = pruning_plan(model, config, IMGSZ)
    pruned, details = prune_by_bn_scale(model, config, IMGSZ)
    before, after = dict(model.named_modules()), dict(pruned.named_modules())
    assert details["channel_ratio"] < 0.5  # 60 % of FLOPs goes with well under 60 % of the channels
    for name, channels in plan.items():
        assert after[name].num_features == before[name].num_features - len(channels), name


def test_sparsity_mask_covers_the_planned_channels_only():
    from edgecompress.models.yolo_modules import make_prunable
    from edgecompress.models.yolo_training import bn_scales, pruning_mask
    from edgecompress.passes.bn_prune import pruning_plan

    model = _model("yolov8n.yaml")
    make_prunable(model)
    settings = BNPruneConfig(ratio=0.5).model_dump()
    layers = bn_scales(model, _head_ids(model))
    plan = pruning_plan(model, BNPruneConfig(**settings), IMGSZ)
    mask = pruning_mask(model, layers, plan)
    assert set(mask) == {id(bn) for bn in layers}
    assert sum(int(m.sum()) for m in mask.values()) == sum(len(c) for c in plan.values())
    modules = dict(model.named_modules())
    for name, channels in plan.items():
        assert mask[id(modules[name])][channels].eq(1).all()


def test_constant_channels_feeding_the_head_outputs_are_pruned_exactly():
    """γ = 0, β ≠ 0: the channel outputs SiLU(β) everywhere; its removal is folded into the output bias."""
    import copy

    import numpy as np

    from edgecompress.models.batchnorm_statistics import recalibrate_batchnorm

    model = _model("yolov8n.yaml")
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data += 1.0  # every live channel well above the threshold
    detect = model.model[-1]
    constant = [detect.cv3[0][1].bn, detect.cv2[2][1].bn]  # the last BN convs before the output convs
    for bn in constant:
        bn.weight.data[:8] = 0.0
        bn.bias.data[:8] = torch.linspace(-2.0, 3.0, 8)
    batches = [np.random.default_rng(i).random((2, 3, IMGSZ, IMGSZ), dtype=np.float32) for i in range(2)]
    expected_model = copy.deepcopy(model)
    recalibrate_batchnorm(expected_model, batches)  # the same statistics the pruned model will get
    config = BNPruneConfig(criterion="threshold", threshold=1e-3, round_to=8)
    pruned, details = prune_by_bn_scale(model, config, IMGSZ, batches)
    assert [bn.num_features for bn in (pruned.model[-1].cv3[0][1].bn, pruned.model[-1].cv2[2][1].bn)] == [
        bn.num_features - 8 for bn in constant
    ]
    assert details["recalibrated_on"] == 4
    unfolded, _ = prune_by_bn_scale(model, config, IMGSZ)  # without the fold the logits shift
    recalibrate_batchnorm(unfolded, batches)
    x = torch.from_numpy(batches[0])
    with torch.no_grad():
        assert torch.allclose(pruned(x)[0], expected_model(x)[0], atol=1e-3)
        assert not torch.allclose(unfolded(x)[0], expected_model(x)[0], atol=1e-3)


def test_global_criterion_compares_raw_gammas_across_layers():
    """Network slimming: one threshold on raw |γ| for the whole model, each layer capped at its floor."""
    import copy

    from edgecompress.models.yolo_modules import make_prunable

    def widths(model) -> dict:
        return {n: m.num_features for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}

    model = _model("yolov8n.yaml")
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data = 1.0 + torch.rand(module.num_features)
    weak = model.model[7].bn  # a 3x3 downsampling conv whose every channel barely matters
    weak.weight.data = 0.01 + 0.01 * torch.rand(weak.num_features)
    few, _ = prune_by_bn_scale(model, BNPruneConfig(ratio=0.03, max_layer_ratio=0.75), IMGSZ)
    split_free = copy.deepcopy(model)
    make_prunable(split_free)
    before, after = widths(split_free), widths(few)
    changed = {n for n in after if after[n] != before[n]}
    assert changed == {"model.7.bn"} and after["model.7.bn"] < 128  # only the weak layer, by a lot
    many, _ = prune_by_bn_scale(model, BNPruneConfig(ratio=0.1, max_layer_ratio=0.75), IMGSZ)
    assert many.model[7].bn.num_features == 64  # capped at the 25 % floor, not skipped


def test_layer_widths_cut_a_stem_the_global_criterion_leaves_whole():
    """layer_widths keeps exactly W channels of the named conv, the highest |γ| ones."""
    model = _model("yolov8n.yaml")
    stem = model.model[0].bn.weight.data
    stem[:] = torch.linspace(5.0, 8.0, stem.numel())  # far above every other γ: the global cut skips it
    stem[[3, 7]] = torch.tensor([9.0, 9.5])
    config = BNPruneConfig(ratio=0.05, layer_widths={"model.0": 8})
    pruned, _ = prune_by_bn_scale(model, config, IMGSZ)
    kept = pruned.model[0].bn.weight.data
    assert pruned.model[0].conv.out_channels == 8 and pruned.model[1].conv.in_channels == 8
    assert {9.0, 9.5} <= set(kept.tolist()) and kept.min() >= float(torch.sort(stem).values[-8])
    unchanged, _ = prune_by_bn_scale(model, BNPruneConfig(ratio=0.05), IMGSZ)
    assert unchanged.model[0].conv.out_channels == stem.numel()
    assert (
        pruned(torch.zeros(1, 3, IMGSZ, IMGSZ))[0].shape
        == unchanged(torch.zeros(1, 3, IMGSZ, IMGSZ))[0].shape
    )


@pytest.mark.parametrize(
    ("widths", "message"), [({"model.99": 8}, "no module"), ({"model.0": 64}, "cannot keep 64")]
)
def test_layer_widths_name_a_conv_the_model_has_and_fit_its_width(widths, message):
    with pytest.raises(ValueError, match=message):
        prune_by_bn_scale(_model("yolov8n.yaml"), BNPruneConfig(ratio=0.05, layer_widths=widths), IMGSZ)
