"""What the YOLO Detect head fixes: the layers whose widths are set by the output format."""

from __future__ import annotations

from torch import nn


def head_output_layers(model: nn.Module) -> list[nn.Module]:
    """The Detect head's final box/class convs and DFL: their widths are fixed by the output format."""
    detect = model.model[-1]
    ignored: list[nn.Module] = []
    for branch in ("cv2", "cv3", "one2one_cv2", "one2one_cv3"):
        for seq in getattr(detect, branch, []) or []:
            ignored.append(seq[-1])
    if getattr(detect, "dfl", None) is not None:
        ignored.append(detect.dfl)
    return ignored
