"""Plans for part of a piece: compose a stretch between kept music, cut and join plans.

Re-scoring after a recut keeps the previous plan where the picture was kept and composes
only the stretches between. A composed stretch keeps the piece's tonic, cadence and motif,
draws its own random numbers (seeded by the piece's seed and where the stretch starts, so
re-composing one stretch never changes another), puts the new cuts on its beats like any
plan, and, unless it is the ending, closes on a chord that prepares the kept chord after it
(the same approach the composer uses before a cut) instead of a final cadence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bridge.compose.harmony import (
    Chord,
    Section,
    _approach_degree,
    _chord,
    build_chords,
    final_chord_beat,
    plan_sections,
)
from bridge.compose.plan import (
    RELEASE_ALLOWANCE_S,
    MotifStatement,
    MusicPlan,
    affect_functions,
    plan_statements,
)
from bridge.compose.tempo import (
    SkippedCut,
    TempoMap,
    TempoSegment,
    beats_of_segments,
    cut_alignment,
    plan_tempo,
)
from bridge.types import AffectCurve, Cut, Style


def curve_window(curve: AffectCurve, start_s: float, duration_s: float) -> AffectCurve:
    """The curve over [start_s, start_s + duration_s), re-sampled to start at 0."""
    n = max(1, math.ceil(duration_s / curve.hop_s - 1e-9))
    t = start_s + (np.arange(n) + 0.5) * curve.hop_s
    if len(curve) == 0:
        zeros = np.zeros(n)
        return AffectCurve(curve.hop_s, zeros, zeros, zeros, source=curve.source)
    valence, arousal = curve.at(t)
    knots = curve.times_s + 0.5 * curve.hop_s
    confidence = np.interp(t, knots, curve.confidence)
    return AffectCurve(curve.hop_s, valence, arousal, confidence, source=curve.source)


def compose_region(*, duration_s: float, frame_s: float, cuts: Sequence[Cut],
                   curve: AffectCurve, style: Style, seed: int, salt: int, tonic_pc: int,
                   cadence: str, motif, lead_into: Chord | None) -> MusicPlan:
    """A plan for a stretch of ``duration_s`` (cuts and curve in its own time, from 0).

    ``lead_into`` is the chord the kept music after the stretch starts with; None when the
    stretch ends the piece (it then ends with the final cadence, as a whole piece does).
    """
    valence_at, arousal_at = affect_functions(curve)
    tempo = plan_tempo(duration_s=duration_s, cuts=cuts, arousal_at=arousal_at,
                       bpm_min=style.bpm_min, bpm_max=style.bpm_max, frame_s=frame_s)
    rng = np.random.default_rng([seed, 2, salt])
    ending = lead_into is None
    final_beat = (final_chord_beat(tempo, release_s=RELEASE_ALLOWANCE_S) if ending
                  else tempo.n_beats)
    sections = plan_sections(tempo=tempo, final_beat=final_beat, valence_at=valence_at,
                             arousal_at=arousal_at)
    chords = build_chords(tempo=tempo, sections=sections, final_beat=final_beat,
                          tonic_pc=tonic_pc, cadence=cadence, arousal_at=arousal_at, rng=rng)
    if not ending:
        chords = _lead_into(chords, lead_into, tempo=tempo, tonic_pc=tonic_pc)
    statements = plan_statements(tempo=tempo, sections=sections, chords=chords,
                                 final_beat=final_beat, rng=rng)
    return MusicPlan(duration_s=duration_s, frame_s=frame_s, seed=seed, style_name=style.name,
                     tempo=tempo, tonic_pc=tonic_pc, cadence=cadence, sections=sections,
                     chords=chords, motif=motif, statements=statements, final_beat=final_beat,
                     release_s=RELEASE_ALLOWANCE_S if ending else 0.0)


def _lead_into(chords: Sequence[Chord], target: Chord, *, tempo: TempoMap,
               tonic_pc: int) -> tuple[Chord, ...]:
    """Drop the final tonic (there is none: kept music follows) and turn the cadence chord
    into an approach to ``target``; a last chord long enough gets its last half bar."""
    kept = [c for c in chords if c.role != "final" and c.end_beat > c.start_beat]
    last = kept[-1]
    if last.role != "cadence":
        if last.end_beat - last.start_beat < 4:
            kept[-1] = replace(last, end_beat=tempo.n_beats, end_s=tempo.duration_s)
            return tuple(kept)
        split = last.end_beat - 2
        kept[-1] = replace(last, end_beat=split, end_s=float(tempo.grid_s[split]))
        last = replace(last, start_beat=split, start_s=float(tempo.grid_s[split]))
    degree = _approach_degree(tonic_pc=tonic_pc, mode=target.mode, target=target.degree)
    kept[-1] = _chord(tonic_pc=tonic_pc, mode=target.mode, degree=degree, role="approach",
                      section=last.section, beats=(last.start_beat, tempo.n_beats),
                      tempo=tempo)
    return tuple(kept)


# ---------------------------------------------------------------- cutting and joining plans


def _beat_index(tempo: TempoMap, t_s: float) -> int:
    grid = tempo.grid_s
    i = int(np.argmin(np.abs(grid - t_s)))
    if abs(grid[i] - t_s) > 1e-6:
        raise ValueError(f"{t_s:.6f} s is not a beat of the plan")
    return i


def cut_plan(plan: MusicPlan, start_s: float, end_s: float) -> MusicPlan:
    """The part of ``plan`` in [start_s, end_s) (both beats), in its own time from 0."""
    tempo = plan.tempo
    b0, b1 = _beat_index(tempo, start_s), _beat_index(tempo, end_s)
    t0 = float(tempo.grid_s[b0])
    segments = []
    for seg in tempo.segments:
        lo, hi = max(seg.start_beat, b0), min(seg.start_beat + seg.n_beats, b1)
        if hi > lo:
            segments.append(TempoSegment(
                start_s=float(tempo.grid_s[lo]) - t0, end_s=float(tempo.grid_s[hi]) - t0,
                start_beat=lo - b0, n_beats=hi - lo, target_bpm=seg.target_bpm))

    def clip(items):
        out = []
        for x in items:
            lo, hi = max(x.start_beat, b0), min(x.end_beat, b1)
            if hi > lo:
                out.append(replace(x, start_beat=lo - b0, end_beat=hi - b0))
        return out

    sections = [replace(s, index=k) for k, s in enumerate(clip(plan.sections))]
    first_section = next((s.index for s in plan.sections if s.end_beat > b0), 0)
    chords = [replace(c, section=c.section - first_section) for c in clip(plan.chords)]
    statements = [replace(m, start_beat=m.start_beat - b0, section=m.section - first_section)
                  for m in plan.statements if b0 <= m.start_beat < b1]
    duration = float(tempo.grid_s[b1]) - t0
    part = _with_times(
        plan, duration_s=duration, segments=segments,
        anchors_s=[a - t0 for a in tempo.anchors_s if start_s <= a < end_s],
        skipped=[replace(s, time_s=s.time_s - t0) for s in tempo.skipped
                 if start_s <= s.time_s < end_s],
        sections=sections, chords=chords, statements=statements,
        final_beat=plan.final_beat - b0 if b1 == tempo.n_beats else b1 - b0,
        release_s=plan.release_s if b1 == tempo.n_beats else 0.0)
    return part


def join_plans(parts: Sequence[tuple[float, MusicPlan]], *, duration_s: float,
               cut_times_s: Sequence[float]) -> MusicPlan:
    """Plans laid back to back (each at its start time) as one plan of ``duration_s``."""
    first = parts[0][1]
    segments, sections, chords, statements, anchors, skipped = [], [], [], [], [], []
    beat0 = 0
    for start_s, part in parts:
        n_sections = len(sections)
        segments += [replace(s, start_s=s.start_s + start_s, end_s=s.end_s + start_s,
                             start_beat=s.start_beat + beat0) for s in part.tempo.segments]
        sections += [replace(s, index=s.index + n_sections, start_beat=s.start_beat + beat0,
                             end_beat=s.end_beat + beat0) for s in part.sections]
        chords += [replace(c, start_beat=c.start_beat + beat0, end_beat=c.end_beat + beat0,
                           section=c.section + n_sections) for c in part.chords]
        statements += [replace(m, start_beat=m.start_beat + beat0,
                               section=m.section + n_sections) for m in part.statements]
        anchors += [a + start_s for a in (0.0, *part.tempo.anchors_s) if a + start_s > 0]
        skipped += [replace(s, time_s=s.time_s + start_s) for s in part.tempo.skipped]
        final_beat = part.final_beat + beat0
        beat0 += part.tempo.n_beats
    return _with_times(first, duration_s=duration_s, segments=segments,
                       anchors_s=sorted(set(anchors)), skipped=skipped, sections=sections,
                       chords=chords, statements=statements, final_beat=final_beat,
                       release_s=parts[-1][1].release_s, cut_times_s=cut_times_s)


def _with_times(like: MusicPlan, *, duration_s: float, segments: Sequence[TempoSegment],
                anchors_s: Sequence[float], skipped: Sequence[SkippedCut],
                sections: Sequence[Section], chords: Sequence[Chord],
                statements: Sequence[MotifStatement], final_beat: int, release_s: float,
                cut_times_s: Sequence[float] | None = None) -> MusicPlan:
    """A plan from beat-indexed parts, every time recomputed from one beat grid."""
    old = like.tempo
    beats, downbeats = beats_of_segments(segments, beats_per_bar=old.beats_per_bar)
    grid = np.append(beats, duration_s)
    cuts = anchors_s if cut_times_s is None else cut_times_s
    tempo = TempoMap(
        duration_s=duration_s, frame_s=old.frame_s, beats_per_bar=old.beats_per_bar,
        max_step_ratio=old.max_step_ratio, beat_times_s=beats, downbeats=downbeats,
        segments=tuple(segments), anchors_s=tuple(anchors_s), skipped=tuple(skipped),
        cut_alignment=cut_alignment(cut_times_s=[t for t in cuts if 0 < t < duration_s],
                                    beat_times_s=beats, tol_s=old.frame_s),
        warnings=old.warnings)

    def timed(x):
        return replace(x, start_s=float(grid[x.start_beat]), end_s=float(grid[x.end_beat]))

    return replace(like, duration_s=duration_s, tempo=tempo,
                   sections=tuple(timed(s) for s in sections),
                   chords=tuple(timed(c) for c in chords), statements=tuple(statements),
                   final_beat=final_beat, release_s=release_s)
