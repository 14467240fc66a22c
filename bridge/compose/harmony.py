"""Sections, modes and chords on top of a tempo map.

Chords change exactly on every anchor cut (EMSYNC's boundary offsets: the music knows where
the next cut is). The chord just before a cut prepares the chord on it: the diatonic chord a
fifth above (a dominant approach), or a fourth above (a pre-dominant/plagal approach) where
the fifth-above chord would be diminished. Harmonic rhythm follows arousal. The piece ends on
a cadence (V-I, or IV-I for plagal styles) whose tonic lands on the last downbeat.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bridge.compose.tempo import TempoMap
from bridge.compose.theory import mode_for_valence, quality, roman, triad_pcs

# Section segmentation (seconds): sections follow the cuts, and the affect inside long shots.
MIN_SECTION_AT_CUT_S = 8.0
MAX_SECTION_AT_CUT_S = 45.0
MIN_SECTION_UNCUT_S = 16.0
MAX_SECTION_UNCUT_S = 60.0
LOOKAHEAD_S = 6.0  # the affect of the next few seconds decides whether a section starts
AFFECT_CHANGE = 0.3  # a change in mean valence or arousal this large starts a section at a cut
STRONG_AFFECT_CHANGE = 0.45  # ... and this large between cuts
MIN_FINAL_CHORD_S = 1.0  # the final tonic sounds at least this long before the end

# Functional progressions: weight of moving from degree i (row) to degree j (column).
_PROGRESSION = np.array(
    [
        # I    ii   iii  IV   V    vi   vii
        [0.0, 2.0, 1.0, 3.0, 3.0, 3.0, 0.2],  # from I
        [0.5, 0.0, 0.5, 1.0, 4.0, 0.5, 1.0],  # from ii
        [0.5, 1.0, 0.0, 2.0, 0.5, 3.0, 0.2],  # from iii
        [2.0, 1.5, 0.5, 0.0, 3.0, 1.0, 0.5],  # from IV
        [4.0, 0.5, 0.5, 1.0, 0.0, 2.0, 0.2],  # from V
        [1.0, 2.0, 1.0, 3.0, 2.0, 0.0, 0.2],  # from vi
        [3.0, 0.2, 1.0, 0.5, 0.5, 1.0, 0.0],  # from vii
    ]
)


@dataclass(frozen=True)
class Section:
    """A stretch of steady affect: one mode, one dynamic level, motif statements inside."""

    index: int
    start_beat: int
    end_beat: int
    start_s: float
    end_s: float
    mode: str
    valence: float
    arousal: float

    @property
    def intensity(self) -> float:
        """0..1 from arousal: drives density, velocity, register and percussion."""
        return min(max((self.arousal + 1.0) / 2.0, 0.0), 1.0)


@dataclass(frozen=True)
class Chord:
    start_beat: int
    end_beat: int
    start_s: float
    end_s: float
    root_pc: int
    pcs: tuple[int, ...]  # root, third, fifth
    degree: int  # 0-based scale degree in ``mode``
    mode: str
    label: str  # roman numeral in the mode, e.g. "V", "vi"
    role: str  # anchor | approach | passing | cadence | final
    section: int


def harmonic_rhythm_beats(*, arousal: float) -> int:
    """Beats per chord: a chord per two bars when calm, every beat at the most intense."""
    if arousal < -0.5:
        return 8
    if arousal < 0.0:
        return 4
    if arousal < 0.6:
        return 2
    return 1


class _AffectMeans:
    """Mean valence/arousal over any window, from cumulative sums on a fine grid."""

    def __init__(self, *, duration_s: float, valence_at: Callable, arousal_at: Callable):
        self.step_s = 0.25
        n = max(2, math.ceil(duration_s / self.step_s) + 1)
        t = np.arange(n) * self.step_s
        self._cum_v = np.concatenate([[0.0], np.cumsum(np.asarray(valence_at(t), dtype=float))])
        self._cum_a = np.concatenate([[0.0], np.cumsum(np.asarray(arousal_at(t), dtype=float))])
        self._n = n

    def mean(self, start_s: float, end_s: float) -> tuple[float, float]:
        i = min(max(int(start_s / self.step_s), 0), self._n - 1)
        j = min(max(math.ceil(end_s / self.step_s), i + 1), self._n)
        k = j - i
        return (
            float((self._cum_v[j] - self._cum_v[i]) / k),
            float((self._cum_a[j] - self._cum_a[i]) / k),
        )


def final_chord_beat(tempo: TempoMap, *, release_s: float) -> int:
    """The last downbeat that leaves the final chord room to sound before its release."""
    grid = tempo.grid_s
    bars = tempo.bar_start_beats
    for b in bars[::-1]:
        if tempo.duration_s - grid[b] >= release_s + MIN_FINAL_CHORD_S:
            return int(b)
    # A timeline shorter than a bar plus the release: end on the first beat that leaves room.
    room = np.flatnonzero(tempo.duration_s - tempo.beat_times_s >= release_s + 0.1)
    return int(room[-1]) if len(room) else 0


def plan_sections(
    *,
    tempo: TempoMap,
    final_beat: int,
    valence_at: Callable,
    arousal_at: Callable,
) -> tuple[Section, ...]:
    """Split at anchor cuts (and, in long uncut stretches, at downbeats) where the affect turns."""
    means = _AffectMeans(duration_s=tempo.duration_s, valence_at=valence_at, arousal_at=arousal_at)
    grid = tempo.grid_s
    anchors = set(tempo.anchor_beats)
    anchor_times = np.array(tempo.anchors_s)
    starts = [0]
    for b in tempo.bar_start_beats:
        b = int(b)
        if b == 0 or b >= final_beat:
            continue
        t = grid[b]
        length_s = t - grid[starts[-1]]
        if grid[final_beat] - t < min(MIN_SECTION_AT_CUT_S, length_s):
            continue  # too near the end for a section of its own
        v0, a0 = means.mean(grid[starts[-1]], t)
        v1, a1 = means.mean(t, min(t + LOOKAHEAD_S, tempo.duration_s))
        change = max(abs(v1 - v0), abs(a1 - a0))
        if b in anchors:
            new = length_s >= MIN_SECTION_AT_CUT_S and (
                change >= AFFECT_CHANGE or length_s >= MAX_SECTION_AT_CUT_S
            )
        elif np.any((anchor_times > t) & (anchor_times - t < LOOKAHEAD_S)):
            new = False  # a cut is coming: let the section start on it
        else:
            new = length_s >= MIN_SECTION_UNCUT_S and (
                change >= STRONG_AFFECT_CHANGE or length_s >= MAX_SECTION_UNCUT_S
            )
        if new:
            starts.append(b)
    ends = [*starts[1:], tempo.n_beats]
    sections = []
    for i, (b0, b1) in enumerate(zip(starts, ends)):
        v, a = means.mean(grid[b0], grid[b1])
        sections.append(
            Section(
                index=i,
                start_beat=b0,
                end_beat=b1,
                start_s=float(grid[b0]),
                end_s=float(grid[b1]),
                mode=mode_for_valence(v),
                valence=round(v, 6),
                arousal=round(a, 6),
            )
        )
    return tuple(sections)


def _chord(
    *,
    tonic_pc: int,
    mode: str,
    degree: int,
    role: str,
    section: int,
    beats: tuple[int, int],
    tempo: TempoMap,
    pcs: tuple[int, ...] | None = None,
) -> Chord:
    pcs = pcs or triad_pcs(tonic_pc=tonic_pc, mode=mode, degree=degree)
    grid = tempo.grid_s
    return Chord(
        start_beat=beats[0],
        end_beat=beats[1],
        start_s=float(grid[beats[0]]),
        end_s=float(grid[beats[1]]),
        root_pc=pcs[0],
        pcs=tuple(pcs),
        degree=degree % 7,
        mode=mode,
        label=roman(degree=degree, chord_quality=quality(pcs)),
        role=role,
        section=section,
    )


def _usable(*, tonic_pc: int, mode: str, degree: int) -> bool:
    return quality(triad_pcs(tonic_pc=tonic_pc, mode=mode, degree=degree)) in ("maj", "min")


def _approach_degree(*, tonic_pc: int, mode: str, target: int) -> int:
    """A fifth above the target (dominant approach), else a fourth above (pre-dominant)."""
    for step in (4, 3, 1, 6):
        degree = (target + step) % 7
        if _usable(tonic_pc=tonic_pc, mode=mode, degree=degree):
            return degree
    return (target + 4) % 7


def _cadence_pcs(*, tonic_pc: int, mode: str, kind: str) -> tuple[int, int, int]:
    """The chord before the final tonic: major V (authentic) or diatonic IV/iv (plagal)."""
    if kind == "plagal":
        return triad_pcs(tonic_pc=tonic_pc, mode=mode, degree=3)
    return ((tonic_pc + 7) % 12, (tonic_pc + 11) % 12, (tonic_pc + 2) % 12)


def _next_degree(
    *, rng: np.random.Generator, tonic_pc: int, mode: str, previous: int, avoid_roots: set[int]
) -> int:
    weights = _PROGRESSION[previous % 7].copy()
    for d in range(7):
        root = triad_pcs(tonic_pc=tonic_pc, mode=mode, degree=d)[0]
        if not _usable(tonic_pc=tonic_pc, mode=mode, degree=d) or root in avoid_roots:
            weights[d] = 0.0
    if weights.sum() <= 0:
        allowed = [
            d
            for d in range(7)
            if triad_pcs(tonic_pc=tonic_pc, mode=mode, degree=d)[0] not in avoid_roots
        ]
        return int(rng.choice(allowed))
    return int(rng.choice(7, p=weights / weights.sum()))


def _slots(*, start: int, end: int, tempo: TempoMap, arousal_at: Callable) -> list[tuple[int, int]]:
    """Chord spans inside [start, end), lengths from the harmonic rhythm, aligned to ``start``."""
    out = []
    b = start
    grid = tempo.grid_s
    while b < end:
        hr = harmonic_rhythm_beats(arousal=float(arousal_at(grid[b])))
        length = min(hr - (b - start) % hr, end - b)
        out.append((b, b + length))
        b += length
    return out


def build_chords(
    *,
    tempo: TempoMap,
    sections: tuple[Section, ...],
    final_beat: int,
    tonic_pc: int,
    cadence: str,
    arousal_at: Callable,
    rng: np.random.Generator,
) -> tuple[Chord, ...]:
    """Chord sequence with a change on every anchor and section start, ending on the tonic."""
    section_starts = {s.start_beat: s.index for s in sections}
    bounds = sorted(
        {0, final_beat}
        | {b for b in tempo.anchor_beats if b < final_beat}
        | {b for b in section_starts if b < final_beat}
    )
    units = [(b0, b1) for b0, b1 in zip(bounds, [*bounds[1:], tempo.n_beats])]
    section_of = np.zeros(tempo.n_beats + 1, dtype=int)
    for s in sections:
        section_of[s.start_beat : s.end_beat] = s.index
    section_of[-1] = sections[-1].index

    unit_slots = [
        _slots(start=b0, end=b1, tempo=tempo, arousal_at=arousal_at)
        if b0 != final_beat
        else [(b0, b1)]
        for b0, b1 in units
    ]
    final_unit = len(units) - 1
    # A unit held on one chord still gets a chord that prepares the next cut: its last half
    # bar (its last beat before the final cadence when it is that short).
    for j, slots in enumerate(unit_slots[:-1]):
        if len(slots) == 1:
            b0, b1 = slots[0]
            approach = 2 if b1 - b0 >= 4 else (1 if b1 - b0 >= 2 and j + 1 == final_unit else 0)
            if approach:
                unit_slots[j] = [(b0, b1 - approach), (b1 - approach, b1)]
    tonic_root = tonic_pc % 12

    # Targets: the chord on each unit's first beat (on the cut), decided first so the unit
    # before can prepare it.
    targets: list[int] = []
    for j, (b0, _) in enumerate(units):
        mode = sections[section_of[b0]].mode
        avoid: set[int] = set()
        if j > 0 and len(unit_slots[j - 1]) == 1:
            prev_mode = sections[section_of[units[j - 1][0]]].mode
            avoid.add(triad_pcs(tonic_pc=tonic_pc, mode=prev_mode, degree=targets[-1])[0])
        if j + 1 == final_unit and len(unit_slots[j]) == 1:
            avoid.add(tonic_root)  # the final tonic must still be a change
        if j == final_unit:
            targets.append(0)
            continue
        if j == 0 or b0 in section_starts:
            order = [0, 5, 3, 4, 1, 2, 6]  # a new section arrives on its tonic when it can
            degree = next(
                (
                    d
                    for d in order
                    if _usable(tonic_pc=tonic_pc, mode=mode, degree=d)
                    and triad_pcs(tonic_pc=tonic_pc, mode=mode, degree=d)[0] not in avoid
                ),
                order[0],
            )
        else:
            degree = _next_degree(
                rng=rng, tonic_pc=tonic_pc, mode=mode, previous=targets[-1], avoid_roots=avoid
            )
        targets.append(degree)

    chords: list[Chord] = []
    for j, slots in enumerate(unit_slots):
        sec = int(section_of[units[j][0]])
        mode = sections[sec].mode
        if j == final_unit:
            chords.append(
                _chord(
                    tonic_pc=tonic_pc,
                    mode=mode,
                    degree=0,
                    role="final",
                    section=sec,
                    beats=slots[0],
                    tempo=tempo,
                )
            )
            continue
        next_sec = int(section_of[units[j + 1][0]])
        next_mode = sections[next_sec].mode
        degrees = [targets[j]]
        for _ in slots[1:-1]:
            degrees.append(
                _next_degree(
                    rng=rng,
                    tonic_pc=tonic_pc,
                    mode=mode,
                    previous=degrees[-1],
                    avoid_roots={triad_pcs(tonic_pc=tonic_pc, mode=mode, degree=degrees[-1])[0]},
                )
            )
        for k, (slot, degree) in enumerate(zip(slots, degrees)):
            role = "anchor" if k == 0 else "passing"
            chords.append(
                _chord(
                    tonic_pc=tonic_pc,
                    mode=mode,
                    degree=degree,
                    role=role,
                    section=sec,
                    beats=slot,
                    tempo=tempo,
                )
            )
        if len(slots) >= 2:
            if j + 1 == final_unit:
                role, pcs = "cadence", _cadence_pcs(tonic_pc=tonic_pc, mode=next_mode, kind=cadence)
                degree = 4 if cadence == "authentic" else 3
            else:
                role, pcs = "approach", None
                degree = _approach_degree(tonic_pc=tonic_pc, mode=next_mode, target=targets[j + 1])
            chords.append(
                _chord(
                    tonic_pc=tonic_pc,
                    mode=next_mode,
                    degree=degree,
                    role=role,
                    section=sec,
                    beats=slots[-1],
                    tempo=tempo,
                    pcs=pcs,
                )
            )
    return tuple(_merge_repeats(chords, anchor_beats={u[0] for u in units}))


def _merge_repeats(chords: list[Chord], *, anchor_beats: set[int]) -> list[Chord]:
    """Join a chord into the one before when it repeats it and no cut falls between them."""
    out: list[Chord] = []
    for c in chords:
        prev = out[-1] if out else None
        if prev is not None and c.start_beat not in anchor_beats and prev.pcs == c.pcs:
            out[-1] = Chord(**{**prev.__dict__, "end_beat": c.end_beat, "end_s": c.end_s})
        else:
            out.append(c)
    return out
