"""Build SmolVLA (lerobot 0.4.4) offline with random weights and run one predict_action_chunk
+ one select_action on random inputs, 1 CPU thread. Usage: venv/bin/python run_smolvla.py [--summary]"""
import os, sys, time, traceback
for k, v in dict(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1").items():
    os.environ.setdefault(k, v)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch
torch.set_num_threads(1)
import groot_shim  # noqa: F401  (must precede any lerobot.policies import)
import transformers
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig
from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy

IMG, STATE, ACT = "observation.images.top", "observation.state", "action"

def build(**overrides):
    cfg = SmolVLAConfig(
        vlm_model_name=os.path.join(HERE, "smolvlm2_500m_local"),
        load_vlm_weights=False,
        device="cpu",
        input_features={
            IMG: PolicyFeature(type=FeatureType.VISUAL, shape=(3, 480, 640)),
            STATE: PolicyFeature(type=FeatureType.STATE, shape=(6,)),
        },
        output_features={ACT: PolicyFeature(type=FeatureType.ACTION, shape=(6,))},
        **overrides,
    )
    torch.manual_seed(0)
    t0 = time.perf_counter()
    pol = SmolVLAPolicy(cfg).eval()
    return pol, cfg, time.perf_counter() - t0

def make_batch(n_lang=16, bs=1):
    g = torch.Generator().manual_seed(1)
    return {
        IMG: torch.rand(bs, 3, 480, 640, generator=g),
        STATE: torch.randn(bs, 6, generator=g),
        "observation.language.tokens": torch.randint(6, 19, (bs, n_lang), generator=g),
        "observation.language.attention_mask": torch.ones(bs, n_lang, dtype=torch.bool),
        "task": ["pick up the cube\n"] * bs,
    }

if __name__ == "__main__":
    print("torch", torch.__version__, "transformers", transformers.__version__, "threads", torch.get_num_threads())
    pol, cfg, tb = build()
    print(f"built in {tb:.1f}s")
    n = lambda m: sum(p.numel() for p in m.parameters())
    vwe = pol.model.vlm_with_expert
    vm = vwe.get_vlm_model()
    print("params total", n(pol), "vision", n(vm.vision_model), "connector", n(vm.connector),
          "text(16L+emb)", n(vm.text_model), "lm_head", n(vwe.vlm.lm_head), "expert", n(vwe.lm_expert),
          "projs", sum(n(getattr(pol.model, a)) for a in ["state_proj", "action_in_proj", "action_out_proj", "action_time_mlp_in", "action_time_mlp_out"]))
    batch = make_batch()
    with torch.inference_mode():
        imgs, _ = pol.prepare_images(dict(batch))
        t0 = time.perf_counter(); emb = vwe.embed_image(imgs[0]); t1 = time.perf_counter()
    print("visual tokens per camera", tuple(emb.shape), f"embed_image {t1-t0:.2f}s")
    noise = torch.randn(1, cfg.chunk_size, cfg.max_action_dim, generator=torch.Generator().manual_seed(2))
    t0 = time.perf_counter()
    a = pol.predict_action_chunk(dict(batch), noise=noise)
    t1 = time.perf_counter()
    print("predict_action_chunk", tuple(a.shape), f"{t1-t0:.2f}s", "finite", bool(torch.isfinite(a).all()))
    pol.reset()
    t0 = time.perf_counter(); a1 = pol.select_action(dict(batch), noise=noise); t1 = time.perf_counter()
    print("select_action (first, computes chunk)", tuple(a1.shape), f"{t1-t0:.2f}s")
    t0 = time.perf_counter(); a2 = pol.select_action(dict(batch)); t1 = time.perf_counter()
    print("select_action (queued)", tuple(a2.shape), f"{t1-t0:.4f}s")
    print("deterministic w/ same noise:", torch.allclose(a[:, 0], a1, atol=1e-5))
    if "--summary" in sys.argv:
        print(pol)
