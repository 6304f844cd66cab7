"""DeepCache feature caching (Ma et al., CVPR 2024) for `diffusers.UNet2DModel` denoisers.

A full step runs the whole UNet and caches the input of the shallowest up block; a cached step runs
only the embeddings, `conv_in`, `down_blocks[0]` and `up_blocks[-1]` on the cached feature. Import this
module where it is needed: it imports torch and diffusers.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from diffusers import UNet2DModel


def _timesteps(timestep: torch.Tensor | float | int, sample: torch.Tensor) -> torch.Tensor:
    """Broadcast a timestep to the batch exactly as `UNet2DModel.forward` does."""
    if not torch.is_tensor(timestep):
        timestep = torch.tensor([timestep], dtype=torch.long, device=sample.device)
    elif len(timestep.shape) == 0:
        timestep = timestep[None].to(sample.device)
    return timestep * torch.ones(sample.shape[0], dtype=timestep.dtype, device=timestep.device)


def cached_schedule(steps: int, interval: int) -> list[bool]:
    """Which of `steps` denoising steps run the full UNet: step 0 and every `interval`-th step."""
    if steps < 0 or interval < 1:
        raise ValueError(f"need steps >= 0 and interval >= 1, got steps={steps}, interval={interval}")
    return [i % interval == 0 for i in range(steps)]


class DeepCacheUNet(torch.nn.Module):
    """A `UNet2DModel` whose deep blocks can be skipped by reusing the last full step's high-level feature."""

    def __init__(self, unet: UNet2DModel, interval: int = 1) -> None:
        """Wrap `unet` (not copied); `interval` is the full-step period used by `sample_with_cache`."""
        super().__init__()
        _check_supported(unet)
        self.unet = unet
        self.interval = interval
        self.full_calls = 0
        self.cached_calls = 0
        self._feature: torch.Tensor | None = None
        self._skip: torch.Tensor | None = None

    def reset(self) -> None:
        """Drop the cached feature and zero the call counters."""
        self._feature, self._skip = None, None
        self.full_calls, self.cached_calls = 0, 0

    @property
    def has_cache(self) -> bool:
        """Whether a full step has filled the cache."""
        return self._feature is not None

    def _embedding(
        self, sample: torch.Tensor, timestep: torch.Tensor | float | int, class_labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Time (+ class) embedding and the broadcast timesteps, as in `UNet2DModel.forward`."""
        unet = self.unet
        timesteps = _timesteps(timestep, sample)
        emb = unet.time_embedding(unet.time_proj(timesteps).to(dtype=unet.dtype))
        if unet.class_embedding is not None:
            if class_labels is None:
                raise ValueError("class_labels should be provided when doing class conditioning")
            if unet.config.class_embed_type == "timestep":
                class_labels = unet.time_proj(class_labels)
            emb = emb + unet.class_embedding(class_labels).to(dtype=unet.dtype)
        elif class_labels is not None:
            raise ValueError("class_embedding needs to be initialized in order to use class conditioning")
        return emb, timesteps

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        class_labels: torch.Tensor | None = None,
        full: bool = True,
    ) -> torch.Tensor:
        """Predict the model output; `full=False` reuses the feature cached by the last full step."""
        unet = self.unet
        if not full:
            if self._feature is None:
                raise RuntimeError("DeepCacheUNet: no cached feature, run a full step first (or reset())")
            if self._feature.shape[0] != sample.shape[0]:
                raise ValueError(f"cached batch {self._feature.shape[0]} != sample batch {sample.shape[0]}")
        if unet.config.center_input_sample:
            sample = 2 * sample - 1.0
        emb, timesteps = self._embedding(sample, timestep, class_labels)

        skip_sample = sample
        sample = unet.conv_in(sample)
        res: tuple[torch.Tensor, ...] = (sample,)
        blocks = unet.down_blocks if full else unet.down_blocks[:1]
        for block in blocks:
            if hasattr(block, "skip_conv"):
                sample, res_samples, skip_sample = block(
                    hidden_states=sample, temb=emb, skip_sample=skip_sample
                )
            else:
                sample, res_samples = block(hidden_states=sample, temb=emb)
            res += res_samples

        last = unet.up_blocks[-1]
        if full:
            if unet.mid_block is not None:
                sample = unet.mid_block(sample, emb)
            skip_sample = None
            for block in unet.up_blocks[:-1]:
                res_samples, res = res[-len(block.resnets) :], res[: -len(block.resnets)]
                if hasattr(block, "skip_conv"):
                    sample, skip_sample = block(sample, res_samples, emb, skip_sample)
                else:
                    sample = block(sample, res_samples, emb)
            self._feature, self._skip = sample, skip_sample
            self.full_calls += 1
        else:
            sample, skip_sample = self._feature, self._skip  # type: ignore[assignment]
            res = res[: len(last.resnets)]
            self.cached_calls += 1
        if hasattr(last, "skip_conv"):
            sample, skip_sample = last(sample, res, emb, skip_sample)
        else:
            sample = last(sample, res, emb)

        sample = unet.conv_out(unet.conv_act(unet.conv_norm_out(sample)))
        if skip_sample is not None:
            sample += skip_sample
        if unet.config.time_embedding_type == "fourier":
            sample = sample / timesteps.reshape((sample.shape[0], *([1] * len(sample.shape[1:]))))
        return sample


def _check_supported(unet: Any) -> None:
    """Raise ValueError unless `unet` is a UNet2DModel whose shallow blocks DeepCache can split off."""
    if not isinstance(unet, UNet2DModel):
        raise ValueError(f"DeepCacheUNet supports diffusers.UNet2DModel only, got {type(unet).__name__}")
    n_down, n_up = len(unet.down_blocks), len(unet.up_blocks)
    if n_down < 2 or n_up != n_down:
        raise ValueError(f"DeepCache needs >= 2 down blocks and as many up blocks, got {n_down} and {n_up}")
    shallow = 1 + len(unet.down_blocks[0].resnets) + (unet.down_blocks[0].downsamplers is not None)
    if len(unet.up_blocks[-1].resnets) > shallow:
        raise ValueError("up_blocks[-1] needs skip connections from deeper than down_blocks[0]")


def sample_with_cache(
    unet: UNet2DModel | DeepCacheUNet,
    scheduler: Any,
    shape: tuple[int, ...],
    class_labels: torch.Tensor | None,
    steps: int,
    interval: int,
    generator: torch.Generator | None = None,
    stats: dict[str, int] | None = None,
) -> torch.Tensor:
    """Sample with a diffusers DDIM/DDPM scheduler, running full UNet steps per `cached_schedule`."""
    model = unet if isinstance(unet, DeepCacheUNet) else DeepCacheUNet(unet)
    model.interval = interval
    model.reset()
    device = next(model.parameters()).device
    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps
    sample = torch.randn(shape, generator=generator, device=device, dtype=model.unet.dtype)
    sample = sample * scheduler.init_noise_sigma
    schedule = cached_schedule(len(timesteps), interval)
    with torch.no_grad():
        for t, full in zip(timesteps, schedule, strict=True):
            x = scheduler.scale_model_input(sample, t)
            out = model(x, t, class_labels, full=full)
            sample = scheduler.step(out, t, sample, generator=generator).prev_sample
    if stats is not None:
        stats.update(full=model.full_calls, cached=model.cached_calls, steps=len(timesteps))
    model.reset()
    return sample


def flops_per_step(
    model: DeepCacheUNet, sample: torch.Tensor, timestep: int, class_labels: torch.Tensor | None = None
) -> dict[str, float]:
    """FLOPs of one full and one cached step (torch FlopCounterMode), and their ratio."""
    from torch.utils.flop_counter import FlopCounterMode

    counts = []
    with torch.no_grad():
        for full in (True, False):
            with FlopCounterMode(display=False) as counter:
                model(sample, timestep, class_labels, full=full)
            counts.append(counter.get_total_flops())
    model.reset()
    return {"full": counts[0], "cached": counts[1], "ratio": counts[1] / max(counts[0], 1)}


def expected_full_calls(steps: int, interval: int) -> int:
    """Number of full UNet calls `sample_with_cache` makes: ceil(steps / interval)."""
    return math.ceil(steps / interval)
