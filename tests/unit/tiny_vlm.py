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


def _text_config(model_type: str, vocab: int, hidden: int, layers: int, heads: int) -> dict:
    return dict(model_type=model_type, vocab_size=vocab, hidden_size=hidden,
                intermediate_size=2 * hidden, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
                max_position_embeddings=32768)


def build_tiny_vlm(family: str, folder: Path, *, hidden: int = 32, layers: int = 2,
                   seed: int = 0) -> Path:
    """Write a random ``video_llama_3`` or ``smolvlm`` checkpoint into ``folder``."""
    import torch

    torch.manual_seed(seed)
    if family == "video_llama_3":
        from transformers import VideoLlama3Config, VideoLlama3ForConditionalGeneration
        from transformers.models.video_llama_3.image_processing_pil_video_llama_3 import (
            VideoLlama3ImageProcessorPil,
        )
        tok = tiny_tokenizer()
        config = VideoLlama3Config(
            text_config=_text_config("qwen2", len(tok), hidden, layers, 4),
            vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                               num_attention_heads=4, patch_size=14),
            image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
            video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"))
        model = VideoLlama3ForConditionalGeneration(config)
        processor = VideoLlama3ImageProcessorPil(patch_size=14, merge_size=2,
                                                 min_pixels=56 * 56, max_pixels=112 * 112)
    elif family == "smolvlm":
        from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration
        from transformers.models.smolvlm.image_processing_pil_smolvlm import (
            SmolVLMImageProcessorPil,
        )
        tok = tiny_tokenizer(SMOLVLM_TEMPLATE)
        config = SmolVLMConfig(
            text_config=_text_config("llama", len(tok), hidden, layers, 4),
            vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                               num_attention_heads=4, image_size=64, patch_size=16),
            image_token_id=tok.convert_tokens_to_ids("<image>"), scale_factor=2)
        model = SmolVLMForConditionalGeneration(config)
        processor = SmolVLMImageProcessorPil(do_image_splitting=False,
                                             max_image_size={"longest_edge": 64},
                                             size={"longest_edge": 64})
    else:
        raise ValueError(family)
    model.generation_config.eos_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
