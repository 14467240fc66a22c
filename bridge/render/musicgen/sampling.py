"""An own MusicGen sampling loop that keeps the codes.

transformers' ``generate()`` decodes to audio and drops the codes, and runs the prefill twice;
long-form continuation needs the codes. This loop reproduces its greedy result exactly: the
delay pattern (codebook k runs k frames late), a key/value cache, classifier-free guidance as
one batch [cond; uncond], temperature and top-k.

Layout: column 0 of the delayed sequence is the start token; column c holds codebook k of frame
c - 1 - k (pad outside the frames). The logits at column c predict column c + 1, i.e. codebook
k of frame c - k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.progress import NEVER_CANCELLED, CancelToken
from bridge.render.musicgen import require_neural

require_neural()
import torch  # noqa: E402

# MusicGen-Melody's chroma recipe (its feature extractor): 32 kHz, n_fft 16384, hop 4096
CHROMA_N_FFT = 16_384
CHROMA_HOP = 4_096


@dataclass
class Conditioning:
    """Text (and, for Melody, chroma) encoded once; batch [cond; uncond] under guidance."""

    batch: int
    guidance_scale: float
    first_kwargs: dict[str, Any]  # passed to the model on the prefill call
    next_kwargs: dict[str, Any] = field(default_factory=dict)  # on every later call

    @property
    def guided(self) -> bool:
        return self.guidance_scale > 1.0


def encode_condition(bundle, prompts: list[str], *, guidance_scale: float = 1.0,
                     chroma: np.ndarray | None = None) -> Conditioning:
    """The global anchor: ``prompts`` through MusicGen's own text encoder (held for a piece).

    ``chroma`` (B, T, 12), Melody models only: the plan-guided harmony condition.
    """
    if chroma is not None and not bundle.is_melody:
        raise InvalidOptionError("chroma conditioning needs a MusicGen-Melody checkpoint",
                                 field="plan_guided")
    model = bundle.model
    tokens = bundle.tokenizer(list(prompts), return_tensors="pt", padding=True)
    ids = tokens["input_ids"].to(bundle.device)
    mask = tokens["attention_mask"].to(bundle.device)
    guided = guidance_scale > 1.0
    with torch.no_grad():
        hidden = model.text_encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    if not bundle.is_melody:
        if guided:
            # the null condition, as transformers builds it: zero states, fully masked
            hidden = torch.cat([hidden, torch.zeros_like(hidden)], dim=0)
            mask = torch.cat([mask, torch.zeros_like(mask)], dim=0)
        from transformers.modeling_outputs import BaseModelOutput

        kwargs = {"encoder_outputs": BaseModelOutput(last_hidden_state=hidden),
                  "attention_mask": mask}
        return Conditioning(len(prompts), guidance_scale, kwargs, dict(kwargs))
    return _melody_condition(bundle, hidden, mask, len(prompts), guidance_scale, chroma)


def _melody_condition(bundle, hidden, mask, batch, guidance_scale, chroma) -> Conditioning:
    model = bundle.model
    config = model.config
    with torch.no_grad():
        if model.text_encoder.config.hidden_size != model.decoder.config.hidden_size:
            hidden = model.enc_to_dec_proj(hidden)
        audio = (torch.zeros((batch, 1, config.num_chroma), device=bundle.device,
                             dtype=hidden.dtype) if chroma is None else
                 torch.as_tensor(chroma, dtype=hidden.dtype, device=bundle.device))
        null_chroma = torch.zeros_like(audio)
        null_chroma[:, :, 0] = 1  # transformers' "no melody"
        if chroma is None:
            audio = null_chroma
        if guidance_scale > 1.0:
            hidden = torch.cat([hidden, torch.zeros_like(hidden)], dim=0)
            mask = torch.cat([mask, torch.zeros_like(mask)], dim=0)
            audio = torch.cat([audio, null_chroma], dim=0)
        hidden = hidden * mask[..., None]
        if config.num_chroma != model.decoder.config.hidden_size:
            audio = model.audio_enc_to_dec_proj(audio)
        repeats = -(-config.chroma_length // audio.shape[1])
        audio = audio.repeat(1, repeats, 1)[:, :config.chroma_length]
        states = torch.cat([audio, hidden], dim=1)
    return Conditioning(batch, guidance_scale, {"encoder_hidden_states": states}, {})


def chroma_condition(audio: np.ndarray, sr: int, *, start_s: float, duration_s: float,
                     num_chroma: int = 12) -> np.ndarray:
    """(1, T, 12) one-hot chroma of ``audio`` over [start_s, start_s + duration_s), as Melody
    expects it (dominant pitch class per hop at 32 kHz)."""
    import librosa

    a, b = round(start_s * sr), round((start_s + duration_s) * sr)
    segment = np.asarray(audio[a:b], dtype=np.float32)
    if segment.ndim > 1:
        segment = segment.mean(axis=1)
    if sr != 32_000:
        segment = librosa.resample(segment, orig_sr=sr, target_sr=32_000)
    if len(segment) < CHROMA_N_FFT:
        segment = np.pad(segment, (0, CHROMA_N_FFT - len(segment)))
    chroma = librosa.feature.chroma_stft(y=segment, sr=32_000, n_fft=CHROMA_N_FFT,
                                         hop_length=CHROMA_HOP, n_chroma=num_chroma, tuning=0.0)
    one_hot = np.zeros_like(chroma.T)
    one_hot[np.arange(one_hot.shape[0]), chroma.argmax(axis=0)] = 1.0
    return one_hot[None].astype(np.float32)


# ------------------------------------------------------------------ the loop


def sample_codes(bundle, condition: Conditioning, *, n_frames: int,
                 prompt: torch.Tensor | None = None, temperature: float = 1.0,
                 top_k: int = 0, greedy: bool = False, generator: torch.Generator | None = None,
                 injection=None, on_step: Callable[[int, int], None] | None = None,
                 cancel: CancelToken = NEVER_CANCELLED) -> torch.Tensor:
    """Codes (B, K, P + n_frames): the prompt's P frames followed by ``n_frames`` new ones.

    ``injection`` (an attached ``AffectInjection``) is told the guided batch; its control is
    indexed by window-local frames, frame 0 = the prompt's first frame. Cancellable between
    steps; ``on_step(step, steps)`` after each.
    """
    if n_frames < 1:
        raise InvalidOptionError("n_frames must be at least 1", field="n_frames")
    if not greedy and temperature <= 0:
        raise InvalidOptionError("temperature must be positive", field="temperature")
    model = bundle.model
    k_books = bundle.num_codebooks
    batch = condition.batch
    pad, start = bundle.pad_token_id, bundle.start_token_id
    device = bundle.device
    if prompt is None:
        prompt = torch.zeros((batch, k_books, 0), dtype=torch.long, device=device)
    n_prompt = prompt.shape[2]
    total = n_prompt + n_frames
    # the whole delayed sequence; -1 where a code is still to be sampled
    layout = torch.full((batch, k_books, total + k_books), -1, dtype=torch.long, device=device)
    for k in range(k_books):
        layout[:, k, :1 + k] = start
        layout[:, k, 1 + k:1 + k + n_prompt] = prompt[:, k]
        layout[:, k, 1 + k + total:] = pad
    columns = n_prompt + 1  # known columns fed at prefill
    steps = total + k_books - columns
    if injection is not None:
        injection.guided_batch = batch if condition.guided else None
    sequence = layout[:, :, :columns].clone()
    cache = None
    feed = sequence
    with torch.no_grad():
        for step in range(steps):
            cancel.raise_if_cancelled()
            ids = feed.reshape(batch * k_books, -1)
            if condition.guided:
                ids = ids.repeat(2, 1)
            extra = condition.first_kwargs if cache is None else condition.next_kwargs
            out = model(decoder_input_ids=ids, cache=cache, use_cache=True, **extra)
            cache = out.cache
            logits = out.logits[:, -1].float().reshape(-1, k_books, out.logits.shape[-1])
            if condition.guided:
                cond, uncond = logits[:batch], logits[batch:]
                logits = uncond + (cond - uncond) * condition.guidance_scale
            column = _pick(logits, greedy=greedy, temperature=temperature, top_k=top_k,
                           generator=generator)
            fixed = layout[:, :, columns + step]
            column = torch.where(fixed == -1, column, fixed)
            sequence = torch.cat([sequence, column[:, :, None]], dim=2)
            feed = column[:, :, None]
            if on_step is not None:
                on_step(step + 1, steps)
    # undo the delay: frame f of codebook k sits at column 1 + k + f
    return torch.stack([sequence[:, k, 1 + k:1 + k + total] for k in range(k_books)], dim=1)


def _pick(logits: torch.Tensor, *, greedy: bool, temperature: float, top_k: int,
          generator: torch.Generator | None) -> torch.Tensor:
    """(B, K, V) logits -> (B, K) codes."""
    if greedy:
        return logits.argmax(dim=-1)
    scores = logits / temperature
    if 0 < top_k < scores.shape[-1]:
        kth = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    probs = torch.softmax(scores, dim=-1).reshape(-1, scores.shape[-1])
    picked = torch.multinomial(probs, 1, generator=generator)
    return picked.reshape(logits.shape[:2])


def decode_codes(bundle, codes: torch.Tensor) -> np.ndarray:
    """EnCodec: (B, K, T) codes -> (B, T * hop) float32 audio at the model's rate (mono)."""
    with torch.no_grad():
        audio = bundle.model.audio_encoder.decode(codes[None], audio_scales=[None] * codes.shape[0])
    values = audio.audio_values[:, 0].float().cpu().numpy()
    return values[:, :codes.shape[2] * bundle.hop_samples]
