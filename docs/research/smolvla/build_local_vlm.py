"""Build an offline stand-in for HuggingFaceTB/SmolVLM2-500M-Video-Instruct:
config.json (hand-made, SmolVLM2-500M shapes) + a tiny word-level tokenizer with the
SmolVLM special tokens + SmolVLMProcessor, all saved with save_pretrained to ./smolvlm2_500m_local.
No weights are written (SmolVLA builds the VLM from config when load_vlm_weights=False)."""
import os, sys
os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
import torch
torch.set_num_threads(1)
from transformers import SmolVLMConfig, PreTrainedTokenizerFast, SmolVLMProcessor
from transformers.models.smolvlm import SmolVLMImageProcessor
from tokenizers import Tokenizer, models, pre_tokenizers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smolvlm2_500m_local")
VOCAB = 49280

cfg = SmolVLMConfig(
    vision_config=dict(
        model_type="smolvlm_vision", hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
        num_attention_heads=12, image_size=512, patch_size=16, hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
    ),
    text_config=dict(
        model_type="llama", hidden_size=960, intermediate_size=2560, num_hidden_layers=32,
        num_attention_heads=15, num_key_value_heads=5, head_dim=64, vocab_size=VOCAB,
        rms_norm_eps=1e-5, max_position_embeddings=8192, hidden_act="silu",
        rope_parameters={"rope_type": "default", "rope_theta": 100000.0}, tie_word_embeddings=False,
        pad_token_id=2,
    ),
    scale_factor=4,
    image_token_id=49190,
    tie_word_embeddings=False,
)
cfg.save_pretrained(OUT)

# --- stand-in tokenizer: the model only reads tokenizer.fake_image_token_id and
# tokenizer.global_image_token_id (modeling_smolvla.py:585-586); the lerobot pre-processor
# (TokenizerProcessorStep) would call AutoTokenizer(vlm_model_name) for the task string.
special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<fake_token_around_image>", "<image>",
           "<global-img>", "<end_of_utterance>", "<video>"]
words = ["pick", "up", "the", "cube", "place", "it", "in", "box", "red", "blue", "\n"]
vocab = {t: i for i, t in enumerate(special + words + ["<unk>"])}
tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
tok = PreTrainedTokenizerFast(
    tokenizer_object=tk, unk_token="<unk>", pad_token="<|endoftext|>", bos_token="<|im_start|>",
    eos_token="<|im_end|>",
    extra_special_tokens={"fake_image_token": "<fake_token_around_image>", "image_token": "<image>",
                          "global_image_token": "<global-img>", "end_of_utterance_token": "<end_of_utterance>"},
)
tok.padding_side = "right"
imgp = SmolVLMImageProcessor(do_resize=True, size={"longest_edge": 512}, max_image_size={"longest_edge": 512},
                             do_image_splitting=False)
try:
    from transformers.models.smolvlm import SmolVLMVideoProcessor
    vidp = SmolVLMVideoProcessor()
except Exception as e:  # video processor may need extra deps
    print("video processor unavailable:", e); vidp = None
proc = SmolVLMProcessor(image_processor=imgp, tokenizer=tok, video_processor=vidp, image_seq_len=64)
proc.save_pretrained(OUT)
print("saved to", OUT, sorted(os.listdir(OUT)))
print("fake_image_token_id", tok.fake_image_token_id, "global_image_token_id", tok.global_image_token_id)
