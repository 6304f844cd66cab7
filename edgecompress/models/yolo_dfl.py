"""The Detect head's distribution-to-distance step (DFL) in a form that lowers to fewer CPU ops.

Ultralytics' ``DFL`` views the box logits as (batch, 4, bins, anchors), transposes them to
(batch, bins, 4, anchors), takes the softmax over the bins and applies a fixed 1×1 convolution whose
weights are 0 … bins−1: the expected distance per box side. Exported as is, OpenVINO runs that as a
Transpose, a Softmax, a layout Reorder and an f32 Convolution. The same expectation written as a
softmax over the bins axis, a product with 0 … bins−1 and a sum over that axis has no transpose and no
convolution; the outputs agree to float rounding (tests/unit/test_yolo_dfl.py pins 1e-5).
"""

from __future__ import annotations

import torch
from torch import nn


class ExpectationDFL(nn.Module):
    """Expected box distances from (batch, 4·bins, anchors) logits: softmax over bins, weighted sum."""

    def __init__(self, bins: int) -> None:
        super().__init__()
        self.c1 = bins
        self.register_buffer("bin_values", torch.arange(bins, dtype=torch.float).view(1, 1, bins, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 4·bins, A) → (B, 4, A), as Ultralytics' ``DFL``."""
        batch, _, anchors = x.shape
        probabilities = x.view(batch, 4, self.c1, anchors).softmax(2)
        return (probabilities * self.bin_values.to(x.dtype)).sum(2)


def use_expectation_dfl(model: nn.Module) -> int:
    """Replace every DFL with arange weights by :class:`ExpectationDFL`; the number replaced.

    A DFL whose convolution is not 0 … bins−1 (a head trained or edited otherwise) is left alone.
    """
    replaced = 0
    for module in model.modules():
        dfl = getattr(module, "dfl", None)
        conv = getattr(dfl, "conv", None)
        if not isinstance(conv, nn.Conv2d):
            continue
        bins = conv.in_channels
        expected = torch.arange(bins, dtype=conv.weight.dtype).view(1, bins, 1, 1)
        if conv.weight.shape != expected.shape or not torch.equal(conv.weight.detach().cpu(), expected):
            continue
        module.dfl = ExpectationDFL(bins).to(conv.weight.device)
        replaced += 1
    return replaced
