"""Load MusicGen (a local folder or a hub id) or build a random one from a config.

Weights are never downloaded by the project's tests: ``build_random_musicgen`` makes models of
the real architecture (tiny, or musicgen-small/-medium's decoder shape) for tests and benches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.errors import BackendUnavailableError, InvalidOptionError
from bridge.render.musicgen import require_neural

WEIGHTS_HINT = "see README › Neural backend"
_DTYPES = ("float32", "float16", "bfloat16")
_TOKENIZER_FILES = ("tokenizer.json", "spiece.model")


@dataclass
class MusicgenBundle:
    """A loaded model with what the sampler and the adapter need to know about it."""

    model: Any  # MusicgenForConditionalGeneration or MusicgenMelodyForConditionalGeneration
    tokenizer: Any | None
    source: str  # folder or hub id it came from ("random:<shape>" for built ones)

    @property
    def is_melody(self) -> bool:
        return "Melody" in type(self.model).__name__

    @property
    def decoder(self):
        """The bare transformer decoder (embeddings, blocks, final norm)."""
        return self.model.decoder.model.decoder

    @property
    def num_codebooks(self) -> int:
        return int(self.model.decoder.num_codebooks)

    @property
    def num_layers(self) -> int:
        return len(self.decoder.layers)

    @property
    def hidden_size(self) -> int:
        return int(self.model.decoder.config.hidden_size)

    @property
    def pad_token_id(self) -> int:
        return int(self.model.generation_config.pad_token_id)

    @property
    def start_token_id(self) -> int:
        return int(self.model.generation_config.decoder_start_token_id)

    @property
    def sampling_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate_hz(self) -> float:
        return float(self.model.config.audio_encoder.frame_rate)

    @property
    def hop_samples(self) -> int:
        return round(self.sampling_rate / self.frame_rate_hz)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def dtype(self):
        return next(self.model.parameters()).dtype


def resolve_dtype(device: str, dtype: str | None):
    """fp16/bf16 on a GPU (bf16 where supported), fp32 or bf16 on the CPU."""
    import torch

    if dtype is None:
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in _DTYPES:
        raise InvalidOptionError(f"dtype must be one of {', '.join(_DTYPES)}, not {dtype!r}",
                                 field="dtype")
    if dtype == "float16" and not device.startswith("cuda"):
        raise InvalidOptionError("float16 runs on a GPU only; use float32 or bfloat16 on the CPU",
                                 field="dtype")
    return getattr(torch, dtype)


def load_musicgen(path_or_id: str | Path, device: str = "cpu", dtype: str | None = None,
                  *, local_only: bool = True) -> MusicgenBundle:
    """MusicGen (or MusicGen-Melody) from a local folder or, on the user's machine, a hub id.

    ``local_only`` keeps transformers off the network (the hub cache is still used), so a
    missing checkpoint is reported at once instead of after a download attempt.
    """
    require_neural()
    import torch
    from transformers import AutoConfig, AutoTokenizer

    torch_dtype = resolve_dtype(device, dtype)
    source = str(path_or_id)
    folder = Path(source).expanduser()
    looks_local = folder.exists() or source.startswith((".", "/", "~")) or source.count("/") != 1
    if looks_local and not (folder / "config.json").is_file():
        raise BackendUnavailableError(f"no MusicGen weights at {folder}; {WEIGHTS_HINT}",
                                      path=folder)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device {device!r} asked for but torch sees no GPU",
                                      field="device")
    location = str(folder) if looks_local else source
    try:
        config = AutoConfig.from_pretrained(location, local_files_only=local_only)
    except OSError as err:
        raise BackendUnavailableError(
            f"no MusicGen weights at {location} ({str(err).splitlines()[0]}); {WEIGHTS_HINT}"
        ) from err
    model_class = _model_class(config.model_type, location)
    model = model_class.from_pretrained(location, local_files_only=local_only, dtype=torch_dtype)
    model.to(device).eval()
    model.requires_grad_(False)
    # transformers 5 builds an empty T5 tokenizer when the files are missing: look first
    if looks_local and not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise BackendUnavailableError(
            f"MusicGen at {folder} has no tokenizer files ({' or '.join(_TOKENIZER_FILES)}); "
            f"{WEIGHTS_HINT}", path=folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local_only)
    except (OSError, ValueError) as err:
        raise BackendUnavailableError(
            f"MusicGen at {location} has no tokenizer files ({str(err).splitlines()[0]}); "
            f"{WEIGHTS_HINT}"
        ) from err
    return MusicgenBundle(model=model, tokenizer=tokenizer, source=location)


def _model_class(model_type: str, location: str):
    from transformers import (
        MusicgenForConditionalGeneration,
        MusicgenMelodyForConditionalGeneration,
    )

    classes = {"musicgen": MusicgenForConditionalGeneration,
               "musicgen_melody": MusicgenMelodyForConditionalGeneration}
    if model_type not in classes:
        raise BackendUnavailableError(
            f"{location} holds a {model_type!r} model, not MusicGen; {WEIGHTS_HINT}")
    return classes[model_type]


# ------------------------------------------------------------------ random models from configs

# decoder shapes of the released checkpoints (layers, width, heads)
DECODER_SHAPES = {
    "tiny": (4, 64, 4),
    "small": (24, 1024, 16),
    "medium": (48, 1536, 24),
}


def build_random_musicgen(shape: str = "tiny", *, melody: bool = False, seed: int = 0,
                          vocab_words: tuple[str, ...] = ()) -> MusicgenBundle:
    """A randomly initialised MusicGen of the real architecture, built offline from configs.

    "tiny": T5 2 layers d=32, EnCodec 32 kHz at 50 Hz with 4 codebooks of 64, decoder 4x64.
    "small"/"medium": the released decoders' shapes with 2048 codes; the text encoder and
    EnCodec stay small because the benches time the decoder steps.
    A word-level tokenizer over ``vocab_words`` (plus the style words) is attached.
    """
    require_neural()
    import torch
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
        T5Config,
    )

    if shape not in DECODER_SHAPES:
        raise InvalidOptionError(f"shape must be one of {', '.join(DECODER_SHAPES)}", field="shape")
    layers, width, heads = DECODER_SHAPES[shape]
    codebook_size = 64 if shape == "tiny" else 2048
    torch.manual_seed(seed)
    tokenizer = word_tokenizer(vocab_words)
    text = T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                    num_heads=4, decoder_start_token_id=0)
    audio = EncodecConfig(sampling_rate=32_000, audio_channels=1, hidden_size=32, num_filters=8,
                          upsampling_ratios=[8, 5, 4, 4], codebook_size=codebook_size,
                          codebook_dim=32, target_bandwidths=[1.2 if shape == "tiny" else 2.2],
                          use_causal_conv=False, normalize=False, num_lstm_layers=1)
    decoder_kwargs = dict(vocab_size=codebook_size, hidden_size=width, num_hidden_layers=layers,
                          num_attention_heads=heads, ffn_dim=4 * width, num_codebooks=4,
                          pad_token_id=codebook_size, bos_token_id=codebook_size,
                          max_position_embeddings=4096)
    if melody:
        config = MusicgenMelodyConfig(
            text_encoder=text.to_dict(), audio_encoder=audio.to_dict(),
            decoder=MusicgenMelodyDecoderConfig(**decoder_kwargs).to_dict(), num_chroma=12,
            chroma_length=235)
        model = MusicgenMelodyForConditionalGeneration(config)
    else:
        config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(),
                                decoder=MusicgenDecoderConfig(**decoder_kwargs).to_dict())
        model = MusicgenForConditionalGeneration(config)
    generation = model.generation_config
    generation.pad_token_id = codebook_size
    generation.decoder_start_token_id = codebook_size
    generation.bos_token_id = codebook_size
    generation.do_sample = False
    generation.guidance_scale = None
    model.eval()
    model.requires_grad_(False)
    return MusicgenBundle(model=model, tokenizer=tokenizer, source=f"random:{shape}")


def word_tokenizer(extra_words: tuple[str, ...] = ()):
    """A word-level tokenizer made in memory (no download) that saves like any other."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>", *sorted(set(_STYLE_WORDS) | set(extra_words))]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>")


_STYLE_WORDS = (
    "genre", "style", "instrumentation", "timbre", "emotional", "atmosphere", "rhythm", "pacing",
    "and", ".", ":", ",", "calm", "tense", "sad", "happy", "dark", "bright", "strings", "piano",
    "drums", "ambient", "orchestral", "electronic", "slow", "fast",
)
