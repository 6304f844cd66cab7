"""The reference vision-language-action policy (a small CogACT/pi0-shaped model defined here).

Observation → visual tokens (a small ViT) + instruction tokens + one state token → a Llama decoder
stack built from ``transformers``' own classes (the *language module*) → its output tokens condition a
DiT action head that integrates a flow from noise to an action chunk.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from edgecompress.models.vla.config import VLAConfig
from edgecompress.models.vla.head import ActionHead, sample_actions
from edgecompress.models.vla.tokens import select_visual_tokens


class VisionEncoder(nn.Module):
    """Patch embedding and a few pre-norm transformer blocks: image (B, 3, S, S) in [0, 1] → tokens."""

    def __init__(self, config: VLAConfig) -> None:
        super().__init__()
        dim = config.hidden_size
        self.patch = nn.Conv2d(3, dim, config.patch_size, stride=config.patch_size)
        self.position = nn.Parameter(torch.randn(1, config.visual_tokens, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim, config.heads, 2 * dim, 0.0, "gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, config.vision_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Visual tokens (B, N, D)."""
        x = self.patch(images * 2.0 - 1.0).flatten(2).transpose(1, 2) + self.position
        return self.norm(self.blocks(x))


def llama_config(config: VLAConfig, intermediate_size: int) -> Any:
    """A ``transformers`` LlamaConfig for one decoder layer of the language module (eager attention)."""
    from transformers import LlamaConfig

    llama = LlamaConfig(
        hidden_size=config.hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=config.language_layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        vocab_size=len(config.vocab),
        max_position_embeddings=config.sequence_length,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=0,
    )
    llama._attn_implementation = "eager"  # attention weights for token scoring; plain ops for ONNX
    return llama


def causal_mask(length: int, device: torch.device) -> torch.Tensor:
    """Additive causal mask (1, 1, L, L)."""
    upper = torch.ones(length, length, dtype=torch.bool, device=device).triu(1)
    return torch.zeros(length, length, device=device).masked_fill(upper, -1e9)[None, None]


class LanguageModule(nn.Module):
    """Llama decoder layers over [visual | text | state] tokens, with optional visual-token pruning."""

    def __init__(self, config: VLAConfig) -> None:
        super().__init__()
        from transformers.models.llama.modeling_llama import (
            LlamaDecoderLayer,
            LlamaRMSNorm,
            LlamaRotaryEmbedding,
        )

        self.config = config
        self.embed_tokens = nn.Embedding(len(config.vocab), config.hidden_size, padding_idx=0)
        self.layers = nn.ModuleList(
            LlamaDecoderLayer(llama_config(config, width), index)
            for index, width in enumerate(config.intermediate_sizes)
        )
        self.rotary = LlamaRotaryEmbedding(llama_config(config, config.intermediate_sizes[0]))
        self.norm = LlamaRMSNorm(config.hidden_size)

    def forward(self, hidden: torch.Tensor, text_ids: torch.Tensor) -> torch.Tensor:
        """Output tokens (B, T', D) of the stack for input ``hidden`` (B, T, D)."""
        batch, length, _ = hidden.shape
        positions = torch.arange(length, device=hidden.device).expand(batch, length)
        pruning = self.config.token_pruning
        attention: list[torch.Tensor] = []  # the scoring layer's weights (B, heads, T, T), eager attention

        def keep_weights(_module: nn.Module, _args: tuple, output: tuple) -> None:
            attention.append(output[1])

        for index, layer in enumerate(self.layers):
            mask = causal_mask(hidden.shape[1], hidden.device)
            rotary = self.rotary(hidden, positions)
            scoring = pruning is not None and index + 1 == pruning.after_layer
            attn: Any = layer.self_attn
            handle = attn.register_forward_hook(keep_weights) if scoring else None
            try:
                hidden = layer(
                    hidden, attention_mask=mask, position_ids=positions, position_embeddings=rotary
                )
            finally:
                if handle is not None:
                    handle.remove()
            if scoring:
                hidden, positions = self._prune_visual(hidden, positions, attention[0], text_ids)
        return self.norm(hidden)

    def _prune_visual(
        self, hidden: torch.Tensor, positions: torch.Tensor, weights: torch.Tensor, text_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep the selected visual tokens and every task token; positions keep their original values."""
        pruning, visual = self.config.token_pruning, self.config.visual_tokens
        assert pruning is not None
        # task queries: the instruction's words (not padding) and the state token
        queries = torch.cat([text_ids != 0, torch.ones_like(text_ids[:, :1], dtype=torch.bool)], dim=1)
        received = weights.mean(dim=1)[:, visual:, :visual]  # (B, task tokens, visual)
        scores = (received * queries[..., None]).sum(1) / queries.sum(1, keepdim=True)
        keep = select_visual_tokens(scores, hidden[:, :visual], pruning.keep, pruning.keep_top)
        task = torch.arange(visual, hidden.shape[1], device=hidden.device).expand(hidden.shape[0], -1)
        index = torch.cat([keep, task], dim=1)
        gathered = torch.gather(hidden, 1, index[..., None].expand(-1, -1, hidden.shape[-1]))
        return gathered, torch.gather(positions, 1, index)


class ReferenceVLA(nn.Module):
    """The whole policy: ``forward(images, text_ids, state, noise)`` → action chunk (B, horizon, A)."""

    state_mean: torch.Tensor
    state_std: torch.Tensor
    action_mean: torch.Tensor
    action_std: torch.Tensor

    def __init__(self, config: VLAConfig) -> None:
        super().__init__()
        self.config = config
        self.vision = VisionEncoder(config)
        self.state_in = nn.Linear(config.state_dim, config.hidden_size)
        self.language = LanguageModule(config)
        self.head = ActionHead(
            config.action_dim,
            config.horizon,
            config.head_width,
            config.hidden_size,
            config.head_layers,
            config.head_heads,
        )
        for name, dim in (("state", config.state_dim), ("action", config.action_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim))
            self.register_buffer(f"{name}_std", torch.ones(dim))

    def prefix_tokens(
        self, images: torch.Tensor, text_ids: torch.Tensor, state: torch.Tensor
    ) -> torch.Tensor:
        """Input tokens of the language module: [visual | text | state] (B, T, D)."""
        state_token = self.state_in((state - self.state_mean) / self.state_std)[:, None]
        return torch.cat([self.vision(images), self.language.embed_tokens(text_ids), state_token], dim=1)

    def context(self, images: torch.Tensor, text_ids: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The action head's conditioning: language-module output tokens, projected (B, T', head width)."""
        hidden = self.language(self.prefix_tokens(images, text_ids, state), text_ids)
        return self.head.project_context(hidden)

    def forward(
        self, images: torch.Tensor, text_ids: torch.Tensor, state: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        """Action chunk in the environment's units, integrated from ``noise`` (B, horizon, A)."""
        context = self.context(images, text_ids, state)
        normalized = sample_actions(
            self.head, context, noise, self.config.denoise_steps, self.config.cache_interval
        )
        return normalized * self.action_std + self.action_mean

    def flow_loss(
        self, images: torch.Tensor, text_ids: torch.Tensor, state: torch.Tensor, actions: torch.Tensor
    ) -> torch.Tensor:
        """Flow-matching loss: predict ε − a at a random time on the line from actions a to noise ε."""
        target = (actions - self.action_mean) / self.action_std
        noise = torch.randn_like(target)
        t = torch.rand(target.shape[0], device=target.device)
        noisy = (1 - t)[:, None, None] * target + t[:, None, None] * noise
        velocity = self.head(noisy, t, self.context(images, text_ids, state))
        return torch.nn.functional.mse_loss(velocity, noise - target)
