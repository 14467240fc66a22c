"""Tempo map whose beats land on the significant cuts by construction.

This is VeM's transition–beat alignment done by planning rather than by learning.

Anchor cuts split the timeline into segments (0 -> first anchor -> ... -> last anchor -> end).
Each segment holds a whole number of equal beats, so every anchor is exactly a beat, and bars
restart there, so every anchor is also a downbeat. A dynamic programme over the segments picks
the beat counts: each segment's tempo stays inside [bpm_min, bpm_max], near a target tempo
derived from the segment's mean arousal, with a cost on tempo changes between segments (a hard
limit of ``max_step_ratio``, kept whenever any plan can keep it) and a small preference for
beat counts that fill whole or half bars. One tempo per segment: a long uncut stretch keeps a
steady tempo, and the arousal inside it is followed by dynamics rather than by tempo.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.types import Cut

DEFAULT_MAX_STEP_RATIO = 1.25  # tempo may change by at most 25 % from one segment to the next
MIN_DETECTED_STRENGTH = 0.5  # detected cuts weaker than this are not anchored
MAX_CANDIDATES = 24  # beat counts tried per segment, those nearest the target tempo
MAX_SMOOTHING_ROUNDS = 6  # rounds of dropping anchors that force over-limit tempo steps

# Dynamic-programme weights (costs are squared log tempo ratios, so symmetric in speed up/down).
_W_TARGET = 100.0  # 10 % off target costs ~0.9
_W_CHANGE = 15.0  # a 10 % step between segments costs ~0.14: tempo may follow the story
_W_STEP_VIOLATION = 1e4  # per unit of log ratio beyond the limit: only when nothing else fits
_COST_HALF_BAR = 0.15  # beat count fills half bars but not whole bars
_COST_ODD = 0.4  # beat count leaves a partial bar that is not a half bar
_FINAL_BAR_FACTOR = 3.0  # the last segment carries the cadence: whole bars matter more there


@dataclass(frozen=True)
class SkippedCut:
    """A cut the tempo map does not force onto a beat, and why."""

    time_s: float
    kind: str
    reason: str


@dataclass(frozen=True)
class TempoSegment:
    """Equal beats between two boundaries (0, anchors, end)."""

    start_s: float
    end_s: float
    start_beat: int
    n_beats: int
    target_bpm: float

    @property
    def bpm(self) -> float:
        return 60.0 * self.n_beats / (self.end_s - self.start_s)

    @property
    def beat_s(self) -> float:
        return (self.end_s - self.start_s) / self.n_beats


@dataclass(frozen=True, eq=False)
class TempoMap:
    """Beat times (exact floats; each anchor cut is one of them) and the plan behind them."""

    duration_s: float
    frame_s: float
    beats_per_bar: int
    max_step_ratio: float
    beat_times_s: np.ndarray  # (n_beats,) strictly increasing, first 0.0, all < duration_s
    downbeats: np.ndarray  # (n_beats,) bool: bar starts; bars restart at every anchor
    segments: tuple[TempoSegment, ...]
    anchors_s: tuple[float, ...]  # the cut times that are beats by construction
    skipped: tuple[SkippedCut, ...]
    cut_alignment: float  # share of the timeline's cuts with a beat within ±1 frame
    warnings: tuple[str, ...] = ()

    @property
    def n_beats(self) -> int:
        return len(self.beat_times_s)

    @property
    def bar_starts_s(self) -> np.ndarray:
        return self.beat_times_s[self.downbeats]

    @property
    def bar_start_beats(self) -> np.ndarray:
        return np.flatnonzero(self.downbeats)

    @property
    def anchor_beats(self) -> tuple[int, ...]:
        """Beat index of each anchor (the start beat of every segment after the first)."""
        return tuple(seg.start_beat for seg in self.segments[1:])

    @functools.cached_property
    def grid_s(self) -> np.ndarray:
        """Beat times plus the end of the timeline: beat b spans grid_s[b]..grid_s[b+1].

        Cached: harmony reads it once per chord; the map is frozen, so it never changes."""
        return np.append(self.beat_times_s, self.duration_s)

    @property
    def bpms(self) -> np.ndarray:
        return np.array([seg.bpm for seg in self.segments])

    def time_at_beat(self, beat: float | np.ndarray) -> float | np.ndarray:
        """Seconds at a (fractional) beat position; exact at whole beats."""
        grid = self.grid_s
        return np.interp(beat, np.arange(len(grid), dtype=np.float64), grid)

    def beat_at_time(self, t_s: float | np.ndarray) -> float | np.ndarray:
        """Fractional beat position at a time (inverse of ``time_at_beat``)."""
        grid = self.grid_s
        return np.interp(t_s, grid, np.arange(len(grid), dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "frame_s": self.frame_s,
            "beats_per_bar": self.beats_per_bar,
            "max_step_ratio": self.max_step_ratio,
            "n_beats": self.n_beats,
            "segments": [
                {
                    "start_s": seg.start_s,
                    "end_s": seg.end_s,
                    "start_beat": seg.start_beat,
                    "n_beats": seg.n_beats,
                    "bpm": round(seg.bpm, 4),
                    "target_bpm": round(seg.target_bpm, 4),
                }
                for seg in self.segments
            ],
            "anchors_s": list(self.anchors_s),
            "skipped": [
                {"time_s": s.time_s, "kind": s.kind, "reason": s.reason} for s in self.skipped
            ],
            "cut_alignment": round(self.cut_alignment, 6),
            "warnings": list(self.warnings),
        }


def target_bpm_for(*, arousal: float, bpm_min: float, bpm_max: float) -> float:
    """Arousal -1..1 maps linearly onto the inner 80 % of the style's tempo range."""
    level = min(max((arousal + 1.0) / 2.0, 0.0), 1.0)
    return bpm_min + (bpm_max - bpm_min) * (0.1 + 0.8 * level)


def beat_count_range(*, span_s: float, bpm_min: float, bpm_max: float) -> tuple[int, int]:
    """Whole beat counts whose tempo over ``span_s`` lies in the range (lo > hi when none)."""
    lo = max(1, math.ceil(span_s * bpm_min / 60.0 - 1e-9))
    hi = math.floor(span_s * bpm_max / 60.0 + 1e-9)
    return lo, hi


def select_anchors(
    *,
    duration_s: float,
    cuts: Sequence[Cut],
    bpm_min: float,
    bpm_max: float,
    min_detected_strength: float = MIN_DETECTED_STRENGTH,
) -> tuple[list[float], list[SkippedCut]]:
    """Edit cuts and strong detected cuts, at least one beat (at bpm_max) apart, that fit.

    A cut is skipped when it is outside the timeline, a weak detected cut, closer than one
    beat at the fastest allowed tempo to the previous anchor (or to the end), or when no
    whole number of beats inside the tempo range spans the gap to it.
    """
    min_gap_s = 60.0 / bpm_max
    anchors: list[float] = []
    skipped: list[SkippedCut] = []

    def fits(span_s: float) -> bool:
        lo, hi = beat_count_range(span_s=span_s, bpm_min=bpm_min, bpm_max=bpm_max)
        return lo <= hi

    previous_s = 0.0
    for cut in sorted(cuts, key=lambda c: c.time_s):
        t = float(cut.time_s)
        if not 0.0 < t < duration_s:
            reason = f"outside the timeline (0..{duration_s:.3f} s)"
        elif cut.is_gradual:
            reason = f"a {cut.kind}: a soft boundary, not a hit"
        elif cut.kind == "detected" and cut.strength < min_detected_strength:
            reason = f"weak detected cut (strength {cut.strength:.2f} < {min_detected_strength})"
        elif t - previous_s < min_gap_s - 1e-9:
            reason = (
                f"{t - previous_s:.3f} s after the previous anchor at {previous_s:.3f} s, "
                f"closer than one beat at {bpm_max:g} bpm ({min_gap_s:.3f} s)"
            )
        elif duration_s - t < min_gap_s - 1e-9:
            reason = f"closer than one beat at {bpm_max:g} bpm to the end"
        elif not fits(t - previous_s):
            reason = (
                f"no whole number of beats at {bpm_min:g}..{bpm_max:g} bpm spans the "
                f"{t - previous_s:.3f} s since the previous anchor"
            )
        else:
            anchors.append(t)
            previous_s = t
            continue
        skipped.append(SkippedCut(t, cut.kind, reason))

    # The stretch after the last anchor must hold whole beats too; drop anchors until it does.
    while anchors and not fits(duration_s - anchors[-1]):
        t = anchors.pop()
        kind = next(c.kind for c in cuts if float(c.time_s) == t)
        skipped.append(
            SkippedCut(t, kind, "no whole number of beats in the tempo range spans it to the end")
        )
    skipped.sort(key=lambda s: s.time_s)
    return anchors, skipped


def _bar_cost(*, n_beats: np.ndarray, beats_per_bar: int) -> np.ndarray:
    half = max(1, beats_per_bar // 2)
    return np.where(
        n_beats % beats_per_bar == 0, 0.0, np.where(n_beats % half == 0, _COST_HALF_BAR, _COST_ODD)
    )


def _choose_beat_counts(
    *,
    spans_s: np.ndarray,
    targets_bpm: np.ndarray,
    bpm_min: float,
    bpm_max: float,
    max_step_ratio: float,
    beats_per_bar: int,
) -> tuple[list[int], list[str]]:
    """Dynamic programme over segments: one whole beat count each, minimum total cost."""
    warnings: list[str] = []
    log_step_limit = math.log(max_step_ratio)
    candidates: list[np.ndarray] = []
    local_costs: list[np.ndarray] = []
    for i, (span, target) in enumerate(zip(spans_s, targets_bpm)):
        lo, hi = beat_count_range(span_s=float(span), bpm_min=bpm_min, bpm_max=bpm_max)
        if lo > hi:
            # Only a whole timeline shorter than any in-range beat gets here (anchors are
            # chosen so every other segment fits); keep the nearest count and say so.
            n = max(1, round(span * target / 60.0))
            ns = np.array([n])
            warnings.append(
                f"segment {i} ({span:.3f} s) holds no whole beat count in "
                f"{bpm_min:g}..{bpm_max:g} bpm; using {60 * n / span:.1f} bpm"
            )
        else:
            ideal = span * target / 60.0
            ns = np.arange(lo, hi + 1)
            if len(ns) > MAX_CANDIDATES:
                ns = np.sort(ns[np.argsort(np.abs(ns - ideal), kind="stable")[:MAX_CANDIDATES]])
        bpm = 60.0 * ns / span
        cost = _W_TARGET * np.log(bpm / target) ** 2
        bar = _bar_cost(n_beats=ns, beats_per_bar=beats_per_bar)
        cost = cost + bar * (_FINAL_BAR_FACTOR if i == len(spans_s) - 1 else 1.0)
        candidates.append(ns)
        local_costs.append(cost)

    total = local_costs[0]
    back: list[np.ndarray] = []
    for i in range(1, len(spans_s)):
        prev_bpm = 60.0 * candidates[i - 1] / spans_s[i - 1]
        bpm = 60.0 * candidates[i] / spans_s[i]
        step = np.abs(np.log(bpm[None, :] / prev_bpm[:, None]))  # (prev, cur)
        change = _W_CHANGE * step**2 + _W_STEP_VIOLATION * np.maximum(step - log_step_limit, 0)
        through = total[:, None] + change
        best_prev = np.argmin(through, axis=0)
        back.append(best_prev)
        total = through[best_prev, np.arange(len(bpm))] + local_costs[i]

    choice = int(np.argmin(total))
    picks = [choice]
    for best_prev in reversed(back):
        choice = int(best_prev[choice])
        picks.append(choice)
    picks.reverse()
    counts = [int(candidates[i][k]) for i, k in enumerate(picks)]

    bpms = [60.0 * n / s for n, s in zip(counts, spans_s)]
    worst = max((max(a, b) / min(a, b) for a, b in itertools.pairwise(bpms)), default=1.0)
    if worst > max_step_ratio + 1e-9:
        warnings.append(
            f"the cuts force a tempo step of {worst:.3f}x, above max_step_ratio {max_step_ratio}"
        )
    return counts, warnings


def _segment_targets(
    *, bounds_s: np.ndarray, arousal_at: Callable, bpm_min: float, bpm_max: float
) -> np.ndarray:
    """Target tempo per segment from its mean arousal (sampled every half second)."""
    targets = []
    for start, end in itertools.pairwise(bounds_s):
        n = max(3, math.ceil((end - start) / 0.5))
        probe_s = start + (np.arange(n) + 0.5) * ((end - start) / n)  # midpoints of n parts
        mean_arousal = float(np.mean(np.asarray(arousal_at(probe_s), dtype=np.float64)))
        targets.append(target_bpm_for(arousal=mean_arousal, bpm_min=bpm_min, bpm_max=bpm_max))
    return np.array(targets)


def _anchors_forcing_steps(
    *, bounds_s: np.ndarray, counts: Sequence[int], max_step_ratio: float
) -> dict[float, float]:
    """Anchors to drop so short segments that force over-limit tempo steps merge away.

    For each over-limit step, the shorter of the two segments is merged into its neighbour
    by dropping its later boundary (its earlier one when the later one is the end).
    """
    spans = np.diff(bounds_s)
    bpms = 60.0 * np.asarray(counts) / spans
    dropped: dict[float, float] = {}
    last = len(spans) - 1
    for i in range(last):
        step = max(bpms[i], bpms[i + 1]) / min(bpms[i], bpms[i + 1])
        if step <= max_step_ratio + 1e-9:
            continue
        short = i if spans[i] <= spans[i + 1] else i + 1
        boundary = short + 1 if short < last else short  # index into bounds_s
        dropped.setdefault(float(bounds_s[boundary]), float(step))
    return dropped


def cut_alignment(*, cut_times_s: Sequence[float], beat_times_s: np.ndarray, tol_s: float) -> float:
    """Share of cut times with a beat within ``tol_s`` (1.0 when there are no cuts)."""
    cuts = np.asarray(cut_times_s, dtype=np.float64)
    if len(cuts) == 0:
        return 1.0
    idx = np.clip(np.searchsorted(beat_times_s, cuts), 1, len(beat_times_s) - 1)
    if len(beat_times_s) == 1:
        nearest = np.abs(cuts - beat_times_s[0])
    else:
        nearest = np.minimum(np.abs(cuts - beat_times_s[idx - 1]), np.abs(cuts - beat_times_s[idx]))
    return float(np.mean(nearest <= tol_s + 1e-9))


def plan_tempo(
    *,
    duration_s: float,
    cuts: Sequence[Cut],
    arousal_at: Callable[[np.ndarray], np.ndarray],
    bpm_min: float,
    bpm_max: float,
    frame_s: float,
    max_step_ratio: float = DEFAULT_MAX_STEP_RATIO,
    beats_per_bar: int = 4,
    min_detected_strength: float = MIN_DETECTED_STRENGTH,
) -> TempoMap:
    """Plan beats over ``duration_s`` so that every anchor cut is exactly a downbeat.

    ``arousal_at(times_s) -> arousal`` (-1..1) sets each segment's target tempo.
    """
    if not duration_s > 0:
        raise InvalidOptionError(f"duration must be positive, got {duration_s}", field="duration_s")
    if not 0 < bpm_min <= bpm_max:
        raise InvalidOptionError(
            f"tempo range {bpm_min}..{bpm_max} bpm is empty or not positive", field="bpm_min"
        )
    if not max_step_ratio >= 1.0:
        raise InvalidOptionError(f"{max_step_ratio} is below 1", field="max_step_ratio")
    if beats_per_bar < 1:
        raise InvalidOptionError(f"{beats_per_bar} is below 1", field="beats_per_bar")

    anchors, skipped = select_anchors(
        duration_s=duration_s,
        cuts=cuts,
        bpm_min=bpm_min,
        bpm_max=bpm_max,
        min_detected_strength=min_detected_strength,
    )
    kinds = {float(c.time_s): c.kind for c in cuts}
    for round_ in range(MAX_SMOOTHING_ROUNDS + 1):
        bounds = np.array([0.0, *anchors, duration_s])
        targets_bpm = _segment_targets(
            bounds_s=bounds, arousal_at=arousal_at, bpm_min=bpm_min, bpm_max=bpm_max
        )
        counts, warnings = _choose_beat_counts(
            spans_s=np.diff(bounds),
            targets_bpm=targets_bpm,
            bpm_min=bpm_min,
            bpm_max=bpm_max,
            max_step_ratio=max_step_ratio,
            beats_per_bar=beats_per_bar,
        )
        dropped = _anchors_forcing_steps(
            bounds_s=bounds, counts=counts, max_step_ratio=max_step_ratio
        )
        if not dropped or round_ == MAX_SMOOTHING_ROUNDS:
            break
        for t, step in dropped.items():
            skipped.append(
                SkippedCut(
                    t,
                    kinds.get(t, "edit"),
                    f"anchoring it forces a tempo step of {step:.2f}x (limit {max_step_ratio:g}x)",
                )
            )
        anchors = [t for t in anchors if t not in dropped]
    skipped.sort(key=lambda s: s.time_s)

    segments = []
    start_beat = 0
    for start, end, n, target in zip(bounds[:-1], bounds[1:], counts, targets_bpm):
        segments.append(
            TempoSegment(
                start_s=float(start),
                end_s=float(end),
                start_beat=start_beat,
                n_beats=int(n),
                target_bpm=float(target),
            )
        )
        start_beat += n
    beat_times, downbeats = beats_of_segments(segments, beats_per_bar=beats_per_bar)
    inside = [float(c.time_s) for c in cuts if 0.0 < c.time_s < duration_s]
    return TempoMap(
        duration_s=float(duration_s),
        frame_s=float(frame_s),
        beats_per_bar=beats_per_bar,
        max_step_ratio=float(max_step_ratio),
        beat_times_s=beat_times,
        downbeats=downbeats,
        segments=tuple(segments),
        anchors_s=tuple(anchors),
        skipped=tuple(skipped),
        cut_alignment=cut_alignment(cut_times_s=inside, beat_times_s=beat_times, tol_s=frame_s),
        warnings=tuple(warnings),
    )


def beats_of_segments(segments: Sequence[TempoSegment], *, beats_per_bar: int,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(beat times, downbeats) of back-to-back segments: equal beats, bars restart in each.

    The one formula for beat times, so a map rebuilt from its segments (a saved plan, or a
    re-score that keeps some segments) has the same beats bit for bit."""
    beat_chunks, downbeat_chunks = [], []
    for seg in segments:
        start, end, n = seg.start_s, seg.end_s, seg.n_beats
        times = start + np.arange(n, dtype=np.float64) * ((end - start) / n)
        times[0] = start  # the anchor itself, bit for bit
        beat_chunks.append(times)
        downbeat_chunks.append(np.arange(n) % beats_per_bar == 0)
    return np.concatenate(beat_chunks), np.concatenate(downbeat_chunks)


def tempo_from_dict(d: dict[str, Any]) -> TempoMap:
    """The inverse of `TempoMap.to_dict` (beats recomputed from the segments)."""
    segments = tuple(
        TempoSegment(start_s=float(s["start_s"]), end_s=float(s["end_s"]),
                     start_beat=int(s["start_beat"]), n_beats=int(s["n_beats"]),
                     target_bpm=float(s["target_bpm"]))
        for s in d["segments"]
    )
    bpb = int(d["beats_per_bar"])
    beat_times, downbeats = beats_of_segments(segments, beats_per_bar=bpb)
    return TempoMap(
        duration_s=float(d["duration_s"]),
        frame_s=float(d["frame_s"]),
        beats_per_bar=bpb,
        max_step_ratio=float(d["max_step_ratio"]),
        beat_times_s=beat_times,
        downbeats=downbeats,
        segments=segments,
        anchors_s=tuple(float(t) for t in d["anchors_s"]),
        skipped=tuple(SkippedCut(float(s["time_s"]), s["kind"], s["reason"])
                      for s in d["skipped"]),
        cut_alignment=float(d["cut_alignment"]),
        warnings=tuple(d.get("warnings", ())),
    )
