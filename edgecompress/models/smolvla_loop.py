"""SmolVLA's layer loop where a pass changed it: visual tokens pruned after a VLM layer (``token_prune``)
and the expert's branch outputs reused across denoising steps (``feature_cache``).

LeRobot's ``SmolVLMWithExpertModel.forward`` runs every layer with one attention mask and one set of
position ids, so it can neither drop tokens between two layers nor skip a layer's branches. The two
loops here run LeRobot's own per-layer attention (``forward_attn_layer`` / ``forward_cross_attn_layer``)
and then what ``forward`` does after it (``o_proj``, residual, ``post_attention_layernorm``, ``mlp``,
residual), with two extension points:

- :func:`prefix_cache` prunes after VLM layer ``after_layer``: the attention of that layer is read
  from SmolVLA's own attention call (its ``eager_attention_forward``'s query, key and mask; the task
  rows' probabilities recomputed the same way), the kept visual tokens are chosen per camera
  (task-relevant by attention, the rest by diversity: :func:`select_visual_tokens`), and the hidden
  states, the 2-D attention mask, the position ids (original values kept) and the pad mask are
  gathered. The KV cache then has the full prefix for the layers up to the cut and the pruned one after.
- :func:`velocity` is one denoising step with a pad mask per layer (the cache lengths differ) and,
  on cached steps, the stored attention and/or MLP outputs of the chosen expert layers added instead
  of computed.

Without either change the package calls LeRobot's own functions (``forward``, ``denoise_step``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from edgecompress.models.smolvla_settings import FeatureCache, LoopSettings, TokenPruning, cache_schedule
from edgecompress.models.vla.tokens import select_visual_tokens


def visual_tokens_per_camera(policy: Any) -> int:
    """Visual tokens one camera image becomes: patches of the resized image, folded by the connector."""
    config = policy.model.vlm_with_expert.config
    side = int(policy.config.resize_imgs_with_padding[0]) // int(config.vision_config.patch_size)
    return side * side // int(config.scale_factor) ** 2


def _segments(policy: Any, cameras: int, prefix: int) -> list[tuple[int, int, bool]]:
    """(start, length, visual) spans of the prefix: per camera [special?, visual, special?], then the
    task and state tokens (and any padding to ``prefix_length``)."""
    model, visual = policy.model, visual_tokens_per_camera(policy)
    before, after = (2, 1) if model.add_image_special_tokens else (0, 0)
    spans, start = [], 0
    for _ in range(cameras):
        for length, is_visual in ((before, False), (visual, True), (after, False)):
            if length:
                spans.append((start, length, is_visual))
                start += length
    spans.append((start, prefix - start, False))
    return spans


def _expert_stack(model: Any) -> list[list[Any]]:
    return model.get_model_layers([model.get_vlm_model().text_model, model.lm_expert])


def _finish(layer: Any, hidden: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """What ``SmolVLMWithExpertModel.forward`` does after a layer's attention (fp32 policy)."""
    out = layer.self_attn.o_proj(attention[:, : hidden.shape[1]]) + hidden
    return layer.mlp(layer.post_attention_layernorm(out)) + out


@contextmanager
def _recorded_attention(model: Any) -> Iterator[list[tuple[torch.Tensor, ...]]]:
    """While open, every call of the model's attention function also records (mask, query, key)."""
    record: list[tuple[torch.Tensor, ...]] = []
    attend = model.eager_attention_forward

    def interface(mask: Any, batch: int, head_dim: int, query: Any, key: Any, value: Any) -> Any:
        record.append((mask, query, key))
        return attend(mask, batch, head_dim, query, key, value)

    model.get_attention_interface = lambda: interface  # an instance attribute over LeRobot's method
    try:
        yield record
    finally:
        del model.get_attention_interface


def task_attention(model: Any, mask: torch.Tensor, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """Softmax attention (B, heads, Q, S) of ``query`` (B, Q, heads, d) over ``key`` (B, S, kv heads, d),
    as ``SmolVLMWithExpertModel.eager_attention_forward`` computes it (GQA, fp32, masked with ``mask``
    (B, Q, S))."""
    groups = model.num_attention_heads // model.num_key_value_heads
    key = key.repeat_interleave(groups, dim=2).float().transpose(1, 2)
    weights = torch.matmul(query.float().transpose(1, 2), key.transpose(2, 3)) * query.shape[-1] ** -0.5
    weights = torch.where(mask[:, None], weights, torch.finfo(weights.dtype).min)
    return torch.softmax(weights, dim=-1)


def _kept_index(
    policy: Any,
    pruning: TokenPruning,
    attention: tuple[torch.Tensor, ...],
    hidden: torch.Tensor,
    lang_masks: torch.Tensor,
    cameras: int,
) -> torch.Tensor:
    """Prefix positions (B, L') to keep: per camera the selected visual tokens, every other token."""
    mask, query, key = attention
    segments = _segments(policy, cameras, hidden.shape[1])
    task = segments[-1][0]  # task tokens, then the state token
    rows = slice(task, task + lang_masks.shape[1] + 1)
    probs = task_attention(policy.model.vlm_with_expert, mask[:, rows], query[:, rows], key)
    received = probs.mean(dim=1)  # (B, task queries, prefix)
    # queries: the task's words (not padding) and the state token, as for the reference VLA
    queries = torch.cat([lang_masks.bool(), torch.ones_like(lang_masks[:, :1], dtype=torch.bool)], dim=1)
    scores = (received * queries[..., None]).sum(1) / queries.sum(1, keepdim=True)
    batch, pieces = hidden.shape[0], []
    for start, length, visual in segments:
        if visual:
            span = slice(start, start + length)
            chosen = select_visual_tokens(scores[:, span], hidden[:, span], pruning.keep, pruning.keep_top)
            pieces.append(chosen + start)
        elif length:
            pieces.append(torch.arange(start, start + length, device=hidden.device).expand(batch, length))
    return torch.cat(pieces, dim=1)


@dataclass
class PrefixCache:
    """The prefix pass's KV cache, the pad mask each layer's cache goes with, and what was kept."""

    cache: dict[int, dict[str, torch.Tensor]]
    pads: list[torch.Tensor]  # per VLM layer: (B, its cache length)
    prefix_pad: torch.Tensor  # (B, L) the whole prefix's (the suffix's positions count from it)
    kept: torch.Tensor | None = None  # (B, L') prefix positions kept after the cut


def prefix_cache(
    policy: Any,
    images: list[torch.Tensor],
    img_masks: list[torch.Tensor],
    lang_tokens: torch.Tensor,
    lang_masks: torch.Tensor,
    state: torch.Tensor,
    pruning: TokenPruning | None,
) -> PrefixCache:
    """LeRobot's ``embed_prefix`` and VLM pass filling the KV cache, with visual tokens pruned per camera
    after layer ``pruning.after_layer`` (LeRobot's ``forward`` itself without pruning)."""
    from lerobot.policies.smolvla.modeling_smolvla import make_att_2d_masks

    model = policy.model.vlm_with_expert
    embeddings, pad, att = policy.model.embed_prefix(images, img_masks, lang_tokens, lang_masks, state=state)
    mask, positions = make_att_2d_masks(pad, att), torch.cumsum(pad, dim=1) - 1
    count = model.num_vlm_layers
    if pruning is None:
        _, cache = model.forward(
            attention_mask=mask,
            position_ids=positions,
            past_key_values=None,
            inputs_embeds=[embeddings, None],
            use_cache=True,
            fill_kv_cache=True,
        )
        return PrefixCache(cache, [pad] * count, pad)
    layers, head_dim = _expert_stack(model), model.vlm.config.text_config.head_dim
    hidden, current, cache, pads, kept = embeddings, pad, None, [], None
    for index in range(count):
        scoring = index + 1 == pruning.after_layer
        with _recorded_attention(model) if scoring else nullcontext([]) as record:
            (attention,), cache = model.forward_attn_layer(
                layers, [hidden, None], index, positions, mask, hidden.shape[0], head_dim,
                use_cache=True, fill_kv_cache=True, past_key_values=cache,
            )  # fmt: skip
        hidden = _finish(layers[0][index], hidden, attention)
        pads.append(current)
        if scoring:
            kept = _kept_index(policy, pruning, record[0], hidden, lang_masks, len(images))
            width, length = hidden.shape[-1], kept.shape[1]
            hidden = torch.gather(hidden, 1, kept[..., None].expand(-1, -1, width))
            rows = torch.gather(mask, 1, kept[..., None].expand(-1, -1, mask.shape[2]))
            mask = torch.gather(rows, 2, kept[:, None, :].expand(-1, length, -1))
            positions, current = torch.gather(positions, 1, kept), torch.gather(current, 1, kept)
    assert cache is not None
    return PrefixCache(cache, pads, pad, kept)


def velocity(
    policy: Any,
    x_t: torch.Tensor,
    timestep: torch.Tensor,
    prefix: PrefixCache,
    plan: FeatureCache | None = None,
    reuse: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One denoising step (LeRobot's ``denoise_step``) over caches of per-layer lengths.

    With ``plan`` and no ``reuse`` (a full step) it also returns the branch outputs of ``plan.layers``,
    stacked (layers, branches, B, chunk, width); with ``reuse`` (a cached step) those layers add the
    stored outputs instead of computing them.
    """
    from lerobot.policies.smolvla.modeling_smolvla import make_att_2d_masks

    flow, model = policy.model, policy.model.vlm_with_expert
    hidden, suffix_pad, suffix_att = flow.embed_suffix(x_t, timestep)
    batch, length = suffix_pad.shape
    suffix_mask = make_att_2d_masks(suffix_pad, suffix_att)
    positions = torch.sum(prefix.prefix_pad, dim=-1)[:, None] + torch.cumsum(suffix_pad, dim=1) - 1
    layers, head_dim = _expert_stack(model), model.vlm.config.text_config.head_dim
    # plan.layers are positions in lm_expert.layers (one per VLM layer unless the expert is shallower)
    position = {id(layer): n for n, layer in enumerate(model.lm_expert.layers)}
    cached = {layer: slot for slot, layer in enumerate(plan.layers)} if plan is not None else {}
    stored: list[torch.Tensor] = []
    for index in range(model.num_vlm_layers):
        layer = layers[1][index]
        if layer is None:
            continue
        slot = cached.get(position[id(layer)])
        reused = reuse[slot] if reuse is not None and slot is not None else None
        if reused is not None and plan is not None and plan.reuses("attention"):
            attention = reused[0]
        else:
            pad = prefix.pads[index]
            mask = torch.cat([pad[:, None, :].expand(batch, length, pad.shape[1]), suffix_mask], dim=2)
            self_attention = "cross" not in model.attention_mode or (
                model.self_attn_every_n_layers > 0 and index % model.self_attn_every_n_layers == 0
            )
            attend = model.forward_attn_layer if self_attention else model.forward_cross_attn_layer
            outputs, _ = attend(
                layers, [None, hidden], index, positions, mask, batch, head_dim,
                use_cache=True, fill_kv_cache=False, past_key_values=prefix.cache,
            )  # fmt: skip
            attention = layer.self_attn.o_proj(outputs[0][:, :length])
        out = attention + hidden
        if reused is not None and plan is not None and plan.reuses("mlp"):
            mlp = reused[-1]
        else:
            mlp = layer.mlp(layer.post_attention_layernorm(out))
        hidden = mlp + out
        if slot is not None and reuse is None and plan is not None:
            branches = [b for name, b in (("attention", attention), ("mlp", mlp)) if plan.reuses(name)]
            stored.append(torch.stack(branches))
    out = model.lm_expert.norm(hidden)[:, -policy.config.chunk_size :].to(dtype=torch.float32)
    features = torch.stack(stored) if stored else None
    return flow.action_out_proj(out), features


def sample_actions(
    policy: Any, batch: dict[str, torch.Tensor], noise: torch.Tensor, settings: LoopSettings
) -> torch.Tensor:
    """``SmolVLAPolicy.predict_action_chunk`` with the changed loop (no-grad, fp32, no aloha adapting)."""
    from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS

    images, img_masks = policy.prepare_images(batch)
    state = policy.prepare_state(batch)
    tokens, masks = batch[OBS_LANGUAGE_TOKENS], batch[OBS_LANGUAGE_ATTENTION_MASK]
    with torch.no_grad():
        prefix = prefix_cache(policy, images, img_masks, tokens, masks, state, settings.token_pruning)
        plan = settings.feature_cache
        steps = int(policy.config.num_steps)
        dt, x, stored = -1.0 / steps, noise, None
        for step, full in enumerate(cache_schedule(steps, plan.interval if plan else 1)):
            time = torch.tensor(1.0 + step * dt, dtype=torch.float32).expand(x.shape[0])
            v, features = velocity(policy, x, time, prefix, plan, None if full else stored)
            stored = features if full else stored
            x = x + dt * v
    return x[:, :, : policy.config.action_feature.shape[0]]
