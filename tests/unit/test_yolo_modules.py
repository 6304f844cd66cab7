"""The split-free CSP blocks compute exactly what Ultralytics' blocks compute."""

import copy

import pytest
import torch


@pytest.mark.parametrize("cfg", ["yolov8n.yaml", "yolo11n.yaml"])
def test_rewrite_keeps_outputs_identical(cfg):
    from ultralytics.nn.modules.block import C2PSA, C2f
    from ultralytics.nn.tasks import DetectionModel

    from edgecompress.models.yolo_modules import make_prunable

    torch.manual_seed(0)
    model = DetectionModel(cfg, nc=3, verbose=False).eval()
    for module in model.modules():  # non-trivial BN statistics so a wrong slice would show
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    rewritten = copy.deepcopy(model)
    count = make_prunable(rewritten)
    assert count == sum(isinstance(m, (C2f, C2PSA)) for m in model.modules()) > 0
    assert not any(isinstance(m, (C2f, C2PSA)) for m in rewritten.modules())
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        expected, actual = model(x)[0], rewritten(x)[0]
    assert torch.allclose(expected, actual, atol=1e-5, rtol=0)
