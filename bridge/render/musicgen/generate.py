"""Long-form generation (NarraScore 3.6): overlapping windows continued through their codes.

Window w covers absolute frames [start, start + n_prompt + n_new): its first ``n_prompt`` frames
are the previous window's last codes (the overlap), fed as the prompt, so the music continues
the phrase; the affect control is read at absolute frames; the text anchor never changes.
Only the current window's codes, cache and control live in memory, whatever the length.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.render.musicgen import require_neural

require_neural()
import torch  # noqa: E402

from bridge.render.musicgen.sampling import (  # noqa: E402
    chroma_condition,
    decode_codes,
    encode_condition,
    sample_codes,
)


@dataclass(frozen=True)
class GenerationSettings:
    window_s: float = 30.0  # MusicGen was trained on 30 s
    overlap_s: float = 10.0
    guidance_scale: float = 3.0
    temperature: float = 1.0
    top_k: int = 250
    greedy: bool = False
    seed: int = 0
    uncond_control: str = "same"  # what guidance's null branch gets, see adapter.py

    def check(self) -> None:
        if not 0 < self.window_s <= 30.0:
            raise InvalidOptionError("window must be in (0, 30] seconds", field="window")
        if not 0 <= self.overlap_s < self.window_s:
            raise InvalidOptionError("overlap must be at least 0 and below the window",
                                     field="overlap")
        if self.guidance_scale < 1.0:
            raise InvalidOptionError("guidance must be at least 1 (1 = off)", field="guidance")
        if self.top_k < 0:
            raise InvalidOptionError("top_k must be 0 (off) or positive", field="top_k")


@dataclass(frozen=True)
class Window:
    index: int
    start_frame: int  # absolute frame of the window's first (prompt) frame
    n_prompt: int
    n_new: int

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.n_prompt + self.n_new


def plan_windows(total_frames: int, *, window_frames: int, overlap_frames: int) -> list[Window]:
    """Windows of at most ``window_frames`` covering [0, total_frames), each after the first
    prompted with the previous one's last ``overlap_frames``."""
    if not 0 <= overlap_frames < window_frames:
        raise InvalidOptionError("overlap must be shorter than the window", field="overlap")
    windows = [Window(0, 0, 0, min(window_frames, total_frames))]
    while windows[-1].end_frame < total_frames:
        last = windows[-1]
        n_new = min(window_frames - overlap_frames, total_frames - last.end_frame)
        windows.append(Window(last.index + 1, last.end_frame - overlap_frames, overlap_frames,
                              n_new))
    return windows


@dataclass
class WindowResult:
    window: Window
    codes: torch.Tensor  # (1, K, n_prompt + n_new)
    audio: np.ndarray  # the new frames' audio at the model's rate, mono float32


def generate_long(bundle, *, text: str, duration_s: float, valence: np.ndarray | None = None,
                  arousal: np.ndarray | None = None, hop_s: float = 1.0, adapter=None,
                  settings: GenerationSettings = GenerationSettings(),
                  melody_audio: tuple[np.ndarray, int] | None = None,
                  progress: ProgressFn = no_progress, cancel: CancelToken = NEVER_CANCELLED,
                  on_step: Callable[[int, int], None] | None = None) -> Iterator[WindowResult]:
    """Yield each window's result in order; the audio blocks together span ``duration_s``
    rounded up to a whole frame.

    ``adapter`` with ``valence``/``arousal`` (per ``hop_s``) steers through the injection;
    ``melody_audio`` (audio, sr), Melody checkpoints only, conditions each window on the
    chroma of that audio over the same span (the plan-guided mode).
    """
    settings.check()
    if adapter is not None and (valence is None or arousal is None):
        raise InvalidOptionError("the adapter needs an affect curve", field="adapter")
    rate = bundle.frame_rate_hz
    total = max(1, math.ceil(duration_s * rate - 1e-9))
    windows = plan_windows(total, window_frames=max(1, int(settings.window_s * rate)),
                           overlap_frames=int(settings.overlap_s * rate))
    generator = torch.Generator(device=bundle.device).manual_seed(settings.seed)
    condition = None if melody_audio is not None else encode_condition(
        bundle, [text], guidance_scale=settings.guidance_scale)
    injection = None
    if adapter is not None:
        from bridge.render.musicgen.adapter import AffectInjection

        injection = AffectInjection(bundle, adapter,
                                    uncond_control=settings.uncond_control).attach()
    previous: torch.Tensor | None = None
    try:
        for window in windows:
            cancel.raise_if_cancelled()
            progress("music", window.index / len(windows),
                     f"window {window.index + 1}/{len(windows)}")
            prompt = previous[:, :, previous.shape[2] - window.n_prompt:] if window.n_prompt \
                else None
            if melody_audio is not None:
                audio, sr = melody_audio
                chroma = chroma_condition(audio, sr, start_s=window.start_frame / rate,
                                          duration_s=(window.end_frame - window.start_frame) / rate,
                                          num_chroma=bundle.model.config.num_chroma)
                condition = encode_condition(bundle, [text], chroma=chroma,
                                             guidance_scale=settings.guidance_scale)
            if injection is not None:
                # the decoder reads one column past the window's last frame per codebook delay
                span = window.n_prompt + window.n_new + bundle.num_codebooks
                with torch.no_grad():
                    control = adapter.control(valence, arousal, hop_s=hop_s,
                                              start_frame=window.start_frame, n_frames=span)
                injection.set_control(control)
            codes = sample_codes(bundle, condition, n_frames=window.n_new, prompt=prompt,
                                 temperature=settings.temperature, top_k=settings.top_k,
                                 greedy=settings.greedy, generator=generator,
                                 injection=injection, on_step=on_step, cancel=cancel)
            # decode with the prompt as context so the seam has no click, keep the new part
            audio = decode_codes(bundle, codes)[0, window.n_prompt * bundle.hop_samples:]
            previous = codes
            yield WindowResult(window, codes, audio)
        progress("music", 1.0, f"{len(windows)} windows")
    finally:
        if injection is not None:
            injection.remove()
