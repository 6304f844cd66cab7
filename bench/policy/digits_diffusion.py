"""DeepCache quality vs speed on a class-conditional diffusion UNet trained on sklearn's 8x8 digits.

    python bench/policy/digits_diffusion.py                        # train (~5 min CPU) + benchmark
    python bench/policy/digits_diffusion.py --intervals 1,2,3,5,10 --steps 50 --repeats 3

Trains a small class-conditional `diffusers.UNet2DModel` (DDPM noise, 1000 train timesteps) on the
train split of `sklearn.datasets.load_digits` (8x8 upsampled to 16x16, scaled to [-1, 1]), single
thread, seeded. Weights go to /tmp (reused when present unless --retrain). An RBF SVC trained on the
real 8x8 train digits judges the samples: a DDIM loop draws --per-class samples per digit at each
cache interval (`edgecompress.models.unet_cache.sample_with_cache`), with the same initial noise.
Reported per interval: p50 wall time of the whole batch, full/cached UNet calls, FLOPs per sample,
classifier accuracy (label = conditioning class), the Fréchet distance to the real test digits in
8x8 pixel space, and the RMS drift from the interval-1 samples.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "results"
UNET_CONFIG = {
    "sample_size": 16,
    "in_channels": 1,
    "out_channels": 1,
    "block_out_channels": (32, 64, 64),
    "down_block_types": ("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
    "up_block_types": ("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "attention_head_dim": 16,
    "num_class_embeds": 10,
}


def to_image(x8: np.ndarray) -> torch.Tensor:
    """8x8 digits (0..16) to 1x16x16 tensors in [-1, 1] (bilinear upsampling)."""
    x = torch.from_numpy(x8.reshape(-1, 1, 8, 8)).float() / 8.0 - 1.0
    return torch.nn.functional.interpolate(x, size=16, mode="bilinear", align_corners=False)


def to_digits(x: torch.Tensor) -> np.ndarray:
    """1x16x16 tensors in [-1, 1] back to flat 8x8 digits (0..16) by 2x2 average pooling."""
    x8 = torch.nn.functional.avg_pool2d(x.clamp(-1, 1), 2)
    return ((x8 + 1.0) * 8.0).reshape(len(x), 64).numpy().astype(np.float64)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature rows (covariances + 1e-2 I)."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    eps = 1e-2 * np.eye(a.shape[1])  # the digits' corner pixels are constant: regularise
    cov_a, cov_b = np.cov(a, rowvar=False) + eps, np.cov(b, rowvar=False) + eps
    covmean = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def train_unet(x: torch.Tensor, y: torch.Tensor, args: argparse.Namespace) -> tuple[object, float]:
    """Train the class-conditional UNet with the DDPM epsilon objective; return (EMA model, seconds)."""
    import copy

    from diffusers import DDPMScheduler, UNet2DModel

    torch.manual_seed(args.seed)
    unet = UNet2DModel(**UNET_CONFIG)
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    noise_sched = DDPMScheduler(num_train_timesteps=1000)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.0)
    warmup = max(1, args.train_steps // 20)

    def lr_at(step: int) -> float:
        """Linear warm-up, then cosine decay to zero."""
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, args.train_steps - warmup)))

    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    g = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for step in range(args.train_steps):
        idx = torch.randint(0, len(x), (args.batch,), generator=g)
        clean, labels = x[idx], y[idx]
        noise = torch.randn(clean.shape, generator=g)
        t = torch.randint(0, 1000, (args.batch,), generator=g)
        loss = torch.nn.functional.mse_loss(
            unet(noise_sched.add_noise(clean, noise, t), t, labels).sample, noise
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        lr_sched.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters(), strict=True):
                pe.lerp_(p, 1 - decay)
        if step % 100 == 0 or step == args.train_steps - 1:
            print(f"step {step:5d} loss {loss.item():.4f} {time.perf_counter() - start:.0f}s", flush=True)
    return ema, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", default="1,2,3,5,10")
    parser.add_argument("--steps", type=int, default=50, help="DDIM sampling steps")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--ema", type=float, default=0.995)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default="/tmp/edgecompress-digits-unet")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "digits-diffusion-cache"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    import diffusers
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    from edgecompress.models.unet_cache import DeepCacheUNet, flops_per_step, sample_with_cache

    digits = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(
        digits.data, digits.target, test_size=0.3, stratify=digits.target, random_state=args.seed
    )
    clf = SVC(gamma=0.001, C=10.0).fit(x_tr, y_tr)
    acc_real = float((clf.predict(x_te) == y_te).mean())
    acc_roundtrip = float((clf.predict(to_digits(to_image(x_te))) == y_te).mean())
    fd_real = frechet(x_tr, x_te)
    print(f"classifier: real test acc {acc_real:.4f}, 8->16->8 round trip {acc_roundtrip:.4f}", flush=True)

    weights = Path(args.weights)
    meta_path = weights / "train.json"
    if weights.exists() and meta_path.exists() and not args.retrain:
        unet = UNet2DModel.from_pretrained(weights).eval()
        train_s = json.loads(meta_path.read_text())["train_s"]
        print(f"loaded {weights} (trained in {train_s:.0f}s)", flush=True)
    else:
        x_img, y_lab = to_image(x_tr), torch.from_numpy(y_tr).long()
        unet, train_s = train_unet(x_img, y_lab, args)
        unet.save_pretrained(weights)
        meta_path.write_text(json.dumps({"train_s": train_s, "train_steps": args.train_steps}))
        print(f"trained in {train_s:.0f}s -> {weights}", flush=True)

    scheduler = DDIMScheduler.from_config(DDPMScheduler(num_train_timesteps=1000).config)
    labels = torch.arange(10).repeat_interleave(args.per_class)
    shape = (len(labels), 1, 16, 16)
    model = DeepCacheUNet(unet)
    probe = torch.zeros(1, 1, 16, 16)
    flops = flops_per_step(model, probe, 500, labels[:1])
    intervals = [int(v) for v in args.intervals.split(",")]
    times: dict[int, list[float]] = {i: [] for i in intervals}
    outs: dict[int, torch.Tensor] = {}
    stats: dict[int, dict[str, int]] = {i: {} for i in intervals}
    loads = []
    for rep in range(args.repeats):  # round-robin, so background load drifts hit every interval alike
        for interval in intervals:
            gen = torch.Generator().manual_seed(args.seed + 1)
            start = time.perf_counter()
            sample = sample_with_cache(
                model, scheduler, shape, labels, args.steps, interval, gen, stats[interval]
            )
            times[interval].append(time.perf_counter() - start)
            prev = outs.setdefault(interval, sample)
            assert torch.equal(prev, sample), "sampling is not deterministic"
            print(f"repeat {rep} interval {interval}: {times[interval][-1]:.2f}s", flush=True)
        loads.append(os.getloadavg()[0])
    reference = outs.get(1)
    rows = []
    for interval in intervals:
        out, st = outs[interval], stats[interval]
        gen_digits = to_digits(out)
        row = {
            "interval": interval,
            "steps": args.steps,
            "samples": len(labels),
            "full_calls": st["full"],
            "cached_calls": st["cached"],
            "mflops_per_sample": (st["full"] * flops["full"] + st["cached"] * flops["cached"]) / 1e6,
            "p50_s": statistics.median(times[interval]),
            "times_s": [round(t, 3) for t in times[interval]],
            "accuracy": float((clf.predict(gen_digits) == labels.numpy()).mean()),
            "fd_pixel": frechet(gen_digits, x_te),
            "rms_vs_interval1": None if reference is None else float((out - reference).pow(2).mean().sqrt()),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = next((r["p50_s"] for r in rows if r["interval"] == 1), rows[0]["p50_s"])
    full_flops = next(
        (r["mflops_per_sample"] for r in rows if r["interval"] == 1), rows[0]["mflops_per_sample"]
    )
    for row in rows:
        row["speedup"] = base / row["p50_s"]
        row["flops_speedup"] = full_flops / row["mflops_per_sample"]

    cpu = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout
    meta = {
        "command": "python " + " ".join([str(Path(sys.argv[0])), *sys.argv[1:]]),
        "cpu": cpu.split(":", 1)[-1].strip() or platform.processor(),
        "threads": torch.get_num_threads(),
        "loadavg_1min_per_round": [round(v, 2) for v in loads],
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
        },
        "unet": {k: list(v) if isinstance(v, tuple) else v for k, v in UNET_CONFIG.items()},
        "params": sum(p.numel() for p in unet.parameters()),
        "train_s": train_s,
        "train_steps": args.train_steps,
        "flops_full_step": flops["full"],
        "flops_cached_step": flops["cached"],
        "classifier_acc_real_test": acc_real,
        "classifier_acc_roundtrip": acc_roundtrip,
        "fd_pixel_real_train_vs_test": fd_real,
    }
    out_path = Path(args.out)
    out_path.with_suffix(".jsonl").write_text(
        "\n".join(json.dumps(r) for r in [{"meta": meta}, *rows]) + "\n"
    )
    out_path.with_suffix(".md").write_text(markdown(meta, rows, args))
    print(markdown(meta, rows, args))


def markdown(meta: dict, rows: list[dict], args: argparse.Namespace) -> str:
    """The results as a Markdown section."""
    lines = [
        "# DeepCache on a digits diffusion UNet (CPU, single thread)",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Machine: {meta['cpu']}, {meta['threads']} torch thread; another process shared the 2 cores "
        f"(1-min load average after each timing round: {meta['loadavg_1min_per_round']}). Versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + ".",
        "",
        f"UNet2DModel {meta['params'] / 1e6:.2f} M params, blocks {meta['unet']['down_block_types']}, "
        f"channels {meta['unet']['block_out_channels']}, 16x16x1, 10 classes; trained {meta['train_steps']} "
        f"steps x batch {args.batch} in {meta['train_s']:.0f} s (DDPM epsilon loss, 1000 timesteps, EMA).",
        f"Per step: full {meta['flops_full_step'] / 1e6:.1f} MFLOPs, cached "
        f"{meta['flops_cached_step'] / 1e6:.1f} MFLOPs per sample.",
        f"Judge: RBF SVC on real 8x8 digits, held-out accuracy {meta['classifier_acc_real_test']:.4f} "
        f"({meta['classifier_acc_roundtrip']:.4f} after the 8->16->8 round trip). "
        f"Pixel FD real train vs real test (floor): {meta['fd_pixel_real_train_vs_test']:.2f}.",
        "",
        f"DDIM {args.steps} steps, {rows[0]['samples']} samples ({args.per_class} per class) in one batch, "
        f"same noise for every interval; time = p50 of {args.repeats} runs of the whole batch (repeats "
        "round-robin over the intervals).",
        "",
        "| interval | full / cached UNet calls | MFLOPs/sample | FLOPs speedup | p50 s (batch) | ms/sample "
        "| speedup | accuracy | pixel FD | RMS vs interval 1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rms = "-" if r["rms_vs_interval1"] is None else f"{r['rms_vs_interval1']:.4f}"
        lines.append(
            f"| {r['interval']} | {r['full_calls']} / {r['cached_calls']} | {r['mflops_per_sample']:.0f} | "
            f"{r['flops_speedup']:.2f}x | "
            f"{r['p50_s']:.2f} | {1000 * r['p50_s'] / r['samples']:.1f} | {r['speedup']:.2f}x | "
            f"{r['accuracy']:.3f} | {r['fd_pixel']:.2f} | {rms} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
