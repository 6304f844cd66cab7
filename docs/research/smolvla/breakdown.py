"""Timing breakdown + structure facts for compression (1 thread)."""
import os, sys, time
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE)
from run_smolvla import build, make_batch
import torch
from lerobot.policies.smolvla.modeling_smolvla import make_att_2d_masks
pol, cfg, _ = build()
m = pol.model; vwe = m.vlm_with_expert; vm = vwe.get_vlm_model()
print("vision attn impl:", vm.vision_model.config._attn_implementation, "| text attn impl (unused by SmolVLA):", vm.text_model.config._attn_implementation)
print("vision attn module forward from:", type(vm.vision_model.encoder.layers[0].self_attn).forward.__module__)
import collections
lin = collections.Counter()
for name, mod in pol.named_modules():
    if isinstance(mod, torch.nn.Linear):
        part = "vision" if ".vision_model." in name else "connector" if ".connector." in name else "vlm_text" if ".text_model." in name else "lm_head" if "lm_head" in name else "expert" if ".lm_expert." in name else "flow_heads"
        lin[part] += 1
print("nn.Linear count per part:", dict(lin))
# which modules' forward() actually runs during inference?
called = set()
hooks = [mod.register_forward_hook(lambda md, i, o, n=name: called.add(n)) for name, mod in pol.named_modules() if name]
b = make_batch()
noise = torch.randn(1, cfg.chunk_size, cfg.max_action_dim)
with torch.no_grad():
    pol.predict_action_chunk(dict(b), noise=noise)
for h in hooks: h.remove()
def chk(n): return n in called
print("LlamaDecoderLayer.forward called (vlm layer 0)?", chk("model.vlm_with_expert.vlm.model.text_model.layers.0"))
print("LlamaAttention.forward called (vlm layer 0)?", chk("model.vlm_with_expert.vlm.model.text_model.layers.0.self_attn"))
print("q_proj called (vlm 0)?", chk("model.vlm_with_expert.vlm.model.text_model.layers.0.self_attn.q_proj"))
print("expert layer 1 self_attn.k_proj called?", chk("model.vlm_with_expert.lm_expert.layers.1.self_attn.k_proj"))
print("vision encoder layer forward called?", chk("model.vlm_with_expert.vlm.model.vision_model.encoder.layers.0"))
print("lm_head called?", chk("model.vlm_with_expert.vlm.lm_head"), "| vlm text rotary_emb called?", chk("model.vlm_with_expert.vlm.model.text_model.rotary_emb"), "| expert norm called?", chk("model.vlm_with_expert.lm_expert.norm"), "| vlm text norm called?", chk("model.vlm_with_expert.vlm.model.text_model.norm"))
# timing breakdown
with torch.no_grad():
    imgs, masks = pol.prepare_images(dict(b)); state = pol.prepare_state(b)
    lt, lm = b["observation.language.tokens"], b["observation.language.attention_mask"]
    t0 = time.perf_counter(); emb = vwe.embed_image(imgs[0]); t1 = time.perf_counter()
    embs, pad, att = m.embed_prefix(imgs, masks, lt, lm, state=state); t2 = time.perf_counter()
    a2 = make_att_2d_masks(pad, att); pos = torch.cumsum(pad, 1) - 1
    _, kv = vwe.forward(attention_mask=a2, position_ids=pos, past_key_values=None, inputs_embeds=[embs, None], use_cache=True, fill_kv_cache=True); t3 = time.perf_counter()
    v = m.denoise_step(pad, kv, noise, torch.tensor([1.0])); t4 = time.perf_counter()
print(f"vision+connector {t1-t0:.2f}s | embed_prefix (incl vision again) {t2-t1:.2f}s | VLM prefix 16L over {embs.shape[1]} tok {t3-t2:.2f}s | one denoise step (expert 16L, {cfg.chunk_size} tok) {t4-t3:.3f}s x {cfg.num_steps} steps")
print("kv cache: layers", len(kv), "key shape", tuple(kv[0]["key_states"].shape))
