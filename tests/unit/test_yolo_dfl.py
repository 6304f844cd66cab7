"""The export-time DFL: the same expected distances as Ultralytics' DFL, swapped only where exact."""

from __future__ import annotations

import torch
from torch import nn
from ultralytics.nn.modules.block import DFL

from edgecompress.models.yolo_dfl import ExpectationDFL, use_expectation_dfl


class _Head(nn.Module):
    def __init__(self, dfl: nn.Module) -> None:
        super().__init__()
        self.dfl = dfl


def test_expectation_matches_ultralytics_dfl() -> None:
    logits = torch.randn(2, 64, 2100, generator=torch.Generator().manual_seed(0)) * 4
    expected = DFL(16)(logits)
    got = ExpectationDFL(16)(logits)
    assert got.shape == expected.shape == (2, 4, 2100)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_swaps_arange_dfl_and_keeps_others() -> None:
    edited = DFL(16)
    edited.conv.weight.data.mul_(2)
    model = nn.Sequential(_Head(DFL(16)), _Head(edited), _Head(nn.Identity()))
    assert use_expectation_dfl(model) == 1
    assert isinstance(model[0].dfl, ExpectationDFL)
    assert model[1].dfl is edited
    assert isinstance(model[2].dfl, nn.Identity)
