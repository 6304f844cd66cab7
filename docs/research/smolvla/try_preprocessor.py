"""Does lerobot's SmolVLA pre/post-processor pipeline (tokenizer step) work with the local stand-in tokenizer?"""
import os, sys
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE)
from run_smolvla import build, make_batch, IMG, STATE
import torch
from lerobot.policies.smolvla.processor_smolvla import make_smolvla_pre_post_processors
pol, cfg, _ = build()
pre, post = make_smolvla_pre_post_processors(cfg, dataset_stats=None)
b = make_batch(); b.pop("observation.language.tokens"); b.pop("observation.language.attention_mask")
out = pre(b)
print({k: (tuple(v.shape), v.dtype) if torch.is_tensor(v) else v for k, v in out.items()})
act = pol.select_action(out)
print("action", tuple(act.shape), "post:", tuple(post(act).shape))
