"""Try torch.onnx.export of SmolVLA's prefix (vision + connector + 16 VLM layers -> KV cache).
Usage: venv/bin/python export_prefix.py [dynamo|legacy]"""
import os, sys, time, traceback
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE)
from run_smolvla import build, make_batch, IMG  # sets threads/env, installs groot shim
import torch
from lerobot.policies.smolvla.modeling_smolvla import make_att_2d_masks

class Prefix(torch.nn.Module):
    def __init__(self, pol):
        super().__init__(); self.pol = pol; self.m = pol.model
    def forward(self, image, lang_tokens, lang_masks, state):
        img_mask = torch.ones(image.shape[0], dtype=torch.bool)
        embs, pad, att = self.m.embed_prefix([image], [img_mask], lang_tokens, lang_masks, state=state)
        att2d = make_att_2d_masks(pad, att)
        pos = torch.cumsum(pad, dim=1) - 1
        _, kv = self.m.vlm_with_expert.forward(attention_mask=att2d, position_ids=pos, past_key_values=None,
                                               inputs_embeds=[embs, None], use_cache=True, fill_kv_cache=True)
        ks = torch.stack([kv[i]["key_states"] for i in sorted(kv)])
        vs = torch.stack([kv[i]["value_states"] for i in sorted(kv)])
        return ks, vs, pad

if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "dynamo"
    pol, cfg, _ = build()
    b = make_batch()
    # SmolVLA preprocesses images (resize_with_pad to 512 + [-1,1]) outside the prefix
    img = pol.prepare_images(dict(b))[0][0]
    state = pol.prepare_state(b)
    args = (img, b["observation.language.tokens"], b["observation.language.attention_mask"], state)
    mod = Prefix(pol).eval()
    with torch.no_grad():
        ks, vs, pad = mod(*args)
    print("prefix out", tuple(ks.shape), tuple(vs.shape), tuple(pad.shape))
    out = os.path.join(HERE, f"prefix_{mode}.onnx")
    t0 = time.perf_counter()
    try:
        with torch.no_grad():
            torch.onnx.export(mod, args, out, dynamo=(mode == "dynamo"), opset_version=18,
                              input_names=["image", "lang_tokens", "lang_masks", "state"],
                              output_names=["keys", "values", "prefix_pad"])
        print(f"EXPORT OK ({mode}) in {time.perf_counter()-t0:.1f}s ->", out, os.path.getsize(out) if os.path.exists(out) else None)
    except Exception as e:
        print(f"EXPORT FAILED ({mode}) after {time.perf_counter()-t0:.1f}s:", type(e).__name__, str(e)[:3000])
        traceback.print_exc(limit=25)
        sys.exit(1)
    try:
        import onnxruntime as ort, numpy as np
        so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
        s = ort.InferenceSession(out, so, providers=["CPUExecutionProvider"])
        feeds = {i.name: a.numpy() for i, a in zip(s.get_inputs(), args)}
        t0 = time.perf_counter(); o = s.run(None, feeds); t1 = time.perf_counter()
        print("ORT inputs", [i.name for i in s.get_inputs()], f"run {t1-t0:.2f}s",
              "max|dk|", float(np.abs(o[0] - ks.numpy()).max()), "max|dv|", float(np.abs(o[1] - vs.numpy()).max()))
    except Exception as e:
        print("ORT check failed:", type(e).__name__, str(e)[:1500])
