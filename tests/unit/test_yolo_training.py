"""Training hooks: the channel-wise distillation loss and the L1 subgradient on BN scales."""

import torch

from edgecompress.models.yolo_training import cwd_loss


def test_zero_for_identical_features_positive_otherwise():
    torch.manual_seed(0)
    teacher = torch.randn(2, 8, 5, 5)
    assert cwd_loss(teacher.clone(), teacher, tau=4.0).abs() < 1e-6
    assert cwd_loss(torch.randn(2, 8, 5, 5), teacher, tau=4.0) > 0


def test_is_per_channel_spatial_softmax_kl_times_tau_squared():
    student, teacher = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    tau = 2.0
    expected = 0.0
    for c in range(3):
        p = torch.softmax(teacher[0, c].flatten() / tau, 0)
        q = torch.softmax(student[0, c].flatten() / tau, 0)
        expected += (p * (p.log() - q.log())).sum() / 3
    assert torch.allclose(cwd_loss(student, teacher, tau), expected * tau**2, atol=1e-5)


def test_gradient_flows_to_student_only():
    student = torch.randn(1, 4, 3, 3, requires_grad=True)
    teacher = torch.randn(1, 4, 3, 3, requires_grad=True)
    cwd_loss(student, teacher.detach(), 1.0).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0 and teacher.grad is None


def test_l1_subgradient_on_bn_scales_respects_the_mask():
    from edgecompress.models.yolo_training import add_l1_subgradient

    bn = torch.nn.BatchNorm2d(4)
    bn.weight.data = torch.tensor([0.5, -0.2, 0.0, 1.0])
    bn.weight.grad = torch.zeros(4)
    add_l1_subgradient([bn], 0.1)
    assert torch.allclose(bn.weight.grad, torch.tensor([0.1, -0.1, 0.0, 0.1]))
    bn.weight.grad = torch.zeros(4)
    add_l1_subgradient([bn], 0.1, {id(bn): torch.tensor([1.0, 0.0, 1.0, 0.0])})
    assert torch.allclose(bn.weight.grad, torch.tensor([0.1, 0.0, 0.0, 0.0]))


def test_shrink_fades_only_the_masked_channels_to_shrink_to_over_the_run():
    from edgecompress.models.yolo_training import shrink_factor, shrink_masked

    bn = torch.nn.BatchNorm2d(3)
    bn.weight.data = torch.tensor([2.0, -1.0, 0.5])
    bn.bias.data = torch.tensor([0.4, 0.3, -0.2])
    mask = {id(bn): torch.tensor([1.0, 0.0, 1.0])}
    factor = shrink_factor(0.01, 50)
    for _ in range(50):
        shrink_masked([bn], mask, factor)
    assert torch.allclose(bn.weight.data, torch.tensor([0.02, -1.0, 0.005]), atol=1e-6)
    assert torch.allclose(bn.bias.data, torch.tensor([0.004, 0.3, -0.002]), atol=1e-6)


def test_shrink_without_a_mask_is_refused():
    import pytest
    from pydantic import ValidationError

    from edgecompress.passes.sparsity_train import SparsityConfig

    with pytest.raises(ValidationError, match="shrink fades the channels"):
        SparsityConfig(method="shrink")
    assert SparsityConfig(method="shrink", mask_ratio=0.5).method == "shrink"


def test_training_validates_square_letterboxed_images_as_deployment_does(tmp_path, tiny_digits, demo_model):
    """Ultralytics validates in rectangular batches; the training passes score the deploy path's squares."""
    from edgecompress.models.yolo_training import CompressedModelTrainer

    overrides = {"model": str(demo_model), "data": str(tiny_digits), "imgsz": 64, "device": "cpu"}
    trainer = CompressedModelTrainer(overrides={**overrides, "project": str(tmp_path), "plots": False})
    val = trainer.build_dataset(trainer.data["val"], mode="val", batch=4)
    train = trainer.build_dataset(trainer.data["train"], mode="train", batch=4)
    assert val.rect is False and train.rect is False
    image = val[0]["img"]
    assert tuple(image.shape[1:]) == (64, 64)  # a square letterbox, not a stride-padded rectangle
