"""Split-free, prunable equivalents of Ultralytics' CSP blocks.

``C2f``/``C3k2`` and ``C2PSA`` split one conv's output in two (``chunk``/``split``), which
torch-pruning's dependency graph cannot follow (IndexError during pruning). Here the conv is cut
into two convs with the weights copied, so outputs are identical and every channel is traceable.
This module path is stable: pickled pruned checkpoints reference it, so ``YOLO(path)`` reloads them
wherever edgecompress is installed. Importing it (which unpickling such a checkpoint does) also
teaches Ultralytics' ``DetectionTrainer`` to train a model made of these blocks as it is: its stock
``get_model`` rebuilds the full-width architecture from the YAML and keeps only the weights whose
shapes still match, so a plain ``YOLO("pruned.pt").train(...)`` would silently un-prune the model.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from edgecompress.models.ultralytics_compat import keep_compressed_architecture_in_training


def _split_conv(conv: nn.Module, first: int) -> tuple[nn.Module, nn.Module]:
    """Cut an Ultralytics ``Conv`` (conv + BN + act) into two along its output channels."""
    head, tail = copy.deepcopy(conv), copy.deepcopy(conv)
    for part, rows in ((head, slice(0, first)), (tail, slice(first, None))):
        part.conv.weight = nn.Parameter(conv.conv.weight.data[rows].clone())
        part.conv.out_channels = part.conv.weight.shape[0]
        if part.conv.bias is not None:
            part.conv.bias = nn.Parameter(conv.conv.bias.data[rows].clone())
        bn = part.bn
        bn.weight = nn.Parameter(conv.bn.weight.data[rows].clone())
        bn.bias = nn.Parameter(conv.bn.bias.data[rows].clone())
        bn.running_mean = conv.bn.running_mean[rows].clone()
        bn.running_var = conv.bn.running_var[rows].clone()
        bn.num_features = bn.weight.shape[0]
    return head, tail


class _SplitBlock(nn.Module):
    """A CSP block whose ``cv1`` is cut into ``cv0`` (first half) and ``cv1`` (second half)."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.cv0, self.cv1 = _split_conv(block.cv1, block.c)
        self.cv2 = block.cv2
        self.m = block.m
        for name in ("f", "i", "type", "np"):  # Ultralytics graph bookkeeping
            if hasattr(block, name):
                setattr(self, name, getattr(block, name))


class C2fSplit(_SplitBlock):
    """``C2f`` / ``C3k2`` without the split."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same output as the original block."""
        y = [self.cv0(x), self.cv1(x)]
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class C2PSASplit(_SplitBlock):
    """``C2PSA`` without the split; the attention branch ``m`` is kept as is."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same output as the original block."""
        return self.cv2(torch.cat((self.cv0(x), self.m(self.cv1(x))), 1))


def make_prunable(model: nn.Module) -> int:
    """Replace every C2f / C3k2 / C2PSA block of ``model`` in place; return how many were replaced."""
    from ultralytics.nn.modules.block import C2PSA, C2f

    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, C2f):
                setattr(parent, name, C2fSplit(child))
            elif isinstance(child, C2PSA):
                setattr(parent, name, C2PSASplit(child))
            else:
                continue
            replaced += 1
    return replaced


def is_split_free(model: nn.Module) -> bool:
    """Whether ``model`` contains edgecompress' split-free blocks (made prunable, possibly pruned)."""
    return any(isinstance(m, _SplitBlock) for m in model.modules())


def trainable_as_is(weights: nn.Module, args: object) -> nn.Module:
    """The loaded module itself, ready for Ultralytics' trainer (instead of a rebuild from its YAML)."""
    model = weights.float()
    model.args = args
    return model


keep_compressed_architecture_in_training(is_split_free, trainable_as_is)
