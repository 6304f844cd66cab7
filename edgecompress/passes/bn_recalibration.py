"""BatchNorm recalibration after pruning (adaptive BN, as in EagleEye, Li et al. 2020).

A pruned channel takes its mean contribution away from every layer that reads it, but those
layers' BatchNorms keep the running mean and variance of the unpruned network, so the shift
passes through the whole model: on the demo model, pruning 10 % of channels per layer takes
mAP50 from 0.98 to 0.00, and re-estimating the statistics on 128 train images brings it back to
0.69 (``BENCHMARKS.md``). No weight changes, only the running statistics.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn


def recalibrate_batchnorm(model: nn.Module, batches: Iterable[np.ndarray]) -> int:
    """Re-estimate every BatchNorm's running mean/var as the exact average over ``batches``.

    The model is left in eval mode with its BN momenta restored; returns the number of images seen.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in norms]
    model.eval()
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: the result does not depend on batch order
        bn.train()
    seen = 0
    try:
        with torch.no_grad():
            for batch in batches:
                model(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
                seen += len(batch)
    finally:
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum
            bn.eval()
    return seen


def recalibration_batches(
    data_yaml: str | Path, imgsz: int, count: int, batch: int = 16, seed: int = 0
) -> list[np.ndarray]:
    """``count`` seeded train images of ``data_yaml`` through the deploy letterbox, in batches."""
    from edgecompress.calibration_set import select_images
    from edgecompress.config.calibration import CalibrationSpec
    from edgecompress.data import load_split
    from edgecompress.runtime.preprocess import preprocess, read_image

    split = load_split(data_yaml, "train", require_labels=False)
    spec = CalibrationSpec(name="bn-recalibration", split="train", count=count, seed=seed)
    chosen = select_images(split.images, spec)
    return [
        preprocess([read_image(p) for p in chosen[i : i + batch]], imgsz)[0]
        for i in range(0, len(chosen), batch)
    ]
