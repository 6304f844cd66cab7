"""PyTorch eager runtime: the uncompiled model, used as the reference for parity and the baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgecompress.backends.base import Runtime


class TorchRuntime(Runtime):
    """Runs a PyTorch detection model in eval mode on CPU and returns its raw head output."""

    name = "torch"

    def __init__(self, model: Any, threads: int | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        self._model = model.float().eval()
        self.precision = "fp32"
        self.executed_precision = "f32"  # the CPU kernels run float ops in fp32

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self._model(torch.from_numpy(batch))
        out = out[0] if isinstance(out, (list, tuple)) else out
        return out.numpy()

    @property
    def version(self) -> str:
        import torch

        return torch.__version__.split("+")[0]
