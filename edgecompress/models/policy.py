"""Policies (VLA and diffusion action heads): loading, the adapter contract, scoring and complexity.

The contract every policy implementation meets, and the only thing the passes use:
vision encoder → visual tokens → transformer *language module* (a list of decoder layers) → an
iterative action head. :class:`PolicyAdapter` implements it for the reference VLA
(:mod:`edgecompress.models.vla`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgecompress.errors import InputError
from edgecompress.models.base import ModelAdapter
from edgecompress.models.policy_data import Demonstrations
from edgecompress.models.vla.config import TokenPruning, VLAConfig, tokenize
from edgecompress.models.vla.network import ReferenceVLA

CHECKPOINT_FORMAT = "edgecompress-policy/1"
# predict(images uint8 (B, S, S, 3), text ids (B, L), states (B, s), noise (B, H, a)) -> actions (B, H, a)
PredictFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class PolicyAdapter(ModelAdapter):
    """A loaded policy and the operations the acceleration passes need."""

    family = "policy"
    task = "action"

    checkpoint: Path
    network: ReferenceVLA

    @classmethod
    def load(cls, path: str | Path) -> PolicyAdapter:
        """Load an edgecompress policy checkpoint (:func:`load_policy`)."""
        return load_policy(path)

    @property
    def input_size(self) -> int:
        """The camera image size the policy takes."""
        return self.config.image_size

    def editable(self) -> PolicyAdapter:
        """A copy the passes edit in place (this policy stays as it is)."""
        import copy

        return PolicyAdapter(self.checkpoint, copy.deepcopy(self.network))

    def with_model(self, model: Any, path: Path) -> PolicyAdapter:
        """Save the edited policy ``model`` at ``path`` and load it back."""
        return load_policy(model.save(path))

    def complexity(self, imgsz: int) -> tuple[int, float]:
        """Parameters and GFLOPs of one action chunk (:func:`complexity`; the image size is the policy's)."""
        sizes = complexity(self)
        return int(sizes["params"]), float(sizes["gflops"])

    def torch_runtime(self, threads: int | None) -> PredictFn:
        """The eager predict function, on ``threads`` torch threads."""
        if threads:
            torch.set_num_threads(threads)
        return self.torch_predict()

    @property
    def config(self) -> VLAConfig:
        """The network's settings (architecture and what the passes changed)."""
        return self.network.config

    def decoder_layers(self) -> torch.nn.ModuleList:
        """The language module's decoder layers, in order."""
        return self.network.language.layers

    def layer_importance(self, calibration: Demonstrations, batch: int, stack: str) -> list[float]:
        """1 − cosine of each decoder layer's input and output on ``calibration`` (module function)."""
        self._check_stack(stack)
        return layer_importance(self, self.observations(calibration), batch)

    def layer_labels(self, stack: str) -> list[int]:
        """The original index of each decoder layer still in the stack."""
        self._check_stack(stack)
        return list(self.config.kept_layers)

    @staticmethod
    def _check_stack(stack: str) -> None:
        if stack != "language":
            raise ValueError(f"the reference VLA prunes only its language layers, not {stack!r}")

    def mlps(self) -> list[torch.nn.Module]:
        """The decoder layers' MLPs (gate, up, down), in order."""
        return [layer.mlp for layer in self.decoder_layers()]  # type: ignore[misc]

    def intermediate_sizes(self) -> list[int]:
        """The hidden width of each decoder MLP."""
        return list(self.config.intermediate_sizes)

    def remove_layers(self, indices: list[int], stack: str = "language") -> None:
        """Drop the decoder layers at ``indices`` (positions in the current stack)."""
        self._check_stack(stack)
        config = self.config
        keep = [i for i in range(config.language_layers) if i not in set(indices)]
        if not keep:
            raise ValueError("layer pruning would remove every decoder layer")
        layers = self.decoder_layers()
        self.network.language.layers = torch.nn.ModuleList(layers[i] for i in keep)
        for position, layer in enumerate(self.network.language.layers):
            layer.self_attn.layer_idx = position  # type: ignore[union-attr]
        self._reconfigure(
            language_layers=len(keep),
            intermediate_sizes=[config.intermediate_sizes[i] for i in keep],
            kept_layers=[config.kept_layers[i] for i in keep],
        )

    def set_token_pruning(self, pruning: TokenPruning | None) -> None:
        """Prune visual tokens inside the language module (None: keep them all)."""
        self._reconfigure(token_pruning=pruning)

    def set_cache_interval(self, interval: int) -> None:
        """Recompute the action head's blocks every ``interval`` denoising steps."""
        self._reconfigure(cache_interval=interval)

    def language_layer_count(self) -> int:
        """Decoder layers of the language module (``token_prune`` cuts after one of them)."""
        return self.config.language_layers

    def visual_tokens_per_camera(self) -> int:
        """Visual tokens of the (one) camera image."""
        return self.config.visual_tokens

    def set_token_budget(self, after_layer: int, keep: int, keep_top: int) -> None:
        """Keep ``keep`` visual tokens after decoder layer ``after_layer`` (1-based)."""
        layers = self.config.language_layers
        if after_layer >= layers:
            raise ValueError(f"after_layer {after_layer} leaves no layer to prune for ({layers} layers)")
        self.set_token_pruning(TokenPruning(after_layer=after_layer, keep=keep, keep_top=keep_top))

    def denoising_steps(self) -> int:
        """Flow-matching steps per action chunk."""
        return self.config.denoise_steps

    def set_feature_cache(self, interval: int, layers: list[int] | None, branches: str) -> None:
        """Recompute the head's blocks every ``interval`` steps; the reference head reuses every block's
        three branches (``layers``/``branches`` other than all/"both" are refused)."""
        if layers is not None or branches != "both":
            raise ValueError(
                "the reference VLA's head caches every block's branches (layers: all, branches: both)"
            )
        self.set_cache_interval(interval)

    def set_intermediate_sizes(self, sizes: list[int]) -> None:
        """Record the decoder MLP widths after width pruning."""
        self._reconfigure(intermediate_sizes=sizes)

    def _reconfigure(self, **changes: Any) -> None:
        config = VLAConfig.model_validate({**self.config.model_dump(), **changes})
        self.network.config = self.network.language.config = config

    def observations(self, demos: Demonstrations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(images, text ids, states) of every frame, as the policy's predict function takes them."""
        config = self.config
        by_task = np.array(
            [tokenize(text, config.vocab, config.max_text_tokens) for text in demos.instructions]
        )
        return demos.images, by_task[demos.task_ids].astype(np.int64), demos.states

    def torch_predict(self) -> PredictFn:
        """The eager PyTorch predict function (float32, no gradients)."""
        network = self.network.eval()

        def predict(
            images: np.ndarray, text: np.ndarray, states: np.ndarray, noise: np.ndarray
        ) -> np.ndarray:
            with torch.no_grad():
                actions = network(
                    image_tensor(images),
                    torch.from_numpy(text),
                    torch.from_numpy(states),
                    torch.from_numpy(noise),
                )
            return actions.numpy()

        return predict

    def save(self, path: Path) -> Path:
        """Write this policy as an edgecompress policy checkpoint."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.model_dump(),
            "state_dict": self.network.state_dict(),
        }
        torch.save(payload, path)
        return path


def image_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (B, S, S, 3) → float (B, 3, S, S) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


def build_policy(config: VLAConfig, seed: int = 0) -> ReferenceVLA:
    """A freshly initialised reference VLA (seeded)."""
    torch.manual_seed(seed)
    return ReferenceVLA(config)


def load_policy(path: str | Path) -> PolicyAdapter:
    """Load an edgecompress policy checkpoint, with one clear error for each bad input."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"policy checkpoint not found: {path}", "check the path to your .pt file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch/pickle raise many types for a damaged file
        raise InputError(
            f"cannot load policy checkpoint {path}: {type(exc).__name__}",
            "the file is corrupt or not a torch checkpoint; save it again with PolicyAdapter.save",
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise InputError(
            f"{path} is not an edgecompress policy checkpoint",
            "train the reference VLA with `python bench/policy/train_vla.py` or save with PolicyAdapter.save",
        )
    network = ReferenceVLA(VLAConfig.model_validate(payload["config"]))
    try:
        network.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise InputError(
            f"{path}: weights do not match its config ({str(exc).splitlines()[0][:120]})",
            "the checkpoint was edited by hand; save it again with PolicyAdapter.save",
        ) from exc
    return PolicyAdapter(path, network.eval())


def layer_importance(
    policy: PolicyAdapter, observations: tuple[np.ndarray, np.ndarray, np.ndarray], batch: int = 16
) -> list[float]:
    """1 − mean cosine similarity of each decoder layer's input and output (all tokens, all observations)."""
    layers = policy.decoder_layers()
    totals, counts = torch.zeros(len(layers)), torch.zeros(len(layers))

    def hook(index: int) -> Any:
        def record(module: torch.nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
            hidden_in = args[0] if args else kwargs["hidden_states"]
            similarity = torch.nn.functional.cosine_similarity(hidden_in, output, dim=-1)
            totals[index] += similarity.sum()
            counts[index] += similarity.numel()

        return record

    handles = [layer.register_forward_hook(hook(i), with_kwargs=True) for i, layer in enumerate(layers)]
    images, text, states = observations
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch):
                part = slice(start, start + batch)
                policy.network.context(
                    image_tensor(images[part]), torch.from_numpy(text[part]), torch.from_numpy(states[part])
                )
    finally:
        for handle in handles:
            handle.remove()
    return (1.0 - totals / counts.clamp_min(1)).tolist()


def action_error(predict: PredictFn, policy: PolicyAdapter, demos: Demonstrations, seed: int = 0) -> float:
    """Mean squared error between predicted and expert action chunks on ``demos`` (fixed noise)."""
    config = policy.config
    images, text, states = policy.observations(demos)
    targets = demos.chunks(config.horizon)
    noise = np.random.default_rng(seed).standard_normal(targets.shape).astype(np.float32)
    errors = [
        np.mean(
            (predict(images[i : i + 1], text[i : i + 1], states[i : i + 1], noise[i : i + 1]) - targets[i])
            ** 2
        )
        for i in range(len(demos))
    ]
    return float(np.mean(errors))


def complexity(policy: PolicyAdapter) -> dict[str, float]:
    """Parameters and GFLOPs of one action chunk (prefix + every denoising step, caching included)."""
    from torch.utils.flop_counter import FlopCounterMode

    network, config = policy.network.eval(), policy.config
    size = config.image_size
    inputs = (
        torch.rand(1, 3, size, size),
        torch.ones(1, config.max_text_tokens, dtype=torch.long),
        torch.zeros(1, config.state_dim),
        torch.zeros(1, config.horizon, config.action_dim),
    )
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        network(*inputs)
    return {
        "params": float(sum(p.numel() for p in network.parameters())),
        "gflops": counter.get_total_flops() / 1e9,
    }
