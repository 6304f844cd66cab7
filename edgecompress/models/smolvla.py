"""LeRobot's SmolVLA as a model family: a user's ``save_pretrained`` folder, loaded offline.

The folder holds ``config.json`` (``"type": "smolvla"``) and ``model.safetensors``. The policy is
built with LeRobot's own code (:mod:`edgecompress.models.lerobot_compat` keeps it offline) and runs
on the observations LeRobot's pre-processor produces (:class:`Observation`: images in [0, 1],
task tokens, state); actions come out in the policy's own (normalized) action space, as from
``SmolVLAPolicy.predict_action_chunk``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.errors import InputError
from edgecompress.models.base import ModelAdapter
from edgecompress.models.smolvla_observation import Observation
from edgecompress.models.smolvla_settings import LoopSettings

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LOCAL_VLM = "vlm"  # a backbone config saved beside the policy
EMPTY_CAMERA = "observation.images.empty_camera_"
# predict(observation, noise (B, chunk, max_action_dim)) -> actions (B, chunk, action_dim)
PredictFn = Callable[[Observation, np.ndarray], np.ndarray]


def read_policy_config(folder: Path) -> dict[str, Any]:
    """The folder's ``config.json`` if it is a SmolVLA policy's (no LeRobot needed); InputError if not."""
    path = folder / CONFIG_FILE
    hint = "pass the folder SmolVLAPolicy.save_pretrained wrote (config.json and model.safetensors)"
    if not folder.is_dir():
        raise InputError(f"SmolVLA policy folder not found: {folder}", hint)
    if not path.is_file():
        raise InputError(f"{folder} has no {CONFIG_FILE}", hint)
    try:
        config = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc})", hint) from exc
    kind = config.get("type") if isinstance(config, dict) else None
    if kind != "smolvla":
        raise InputError(f"{path} is a {kind or 'untyped'} config, not a SmolVLA policy", hint)
    if not (folder / WEIGHTS_FILE).is_file():
        raise InputError(f"{folder} has no {WEIGHTS_FILE}", hint)
    return config


@dataclass
class SmolVLAAdapter(ModelAdapter):
    """A loaded SmolVLA policy (``lerobot.policies.smolvla.SmolVLAPolicy``, eval mode, CPU, fp32)."""

    family = "smolvla"
    task = "action"

    checkpoint: Path  # the policy folder
    policy: Any
    kept: dict[str, list[int]] = field(default_factory=dict)  # original index of each layer, per stack
    loop: LoopSettings = field(default_factory=LoopSettings)  # token pruning and feature caching
    _flops: dict[str, float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        from edgecompress.models.smolvla_edit import default_kept

        self.kept = self.kept or default_kept(self.policy)

    @classmethod
    def load(cls, path: str | Path) -> SmolVLAAdapter:
        """Load a SmolVLA ``save_pretrained`` folder (:func:`load_smolvla`)."""
        return load_smolvla(path)

    @property
    def input_size(self) -> int:
        """The square side the cameras are resized and padded to."""
        return int(self.policy.config.resize_imgs_with_padding[0])

    def editable(self) -> SmolVLAAdapter:
        """A copy the passes edit in place."""
        return SmolVLAAdapter(
            self.checkpoint, copy.deepcopy(self.policy), copy.deepcopy(self.kept), self.loop
        )

    def with_model(self, model: Any, path: Path) -> SmolVLAAdapter:
        """Save ``model`` (an adapter a pass edited, or a policy) as a folder at ``path`` and load it back."""
        if isinstance(model, SmolVLAAdapter):
            save_smolvla(model.policy, path, model.kept, model.loop)
        else:
            save_smolvla(model, path)
        return load_smolvla(path)

    def complexity(self, imgsz: int) -> tuple[int, float]:
        """Parameters and GFLOPs of one action chunk (the image size is the policy's)."""
        return self.params(), self.flops()["total"]

    def flops(self) -> dict[str, float]:
        """GFLOPs of one chunk by part (:func:`edgecompress.models.smolvla_flops.flops`), counted once."""
        if self._flops is None:
            from edgecompress.models.smolvla_flops import flops

            self._flops = flops(self)
        return self._flops

    def params(self) -> int:
        """Every parameter of the policy (the VLM's unused ``lm_head`` included, as LeRobot saves it)."""
        return int(sum(p.numel() for p in self.policy.parameters()))

    def fingerprint(self) -> str:
        """sha256 of every file the folder rebuilds the policy from: weights, config, and where present
        the backbone config and ``compression.json`` (narrowed MLPs), so a resume sees any of them change."""
        import hashlib

        from edgecompress.artifact import sha256_file
        from edgecompress.models.smolvla_edit import COMPRESSION_FILE

        weights, config = (sha256_file(self.checkpoint / name) for name in (WEIGHTS_FILE, CONFIG_FILE))
        extras = [self.checkpoint / LOCAL_VLM / CONFIG_FILE, self.checkpoint / COMPRESSION_FILE]
        rest = hashlib.sha256("".join(sha256_file(p) for p in extras if p.exists()).encode()).hexdigest()
        return weights[:32] + config[:16] + rest[:16]

    # what the compression passes call (the model knowledge is in smolvla_edit)

    def layer_importance(self, calibration: list[Observation], batch: int, stack: str) -> list[float]:
        """1 − cosine of input and output of each removable unit of ``stack`` ("language": VLM and
        expert layers in self/cross groups; "vision": the vision encoder layers) on ``calibration``."""
        from edgecompress.models.smolvla_edit import language_redundancy, vision_redundancy

        self._check_stack(stack)
        measure = language_redundancy if stack == "language" else vision_redundancy
        return measure(self, calibration)

    def layer_labels(self, stack: str) -> list[str]:
        """One label per removable unit of ``stack``: the original indices of its layers (``4-5``)."""
        from edgecompress.models.smolvla_edit import language_units

        self._check_stack(stack)
        kept = self.kept[stack]
        if stack == "vision":
            return [str(index) for index in kept]
        return ["-".join(str(kept[i]) for i in unit) for unit in language_units(self.policy)]

    def remove_layers(self, indices: list[int], stack: str) -> None:
        """Drop the units of ``stack`` at ``indices`` (positions among :meth:`layer_labels`)."""
        from edgecompress.models.smolvla_edit import remove_language_units, remove_vision_layers

        self._check_stack(stack)
        if stack == "language":
            self._check_loop_unchanged("layer_prune")
            keep = remove_language_units(self.policy, indices)
        else:
            keep = remove_vision_layers(self.policy, indices)
            self.policy.config.vlm_model_name = LOCAL_VLM  # the changed backbone is saved beside the policy
        self.kept[stack] = [self.kept[stack][i] for i in keep]
        self._flops = None

    def mlps(self) -> list[Any]:
        """The Llama MLP modules a width pass narrows: VLM layers, then expert layers."""
        from edgecompress.models.smolvla_edit import mlps

        return mlps(self.policy)

    def intermediate_sizes(self) -> list[int]:
        """The hidden width of each of :meth:`mlps`."""
        return [int(mlp.gate_proj.out_features) for mlp in self.mlps()]

    def set_intermediate_sizes(self, sizes: list[int]) -> None:
        """Take note of MLPs narrowed in place (saved in ``compression.json``)."""
        if sizes != self.intermediate_sizes():
            raise ValueError("the MLP widths given differ from the modules' own")
        self._flops = None

    def set_input_size(self, size: int) -> None:
        """Resize and pad every camera to ``size`` (fewer patches and visual tokens; no weight changes)."""
        from edgecompress.models.smolvla_edit import check_input_size

        check_input_size(self.policy, size)
        if self.loop.token_pruning is not None:
            self._check_loop_unchanged("resolution")
        self.policy.config.resize_imgs_with_padding = (size, size)
        self._flops = None

    def language_layer_count(self) -> int:
        """VLM layers the prefix runs (``token_prune`` cuts after one of them)."""
        return int(self.policy.model.vlm_with_expert.num_vlm_layers)

    def visual_tokens_per_camera(self) -> int:
        """Visual tokens each camera image becomes at the current resolution."""
        from edgecompress.models.smolvla_loop import visual_tokens_per_camera

        return visual_tokens_per_camera(self.policy)

    def set_token_budget(self, after_layer: int, keep: int, keep_top: int) -> None:
        """Keep ``keep`` visual tokens per camera after VLM layer ``after_layer`` (1-based)."""
        from edgecompress.models.smolvla_settings import TokenPruning

        if not 1 <= after_layer < self.language_layer_count():
            raise ValueError(
                f"after_layer {after_layer} leaves no VLM layer to prune for ({self.language_layer_count()})"
            )
        if not 1 <= keep <= self.visual_tokens_per_camera():
            raise ValueError(f"keep {keep} is not in 1..{self.visual_tokens_per_camera()} tokens per camera")
        self.loop = replace(self.loop, token_pruning=TokenPruning(after_layer, keep, min(keep_top, keep)))
        self._flops = None

    def denoising_steps(self) -> int:
        """Flow-matching steps per action chunk."""
        return int(self.policy.config.num_steps)

    def expert_layer_count(self) -> int:
        """Layers of the action expert (``feature_cache`` reuses branch outputs of some of them)."""
        return len(self.policy.model.vlm_with_expert.lm_expert.layers)

    def set_feature_cache(self, interval: int, layers: list[int] | None, branches: str) -> None:
        """Run the expert in full every ``interval`` steps; in between ``layers`` (all if None) reuse their
        ``branches`` ("attention", "mlp" or "both") from the last full step."""
        from edgecompress.models.smolvla_settings import BRANCHES, FeatureCache

        count = self.expert_layer_count()
        chosen = tuple(range(count)) if layers is None else tuple(sorted(set(layers)))
        if any(not 0 <= index < count for index in chosen) or not chosen:
            raise ValueError(f"feature_cache layers {layers} are not positions of the {count} expert layers")
        if branches not in BRANCHES:
            raise ValueError(f"branches must be one of {', '.join(BRANCHES)}, not {branches!r}")
        cache = FeatureCache(interval, chosen, branches) if interval > 1 else None
        self.loop = replace(self.loop, feature_cache=cache)
        self._flops = None

    def _check_loop_unchanged(self, name: str) -> None:
        if self.loop.changed:
            raise ValueError(
                f"{name} must run before token_prune and feature_cache (their settings name layer "
                "positions and token counts that it would change)"
            )

    def _check_stack(self, stack: str) -> None:
        from edgecompress.models.smolvla_edit import STACKS

        if stack not in STACKS:
            raise ValueError(f"SmolVLA has no {stack!r} layers; prunable stacks: {', '.join(STACKS)}")

    def torch_runtime(self, threads: int | None) -> PredictFn:
        """The eager predict function (``predict_action_chunk``), on ``threads`` torch threads."""
        import torch

        if threads:
            torch.set_num_threads(threads)
        return self.torch_predict()

    def cameras(self) -> list[str]:
        """The camera keys a batch carries, in the policy's order (LeRobot adds the empty cameras)."""
        return [key for key in self.policy.config.image_features if not key.startswith(EMPTY_CAMERA)]

    def meta(self) -> dict[str, Any]:
        """Shapes and loop settings the lowered graphs and their runtime need."""
        config = self.policy.config
        return {
            "cameras": self.cameras(),
            "camera_shapes": [list(config.image_features[key].shape) for key in self.cameras()],
            "lang_length": int(config.tokenizer_max_length),
            "vocab_size": int(self.policy.model.vlm_with_expert.config.text_config.vocab_size),
            "state_dim": int(config.robot_state_feature.shape[0]),
            "action_dim": int(config.action_feature.shape[0]),
            "max_action_dim": int(config.max_action_dim),
            "chunk_size": int(config.chunk_size),
            "num_steps": int(config.num_steps),
        }

    def batch(self, observation: Observation) -> dict[str, Any]:
        """The observation as the batch ``SmolVLAPolicy`` takes."""
        import torch

        batch: dict[str, Any] = {
            key: torch.from_numpy(image)
            for key, image in zip(self.cameras(), observation.images, strict=True)
        }
        batch["observation.state"] = torch.from_numpy(observation.state)
        batch["observation.language.tokens"] = torch.from_numpy(observation.tokens)
        batch["observation.language.attention_mask"] = torch.from_numpy(observation.mask)
        return batch

    def torch_predict(self) -> PredictFn:
        """The eager PyTorch predict function (float32, no gradients)."""
        import torch

        from edgecompress.models.smolvla_loop import sample_actions

        policy, loop = self.policy.eval(), self.loop

        def predict(observation: Observation, noise: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                policy.reset()
                if loop.changed:  # the loop a pass changed; LeRobot's own otherwise
                    actions = sample_actions(policy, self.batch(observation), torch.from_numpy(noise), loop)
                else:
                    actions = policy.predict_action_chunk(
                        self.batch(observation), noise=torch.from_numpy(noise)
                    )
            return actions.numpy()

        return predict


def save_smolvla(
    policy: Any, folder: Path, kept: dict[str, list[int]] | None = None, loop: LoopSettings | None = None
) -> Path:
    """Write ``policy`` with LeRobot's ``save_pretrained`` (config.json and model.safetensors).

    A backbone that is not a known Hub id (or was changed by a pass) gets its config written to
    ``folder/vlm`` (and ``vlm_model_name`` points there), so the folder loads on its own; what no
    config can say (per-layer MLP widths, the original indices of kept layers) goes to
    ``compression.json``, with the loop's token pruning and feature caching.
    """
    from edgecompress.models.smolvla_edit import default_kept, write_compression
    from edgecompress.models.smolvla_vlm import KNOWN_VLMS

    folder.mkdir(parents=True, exist_ok=True)
    if policy.config.vlm_model_name not in KNOWN_VLMS:
        policy.model.vlm_with_expert.config.save_pretrained(folder / LOCAL_VLM)
        policy.config.vlm_model_name = LOCAL_VLM
    policy.save_pretrained(folder)
    write_compression(policy, folder, kept or default_kept(policy), loop or LoopSettings())
    return folder


def load_smolvla(path: str | Path) -> SmolVLAAdapter:
    """Load a SmolVLA policy folder offline, with one clear InputError for each bad input."""
    from edgecompress.models.lerobot_compat import offline_vlm, require_lerobot
    from edgecompress.models.smolvla_edit import apply_mlp_widths
    from edgecompress.models.smolvla_vlm import vlm_config

    folder = Path(path)
    read_policy_config(folder)
    require_lerobot()
    config = _policy_config(folder)
    compression = _compression(folder)
    with offline_vlm(vlm_config(config.vlm_model_name, folder)), _quiet():
        from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy

        policy = SmolVLAPolicy(config)
    try:
        apply_mlp_widths(policy, compression.get("mlp_widths", {}))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{folder}: {exc}", "save the policy again with edgecompress") from exc
    _load_weights(policy, folder / WEIGHTS_FILE)
    try:
        loop = LoopSettings.from_json(compression)
    except (KeyError, TypeError) as exc:
        raise InputError(f"{folder}: {exc}", "save the policy again with edgecompress") from exc
    return SmolVLAAdapter(folder, policy.eval(), compression.get("kept_layers", {}), loop)


def _compression(folder: Path) -> dict[str, Any]:
    from edgecompress.models.smolvla_edit import read_compression

    try:
        return read_compression(folder)
    except ValueError as exc:  # json's decode error is a ValueError too
        raise InputError(f"{folder}: {exc}", "save the policy again with edgecompress") from exc


def _policy_config(folder: Path) -> Any:
    from lerobot.configs.policies import PreTrainedConfig

    try:
        with _quiet():  # the base class reads "type" and picks SmolVLAConfig (it registers on import)
            import lerobot.policies.smolvla.configuration_smolvla  # noqa: F401

            config = PreTrainedConfig.from_pretrained(folder)
    except Exception as exc:  # draccus raises its own parsing errors for unknown or mistyped keys
        raise InputError(
            f"{folder / CONFIG_FILE} does not parse as a SmolVLA config: {str(exc).splitlines()[0][:160]}",
            "save it again with SmolVLAPolicy.save_pretrained (lerobot 0.4.4)",
        ) from exc
    if config.adapt_to_pi_aloha:
        raise InputError("SmolVLA with adapt_to_pi_aloha is not supported", "set adapt_to_pi_aloha to false")
    if config.robot_state_feature is None or config.action_feature is None or not config.image_features:
        raise InputError(
            f"{folder / CONFIG_FILE} lacks observation.state, action or a camera feature",
            "save the policy after training it on a dataset (its features are set then)",
        )
    # weights come from model.safetensors; nothing is compiled, downloaded or put on a GPU
    config.device, config.load_vlm_weights, config.compile_model = "cpu", False, False
    return config


def _load_weights(policy: Any, path: Path) -> None:
    from safetensors.torch import load_model

    try:
        missing, _ = load_model(policy, str(path), strict=False, device="cpu")
    except Exception as exc:  # safetensors raises for a damaged file and for shape mismatches
        raise InputError(
            f"cannot load {path}: {str(exc).splitlines()[0][:160]}",
            "the weights do not match config.json; save the policy again with save_pretrained",
        ) from exc
    if missing:
        raise InputError(
            f"{path} lacks {len(missing)} weights of its config (first: {missing[0]})",
            "the weights do not match config.json; save the policy again with save_pretrained",
        )


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence LeRobot's prints and warnings while it builds (``Reducing the number of VLM layers``)."""
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)
