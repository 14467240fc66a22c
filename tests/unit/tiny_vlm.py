"""Tiny randomly initialised VLMs of two families, saved as real checkpoint folders.

The tokenizer is a byte-level BPE built in memory with the `tokenizers` library (no
download), carrying each family's special tokens; model, tokenizer and image processor are
written with ``save_pretrained`` so the code under test loads them the way it loads a
real checkpoint.
"""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>", "<image>",
            "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]
_CORPUS = [
    "Time: 0 s Time: 12 s System User Assistant narrative tension emotion evolves",
    '{"genre": "cinematic", "instrumentation": "strings", "atmosphere": "tense", '
    '"rhythm": "slow"} valence arousal frame film music',
]
# the chat template SmolVLM's processor ships (one '<image>' per image entry)
SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}"
    "{% endif %}"
)


def tiny_tokenizer(chat_template: str | None = None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                   pad_token="<|im_end|>")
    if chat_template:
        fast.chat_template = chat_template
    return fast


def _text_config(model_type: str, vocab: int, hidden: int, layers: int, heads: int, *,
                 kv_heads: int | None = None, intermediate: int | None = None) -> dict:
    return dict(model_type=model_type, vocab_size=vocab, hidden_size=hidden,
                intermediate_size=intermediate or 2 * hidden, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv_heads or max(1, heads // 2),
                max_position_embeddings=32768)


TINY_VISION = {
    "video_llama_3": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                          num_attention_heads=4, patch_size=14),
    "smolvlm": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                    num_attention_heads=4, image_size=64, patch_size=16),
}

# Published shapes (config.json of the checkpoints), for benchmarks with random weights.
SHAPES = {
    # HuggingFaceTB/SmolVLM2-256M-Video-Instruct: SmolLM2-135M text, SigLIP-B/16 at 512 px
    "smolvlm2-256m": ("smolvlm", dict(vocab=49280, hidden=576, layers=30, heads=9, kv_heads=3,
                                       intermediate=1536),
                      dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                           num_attention_heads=12, image_size=512, patch_size=16),
                      {"scale_factor": 4}),
    # lkhl/VideoLLaMA3-2B-Image-HF: Qwen2.5-1.5B text, SigLIP-so400m/14 NaViT vision
    "videollama3-2b": ("video_llama_3", dict(vocab=151936, hidden=1536, layers=28, heads=12,
                                              kv_heads=2, intermediate=8960),
                       dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                            num_attention_heads=16, patch_size=14), {}),
}


def build_vlm(family: str, *, text: dict | None = None, vision: dict | None = None,
              extra: dict | None = None, frame_side: int = 112, seed: int = 0):
    """(model, tokenizer, image processor) of a family with random weights; ``text`` and
    ``vision`` override the tiny shapes (``text`` keys: vocab, hidden, layers, heads,
    kv_heads, intermediate)."""
    import torch

    torch.manual_seed(seed)
    text = dict(text or {})
    if family == "video_llama_3":
        from transformers import VideoLlama3Config, VideoLlama3ForConditionalGeneration
        from transformers.models.video_llama_3.image_processing_pil_video_llama_3 import (
            VideoLlama3ImageProcessorPil,
        )
        tok = tiny_tokenizer()
        config = VideoLlama3Config(
            text_config=_text_config("qwen2", text.pop("vocab", len(tok)),
                                     text.pop("hidden", 32), text.pop("layers", 2),
                                     text.pop("heads", 4), **text),
            vision_config=vision or TINY_VISION[family],
            image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
            video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"), **(extra or {}))
        model = VideoLlama3ForConditionalGeneration(config)
        processor = VideoLlama3ImageProcessorPil(
            patch_size=config.vision_config.patch_size, merge_size=2,
            min_pixels=min(56 * 56, frame_side ** 2), max_pixels=frame_side ** 2)
    elif family == "smolvlm":
        from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration
        from transformers.models.smolvlm.image_processing_pil_smolvlm import (
            SmolVLMImageProcessorPil,
        )
        tok = tiny_tokenizer(SMOLVLM_TEMPLATE)
        config = SmolVLMConfig(
            text_config=_text_config("llama", text.pop("vocab", len(tok)),
                                     text.pop("hidden", 32), text.pop("layers", 2),
                                     text.pop("heads", 4), **text),
            vision_config=vision or TINY_VISION[family],
            image_token_id=tok.convert_tokens_to_ids("<image>"),
            **({"scale_factor": 2} | (extra or {})))
        model = SmolVLMForConditionalGeneration(config)
        side = config.vision_config.image_size
        processor = SmolVLMImageProcessorPil(do_image_splitting=False,
                                             max_image_size={"longest_edge": side},
                                             size={"longest_edge": side})
    else:
        raise ValueError(family)
    model.generation_config.eos_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    return model, tok, processor


def build_shaped(name: str, **kw):
    """A random model of a published checkpoint's shape (see SHAPES)."""
    family, text, vision, extra = SHAPES[name]
    return build_vlm(family, text=text, vision=vision, extra=extra, **kw)


def build_tiny_vlm(family: str, folder: Path, *, seed: int = 0) -> Path:
    """Write a random ``video_llama_3`` or ``smolvlm`` checkpoint into ``folder``."""
    model, tok, processor = build_vlm(family, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
