"""DeepCache for diffusers UNet2DModel: exactness at interval 1, skipped deep blocks, schedules."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from edgecompress.models.unet_cache import (  # noqa: E402
    DeepCacheUNet,
    cached_schedule,
    flops_per_step,
    sample_with_cache,
)

BATCH = 4


def _unet(**overrides: object) -> diffusers.UNet2DModel:
    torch.manual_seed(0)
    config: dict[str, object] = {
        "sample_size": 8,
        "in_channels": 1,
        "out_channels": 1,
        "block_out_channels": (16, 32),
        "down_block_types": ("DownBlock2D", "AttnDownBlock2D"),
        "up_block_types": ("AttnUpBlock2D", "UpBlock2D"),
        "layers_per_block": 1,
        "norm_num_groups": 8,
        "attention_head_dim": 8,
        "num_class_embeds": 10,
    }
    config.update(overrides)
    return diffusers.UNet2DModel(**config).eval()


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(BATCH, 1, 8, 8, generator=g), torch.arange(BATCH) % 10


def _deep_modules(unet: diffusers.UNet2DModel) -> list[torch.nn.Module]:
    return [*unet.down_blocks[1:], unet.mid_block, *unet.up_blocks[:-1]]


def _count_calls(modules: list[torch.nn.Module]) -> list[int]:
    counts = [0] * len(modules)
    for i, module in enumerate(modules):

        def hook(*_: object, i: int = i) -> None:
            counts[i] += 1

        module.register_forward_hook(hook)
    return counts


@pytest.mark.parametrize(
    "overrides",
    [{}, {"resnet_time_scale_shift": "scale_shift", "down_block_types": ("AttnDownBlock2D", "DownBlock2D")}],
)
def test_interval_one_matches_plain_unet(overrides: dict[str, object]) -> None:
    unet = _unet(**overrides)
    model = DeepCacheUNet(unet)
    x, labels = _inputs()
    with torch.no_grad():
        for t in (0, 10, 500, 999, torch.tensor(250), torch.full((BATCH,), 37)):
            ref = unet(x, t, labels).sample
            out = model(x, t, labels, full=True)
            torch.testing.assert_close(out, ref, atol=1e-6, rtol=0)


def test_cached_step_skips_deep_blocks_and_stays_close() -> None:
    unet = _unet()
    model = DeepCacheUNet(unet)
    x, labels = _inputs()
    counts = _count_calls(_deep_modules(unet))
    with torch.no_grad():
        model(x, 500, labels, full=True)
        assert counts == [1] * len(counts)
        cached = model(x, 480, labels, full=False)
        assert counts == [1] * len(counts)  # deep blocks did not run
        exact = unet(x, 480, labels).sample
    assert model.full_calls == 1 and model.cached_calls == 1
    diff = (cached - exact).abs().max().item()
    assert 0 < diff < 0.5 * exact.abs().max().item()


def test_cached_step_needs_a_full_step_first() -> None:
    model = DeepCacheUNet(_unet())
    x, labels = _inputs()
    with pytest.raises(RuntimeError, match="full step first"), torch.no_grad():
        model(x, 10, labels, full=False)


def test_cached_schedule() -> None:
    assert [i for i, full in enumerate(cached_schedule(10, 3)) if full] == [0, 3, 6, 9]
    assert all(cached_schedule(5, 1))
    with pytest.raises(ValueError):
        cached_schedule(10, 0)


@pytest.mark.parametrize("interval", [1, 3, 4])
def test_sampling_runs_deep_blocks_ceil_steps_over_interval(interval: int) -> None:
    unet = _unet()
    counts = _count_calls(_deep_modules(unet))
    scheduler = diffusers.DDIMScheduler(num_train_timesteps=1000)
    stats: dict[str, int] = {}
    steps = 10
    _, labels = _inputs()
    out = sample_with_cache(
        unet, scheduler, (BATCH, 1, 8, 8), labels, steps, interval, torch.Generator().manual_seed(0), stats
    )
    assert out.shape == (BATCH, 1, 8, 8) and torch.isfinite(out).all()
    assert counts == [math.ceil(steps / interval)] * len(counts)
    assert stats == {
        "full": math.ceil(steps / interval),
        "cached": steps - math.ceil(steps / interval),
        "steps": 10,
    }


def test_sampling_interval_one_equals_plain_loop() -> None:
    unet = _unet()
    _, labels = _inputs()
    scheduler = diffusers.DDIMScheduler(num_train_timesteps=1000)
    cached = sample_with_cache(
        unet, scheduler, (BATCH, 1, 8, 8), labels, 5, 1, torch.Generator().manual_seed(3)
    )
    scheduler.set_timesteps(5)
    x = torch.randn(BATCH, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for t in scheduler.timesteps:
            x = scheduler.step(unet(x, t, labels).sample, t, x).prev_sample
    torch.testing.assert_close(cached, x, atol=1e-6, rtol=0)


def test_flops_cached_step_is_cheaper() -> None:
    x, labels = _inputs()
    flops = flops_per_step(DeepCacheUNet(_unet()), x, 10, labels)
    assert 0 < flops["cached"] < flops["full"]


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "block_out_channels": (16,),
            "down_block_types": ("DownBlock2D",),
            "up_block_types": ("UpBlock2D",),
        },
    ],
)
def test_unsupported_config_raises(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=">= 2 down blocks"):
        DeepCacheUNet(_unet(**overrides))
    with pytest.raises(ValueError, match="UNet2DModel only"):
        DeepCacheUNet(torch.nn.Linear(2, 2))  # type: ignore[arg-type]
