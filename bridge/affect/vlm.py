"""The frozen-VLM affect sensor (NarraScore §3.3, §3.6): picture -> valence/arousal curve.

    scorebridge score cut.otio -o out --affect-backend vlm \\
        --backend-opt vlm=lkhl/VideoLLaMA3-2B-Image-HF --backend-opt probe=my_probe/

One frame per hop (1 Hz by default) is taken from the picture that is on the timeline,
at the hop's centre; frames are fed in overlapping windows as eq. 2's interleaved sequence
(``vlm_input``), the chosen layer's hidden states are mean-pooled per frame and a trained
probe maps them to (valence, arousal) clipped to [-1, 1] (``vlm_probe``).

Long videos: windows of ``window`` frames share ``overlap`` frames with the previous
window. Both mechanisms of §3.6 are used together:

* carried context: the overlap frames are re-encoded at the head of the next window, so
  its first new frames are read with the preceding picture in the model's context;
* blend: in the overlap each frame has two predictions, the earlier window's (which saw
  it with its own past) and the later one's (which saw it as context); they are
  cross-faded linearly, earlier -> later, so the curve is continuous across the edge
  instead of stepping.

Memory is bounded by the window: one window's frames are decoded, encoded and dropped
before the next; progress and cancel are checked per window.

Hops with no picture (gaps, missing media) are not sent to the model; they get confidence
0 and values interpolated from their neighbours, like the heuristic's.

torch and transformers are imported only inside the functions that need them; without
them the backend reports itself unavailable with the install command.
"""

from __future__ import annotations

import importlib.util
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge import media
from bridge.analysis.picture import ShotPicture, media_range, readable
from bridge.errors import (
    BackendUnavailableError,
    InvalidOptionError,
    MissingMediaError,
    UndecodableMediaError,
)
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import OptionSpec, parse_bool, parse_number, parse_path
from bridge.types import AffectCurve, Clip, Cut, Edit, SoundTrack

INSTALL_HINT = "pip install 'scorebridge[neural]'"
STAGE = "affect"
DEFAULT_WINDOW = 32  # frames per window (seconds at 1 Hz)
DEFAULT_OVERLAP = 8
DEFAULT_FRAME_SIDE = 336  # px; the image processor resizes further


def neural_missing() -> str:
    """Why the neural backends cannot run here, or "" when torch and transformers import."""
    missing = [m for m in ("torch", "transformers", "safetensors")
               if importlib.util.find_spec(m) is None]
    return f"{', '.join(missing)} not installed ({INSTALL_HINT})" if missing else ""


_positive_int = parse_number(int, at_least=1)
_overlap = parse_number(int, at_least=0)


def _device(text: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", text.strip()):
        raise ValueError("use cpu, cuda, cuda:N or mps")
    return text.strip()


def _dtype(text: str) -> str:
    if text not in ("auto", "float32", "float16", "bfloat16"):
        raise ValueError("use auto, float32, float16 or bfloat16")
    return text


VLM_OPTIONS = (
    OptionSpec("vlm", "model folder or hub id (video_llama_3 or smolvlm family), e.g. "
               "lkhl/VideoLLaMA3-2B-Image-HF"),
    OptionSpec("probe", "folder of a probe trained with `scorebridge train-probe`", None,
               parse_path),
    OptionSpec("window", "frames per window (1 Hz: seconds)", DEFAULT_WINDOW, _positive_int),
    OptionSpec("overlap", "frames a window shares with the previous one", DEFAULT_OVERLAP,
               _overlap),
    OptionSpec("frame_side", "decode width in px before the model's own resize",
               DEFAULT_FRAME_SIDE, _positive_int),
    OptionSpec("device", "cpu, cuda, cuda:N or mps", "cpu", _device),
    OptionSpec("dtype", "auto, float32, float16 or bfloat16", "auto", _dtype),
    OptionSpec("anchor", "also take the global style from the VLM (unless --style names one)",
               True, parse_bool),
)


def _hub_id(source: str) -> bool:
    """"owner/name" that is not a local path: fetched (and cached) by transformers."""
    return re.fullmatch(r"[\w.-]+/[\w.-]+", source) is not None \
        and not source.startswith(".") and not Path(source).exists()


def vlm_unavailable(vlm: str | None = None, probe: Path | None = None, **_: object) -> str:
    """Why the "vlm" estimator cannot run with these options, or "" (the registry check)."""
    reason = neural_missing()
    if reason:
        return reason
    if not vlm:
        return "needs --backend-opt vlm=PATH (a model folder or hub id)"
    if not _hub_id(vlm) and not Path(vlm).expanduser().is_dir():
        return f"no model folder at {vlm}"
    if probe is None:
        return "needs --backend-opt probe=PATH (train one with `scorebridge train-probe`)"
    probe = Path(probe).expanduser()
    for name in ("probe.safetensors", "probe.json"):
        if not (probe / name).is_file():
            return f"no {name} in probe folder {probe}"
    return ""


def require_neural() -> None:
    reason = neural_missing()
    if reason:
        raise BackendUnavailableError(f"the VLM sensor needs {reason}")


def clock_s(time_s: float, hop_s: float) -> float:
    """The clock a frame is labelled with: the start of its hop ("Time: 12 s" is the
    second from 12 to 13), the same rule when training and when sensing."""
    return math.floor(time_s / hop_s + 1e-6) * hop_s


# ---------------------------------------------------------------- windows


def window_plan(n: int, *, window: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) frame ranges covering n frames; consecutive ones share ``overlap``."""
    if window < 1 or not 0 <= overlap < window:
        raise InvalidOptionError(f"need window >= 1 and 0 <= overlap < window, got "
                                 f"window={window}, overlap={overlap}", field="window")
    if n == 0:
        return []
    step = window - overlap
    plan = [(0, min(window, n))]
    while plan[-1][1] < n:
        start = plan[-1][1] - overlap
        plan.append((start, min(start + window, n)))
    assert all(b - a <= window for a, b in plan) and step > 0
    return plan


def stitch(plan: Sequence[tuple[int, int]], outputs: Sequence[np.ndarray], n: int) -> np.ndarray:
    """One (n, d) series from per-window (frames, d) outputs, cross-faded linearly in
    each overlap."""
    out = np.zeros((n, outputs[0].shape[1] if len(outputs) else 2))
    for k, ((start, end), values) in enumerate(zip(plan, outputs)):
        if k == 0:
            out[start:end] = values
            continue
        shared = plan[k - 1][1] - start  # frames this window shares with the previous one
        # weight of the new window rises from just above 0 to just below 1 across the overlap
        w = (np.arange(1, shared + 1) / (shared + 1))[:, None]
        out[start:start + shared] = (1 - w) * out[start:start + shared] + w * values[:shared]
        out[start + shared:end] = values[shared:]
    return out


def windowed(predict: Callable[[list[np.ndarray], list[float]], np.ndarray],
             load: Callable[[int, int], tuple[list[np.ndarray], list[float]]], n: int, *,
             window: int, overlap: int, progress: ProgressFn = no_progress,
             cancel: CancelToken = NEVER_CANCELLED) -> np.ndarray:
    """Run ``predict`` over overlapping windows of n frames; ``load(a, b)`` decodes frames
    a..b-1 only when their window comes, so memory follows the window."""
    plan = window_plan(n, window=window, overlap=overlap)
    outputs = []
    for k, (a, b) in enumerate(plan):
        cancel.raise_if_cancelled()
        frames, times = load(a, b)
        outputs.append(np.asarray(predict(frames, times), dtype=np.float64))
        progress(STAGE, (k + 1) / len(plan), f"VLM window {k + 1}/{len(plan)}")
    return stitch(plan, outputs, n)


# ---------------------------------------------------------------- frames on the timeline


@dataclass(frozen=True)
class HopFrame:
    """Where hop i's frame comes from: its shot and the media time shown at its centre."""

    hop: int
    record_s: float
    shot: Clip
    media_s: float


def hop_frames(edit: Edit, hop_s: float) -> tuple[int, list[HopFrame]]:
    """Hop count and, for every hop whose centre shows readable picture, its frame."""
    n = max(1, math.ceil(edit.duration_s / hop_s - 1e-9))
    out = []
    shots = [s for s in edit.shots if readable(s)]
    k = 0
    for i in range(n):
        t = (i + 0.5) * hop_s
        while k < len(shots) and shots[k].record_end_s <= t:
            k += 1
        if k < len(shots) and shots[k].record_start_s <= t:
            lo, hi = media_range(shots[k])
            m = min(max(shots[k].media_time(t), lo), max(lo, hi - 1e-3))
            out.append(HopFrame(i, t, shots[k], m))
    return n, out


def decode_hops(hops: Sequence[HopFrame], *, hop_s: float, width: int,
                cancel: CancelToken = NEVER_CANCELLED) -> list[np.ndarray | None]:
    """One RGB frame per hop (None where the file cannot be decoded), read shot by shot:
    consecutive hops of one shot are one ``sample_frames`` call at the hop rate."""
    out: list[np.ndarray | None] = [None] * len(hops)
    k = 0
    while k < len(hops):
        j = k
        while j + 1 < len(hops) and hops[j + 1].shot is hops[k].shot:
            j += 1
        run = hops[k:j + 1]
        shot = run[0].shot
        speed = abs(shot.speed) or 1.0
        lo, hi = media_range(shot)
        times = [h.media_s for h in run]
        start = max(lo, min(times) - 0.5 * hop_s * speed)
        end = min(max(hi, start + 1e-3), max(times) + 0.5 * hop_s * speed)
        try:
            assert shot.media_path is not None
            samples = media.sample_frames(shot.media_path, start, max(end, start + 1e-3),
                                          rate_hz=max(1.0 / (hop_s * speed), 0.05),
                                          width=width, with_successor=False, cancel=cancel)
            if not samples:  # a range shorter than one frame period
                samples = media.frames_between(shot.media_path, start, start + 0.5,
                                               width=width)[:1]
        except (MissingMediaError, UndecodableMediaError):
            samples = []
        if samples:
            sample_t = np.array([s.time_s for s in samples])
            for h_index, h in enumerate(run):
                out[k + h_index] = samples[int(np.argmin(np.abs(sample_t - h.media_s)))].rgb
        k = j + 1
    return out


def fill_unknown(n: int, known: Sequence[int], values: np.ndarray) -> np.ndarray:
    """(n, 2): ``values`` at the ``known`` hops, interpolated (held at the ends) elsewhere."""
    if len(known) == 0:
        return np.zeros((n, 2))
    idx = np.arange(n)
    return np.stack([np.interp(idx, known, values[:, d]) for d in range(2)], axis=1)


def keyframe_hops(edit: Edit, count: int) -> list[HopFrame]:
    """Up to ``count`` frames spread evenly over the picture of the whole timeline (§3.6's
    sparse global view), preferring one per shot where the shots allow."""
    _, hops = hop_frames(edit, 1.0)
    if len(hops) <= count:
        return hops
    # evenly spaced over the picture, then moved to an unused shot nearby when possible
    picks = [round(i) for i in np.linspace(0, len(hops) - 1, count)]
    used_shots: set[int] = set()
    out = []
    for p in picks:
        choice = p
        if id(hops[p].shot) in used_shots:
            near = [q for q in range(max(0, p - 5), min(len(hops), p + 6))
                    if id(hops[q].shot) not in used_shots]
            choice = min(near, key=lambda q: abs(q - p)) if near else p
        used_shots.add(id(hops[choice].shot))
        out.append(hops[choice])
    return sorted({h.hop: h for h in out}.values(), key=lambda h: h.hop)


Describe = Callable[[int], str]


def keyframe_describer(backbone, edit: Edit, prompt: str, *, keyframes: int = 8,
                       frame_side: int = DEFAULT_FRAME_SIDE,
                       cancel: CancelToken = NEVER_CANCELLED) -> tuple[Describe | None, str]:
    """``describe(attempt)``: ``backbone``'s answer to ``prompt`` about keyframes of the
    whole timeline (greedy first, sampled on a retry), for the global anchor (§3.4, §3.6,
    parsed in ``bridge.style.anchor``); or None and why not."""
    hops = keyframe_hops(edit, keyframes)
    decoded = decode_hops(hops, hop_s=1.0, width=frame_side, cancel=cancel)
    frames = [f for f in decoded if f is not None]
    times = [float(h.hop) for h, f in zip(hops, decoded) if f is not None]
    if not frames:
        return None, "no readable picture on the timeline"

    def describe(attempt: int) -> str:
        cancel.raise_if_cancelled()
        return backbone.describe(frames, prompt, times_s=times, sample=attempt > 0,
                                 seed=attempt)

    return describe, ""


# ---------------------------------------------------------------- the estimator

_last_backbone: tuple[tuple, object] | None = None
_backbone_lock = threading.Lock()


def loaded_backbone(vlm: str, **settings):
    """``Backbone.load``, keeping the last one: the bridge runs one job after another, and
    loading a 2B model takes longer than sensing a short timeline. One model at most stays
    in memory; asking for another replaces it."""
    global _last_backbone
    from bridge.affect.vlm_model import Backbone

    key = (str(Path(vlm).expanduser().resolve()) if Path(vlm).expanduser().exists() else vlm,
           *sorted(settings.items()))
    with _backbone_lock:
        if _last_backbone is None or _last_backbone[0] != key:
            _last_backbone = None  # let the old model go before the new one loads
            _last_backbone = (key, Backbone.load(vlm, **settings))
        return _last_backbone[1]



class VlmEstimator:
    """Frozen vision-language model + trained probe (NarraScore §3.3); needs weights."""

    name = "vlm"

    def __init__(self, vlm: str | None = None, probe: str | Path | None = None, *,
                 window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP,
                 frame_side: int = DEFAULT_FRAME_SIDE, device: str = "cpu",
                 dtype: str = "auto", anchor: bool = True) -> None:
        require_neural()
        if not vlm:
            raise InvalidOptionError("the VLM sensor needs a model: --backend-opt vlm=PATH "
                                     "(a local folder or a hub id)", field="vlm")
        if not probe:
            raise InvalidOptionError("the VLM sensor needs a trained probe: "
                                     "--backend-opt probe=PATH", field="probe")
        window_plan(1, window=int(window), overlap=int(overlap))  # validates
        from bridge.affect.vlm_input import INSTRUCTION_VERSION
        from bridge.affect.vlm_probe import load_probe

        self.probe = load_probe(probe)
        config = self.probe.config
        self.backbone = loaded_backbone(vlm, layer=config.layer, frame_side=int(frame_side),
                                        dtype=dtype, device=device)
        if config.in_dim != self.backbone.hidden_size:
            raise InvalidOptionError(
                f"probe expects {config.in_dim}-wide states but {vlm} gives "
                f"{self.backbone.hidden_size}; train a probe on this model", path=probe,
                field="probe")
        if config.instruction_version and config.instruction_version != INSTRUCTION_VERSION:
            raise InvalidOptionError(
                f"probe was trained with instruction {config.instruction_version}, this "
                f"version uses {INSTRUCTION_VERSION}; retrain it", path=probe, field="probe")
        self.window, self.overlap = int(window), int(overlap)
        self.frame_side = int(frame_side)
        self.use_anchor = anchor

    def describer(self, edit: Edit, prompt: str, *,
                  cancel: CancelToken = NEVER_CANCELLED) -> tuple[Describe | None, str]:
        """The global anchor's keyframe describer on the same backbone (see
        ``keyframe_describer``); None and no reason when the "anchor" option is off."""
        if not self.use_anchor:
            return None, ""
        return keyframe_describer(self.backbone, edit, prompt, frame_side=self.frame_side,
                                  cancel=cancel)

    def predict(self, frames: list[np.ndarray], times_s: list[float]) -> np.ndarray:
        states = self.backbone.pooled_states(frames, times_s)
        return self.probe.predict(states).numpy()

    def estimate(self, edit: Edit, cuts: tuple[Cut, ...], *,
                 picture: Sequence[ShotPicture] = (), sound: SoundTrack | None = None,
                 hop_s: float = 1.0, rate_hz: float = 2.0,
                 progress: ProgressFn = no_progress,
                 cancel: CancelToken = NEVER_CANCELLED) -> AffectCurve:
        """``picture``, ``sound`` and ``rate_hz`` belong to the signal passes; the VLM
        reads its own frames, one per hop, at a resolution the signal pass does not keep."""
        n, hops = hop_frames(edit, hop_s)
        undecodable: set[int] = set()

        def load(a: int, b: int) -> tuple[list[np.ndarray], list[float]]:
            frames = decode_hops(hops[a:b], hop_s=hop_s, width=self.frame_side,
                                 cancel=cancel)
            fallback = next((f for f in frames if f is not None),
                            np.zeros((self.frame_side * 9 // 16, self.frame_side, 3),
                                     np.uint8))
            for i, f in enumerate(frames):
                if f is None:  # keep the window's positions; the hop is marked unknown
                    undecodable.add(a + i)
                    frames[i] = fallback
            return frames, [clock_s(h.record_s, hop_s) for h in hops[a:b]]

        progress(STAGE, 0.0, f"VLM sensor: {len(hops)} frames")
        va = windowed(self.predict, load, len(hops), window=self.window,
                      overlap=self.overlap, progress=progress, cancel=cancel)
        keep = [k for k in range(len(hops)) if k not in undecodable]
        known = [hops[k].hop for k in keep]
        curve = np.clip(fill_unknown(n, known, va[keep]), -1.0, 1.0)
        confidence = np.zeros(n)
        confidence[known] = 1.0
        return AffectCurve(hop_s=hop_s, valence=curve[:, 0], arousal=curve[:, 1],
                           confidence=confidence, source="vlm")

