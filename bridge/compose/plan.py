"""The music plan: tempo map, sections, chords and a recurring motif, before any note is placed.

``compose_plan`` is deterministic for a seed (one numpy Generator made from it). The tempo map
does not depend on the seed, so another seed gives another take (tonic, motif, progression,
voicings) over the same beats.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bridge.compose.harmony import (
    Chord,
    Section,
    build_chords,
    final_chord_beat,
    plan_sections,
)
from bridge.compose.tempo import TempoMap, plan_tempo, tempo_from_dict
from bridge.compose.theory import PITCH_NAMES, key_name
from bridge.errors import InvalidOptionError
from bridge.style.presets import cadence_kind
from bridge.types import AffectCurve, Cut, Edit, Style

# The final chord is held until this long before the end (about three frames at 25 fps):
# its release tail is then still sounding in the last frames, and the renderer's fade over
# the final frame closes it, so the music ends on the last frame rather than dying away
# early (a 0.5 s allowance left quiet endings silent -55 dB before the last frame).
RELEASE_ALLOWANCE_S = 0.12

# Motif rhythms, in beats, each filling one 4/4 bar.
_MOTIF_RHYTHMS = (
    (1.0, 1.0, 1.0, 1.0),
    (1.5, 0.5, 1.0, 1.0),
    (0.5, 0.5, 1.0, 2.0),
    (1.0, 0.5, 0.5, 2.0),
    (0.75, 0.25, 1.0, 2.0),
    (2.0, 1.0, 1.0),
    (1.0, 1.0, 2.0),
    (0.5, 0.5, 0.5, 0.5, 2.0),
    (1.0, 0.5, 0.5, 1.0, 1.0),
)
_MOTIF_STEPS = np.array([-3, -2, -1, 1, 2, 3, 4])
_MOTIF_STEP_WEIGHTS = np.array([0.5, 1.5, 3.0, 3.0, 1.5, 0.7, 0.4])

# Keys for the piece's tonic: brighter valence favours keys that sit well for strings and
# guitars in major; darker favours the usual minor-mode homes. The seed picks among them.
_BRIGHT_TONICS = (0, 7, 2, 5, 9)  # C G D F A
_DARK_TONICS = (2, 9, 4, 0, 7)  # D A E C G


@dataclass(frozen=True)
class Motif:
    """A one-bar figure: scale steps from the statement's base degree, and durations in beats."""

    steps: tuple[int, ...]
    durations_beats: tuple[float, ...]


@dataclass(frozen=True)
class MotifStatement:
    """Where the motif sounds, built on which scale degree, and how it is varied."""

    start_beat: int
    base_degree: int  # scale degree of the section's mode the motif's step 0 sits on
    variation: str  # original | sequence | inversion | augmentation | diminution | ornament
    section: int


@dataclass(frozen=True, eq=False)
class MusicPlan:
    duration_s: float
    frame_s: float
    seed: int
    style_name: str
    tempo: TempoMap
    tonic_pc: int
    cadence: str  # authentic | plagal
    sections: tuple[Section, ...]
    chords: tuple[Chord, ...]
    motif: Motif
    statements: tuple[MotifStatement, ...]
    final_beat: int  # the last downbeat: the final tonic starts here
    release_s: float = RELEASE_ALLOWANCE_S

    @property
    def beat_times_s(self) -> np.ndarray:
        return self.tempo.beat_times_s

    @property
    def key(self) -> str:
        return key_name(tonic_pc=self.tonic_pc, mode=self.sections[0].mode)

    def chord_at_beat(self, beat: float) -> Chord:
        return _at_beat(self.chords, beat)

    def section_at_beat(self, beat: float) -> Section:
        return _at_beat(self.sections, beat)

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "frame_s": self.frame_s,
            "seed": self.seed,
            "style": self.style_name,
            "tonic": PITCH_NAMES[self.tonic_pc],
            "cadence": self.cadence,
            "final_beat": self.final_beat,
            "release_s": self.release_s,
            "tempo": self.tempo.to_dict(),
            "sections": [asdict(s) for s in self.sections],
            "chords": [
                {
                    **asdict(c),
                    "pcs": list(c.pcs),
                    "start_s": round(c.start_s, 6),
                    "end_s": round(c.end_s, 6),
                }
                for c in self.chords
            ],
            "motif": {
                "steps": list(self.motif.steps),
                "durations_beats": list(self.motif.durations_beats),
            },
            "statements": [asdict(s) for s in self.statements],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MusicPlan:
        """The inverse of `to_dict`: times are recomputed from the beats, so they are exact."""
        tempo = tempo_from_dict(d["tempo"])
        grid = tempo.grid_s
        sections = tuple(
            Section(**{**s, "start_s": float(grid[s["start_beat"]]),
                       "end_s": float(grid[s["end_beat"]])})
            for s in d["sections"]
        )
        chords = tuple(
            Chord(**{**c, "pcs": tuple(c["pcs"]), "start_s": float(grid[c["start_beat"]]),
                     "end_s": float(grid[c["end_beat"]])})
            for c in d["chords"]
        )
        return cls(
            duration_s=float(d["duration_s"]),
            frame_s=float(d["frame_s"]),
            seed=int(d["seed"]),
            style_name=d["style"],
            tempo=tempo,
            tonic_pc=PITCH_NAMES.index(d["tonic"]),
            cadence=d["cadence"],
            sections=sections,
            chords=chords,
            motif=Motif(steps=tuple(d["motif"]["steps"]),
                        durations_beats=tuple(d["motif"]["durations_beats"])),
            statements=tuple(MotifStatement(**m) for m in d["statements"]),
            final_beat=int(d["final_beat"]),
            release_s=float(d["release_s"]),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    def summary(self) -> dict[str, Any]:
        bpms = self.tempo.bpms
        return {
            "style": self.style_name,
            "key": self.key,
            "tempo_bpm": {
                "min": round(float(bpms.min()), 2),
                "max": round(float(bpms.max()), 2),
                "mean": round(60.0 * self.tempo.n_beats / self.duration_s, 2),
            },
            "beats": self.tempo.n_beats,
            "anchored_cuts": len(self.tempo.anchors_s),
            "skipped_cuts": len(self.tempo.skipped),
            "cut_alignment": round(self.tempo.cut_alignment, 4),
            "chords": len(self.chords),
            "sections": [
                {
                    "start_s": round(s.start_s, 3),
                    "end_s": round(s.end_s, 3),
                    "mode": s.mode,
                    "arousal": round(s.arousal, 3),
                    "valence": round(s.valence, 3),
                }
                for s in self.sections
            ],
        }


def _at_beat(items: Sequence[Any], beat: float) -> Any:
    """The chord or section sounding at ``beat``: the last one starting at or before it."""
    i = int(np.searchsorted([x.start_beat for x in items], beat, side="right")) - 1
    return items[max(i, 0)]


def affect_functions(curve: AffectCurve) -> tuple[Callable, Callable]:
    """(valence_at, arousal_at) callables over record time; neutral when the curve is empty."""
    if len(curve) == 0:

        def zero(t):
            return np.zeros_like(np.asarray(t, dtype=np.float64))

        return zero, zero
    return (lambda t: curve.at(t)[0]), (lambda t: curve.at(t)[1])


def choose_tonic(*, mean_valence: float, rng: np.random.Generator) -> int:
    """One tonic pitch class for the whole piece, from the overall valence and the seed."""
    pool = _BRIGHT_TONICS if mean_valence >= 0.0 else _DARK_TONICS
    return int(pool[int(rng.integers(len(pool)))])


def make_motif(*, rng: np.random.Generator) -> Motif:
    """A singable one-bar figure: mostly steps, starting and ending on chord tones."""
    rhythm = _MOTIF_RHYTHMS[int(rng.integers(len(_MOTIF_RHYTHMS)))]
    steps = [int(rng.choice([0, 2, 4]))]
    p = _MOTIF_STEP_WEIGHTS / _MOTIF_STEP_WEIGHTS.sum()
    for _ in rhythm[1:]:
        nxt = steps[-1] + int(rng.choice(_MOTIF_STEPS, p=p))
        steps.append(min(max(nxt, -3), 9))
    # The long last note rests on a chord tone of the base chord (0, 2, 4 or 7).
    steps[-1] = min((0, 2, 4, 7), key=lambda tone: (abs(tone - steps[-1]), tone))
    return Motif(steps=tuple(steps), durations_beats=rhythm)


def _variation_for(*, intensity: float, rng: np.random.Generator, first: bool) -> str:
    if first:
        return "original"
    if intensity < 0.35:
        pool = ("augmentation", "original", "inversion")
    elif intensity > 0.7:
        pool = ("diminution", "sequence", "ornament")
    else:
        pool = ("sequence", "inversion", "ornament", "original")
    return pool[int(rng.integers(len(pool)))]


def plan_statements(
    *,
    tempo: TempoMap,
    sections: Sequence[Section],
    chords: Sequence[Chord],
    final_beat: int,
    rng: np.random.Generator,
) -> tuple[MotifStatement, ...]:
    """The motif at each section's first bar, then every 2 bars (every 4 when calm), varied."""
    bar_starts = [int(b) for b in tempo.bar_start_beats]
    out = []
    for sec in sections:
        period = 4 if sec.intensity < 0.35 else 2
        length = 8 if sec.intensity < 0.35 else 4  # augmentation doubles the one-bar motif
        bars = [b for b in bar_starts if sec.start_beat <= b < min(sec.end_beat, final_beat)]
        for k, b in enumerate(bars[::period]):
            if b + length > final_beat:
                break
            variation = _variation_for(intensity=sec.intensity, rng=rng, first=(k == 0))
            chord = _at_beat(chords, b)
            base = 0 if variation == "original" else chord.degree
            out.append(
                MotifStatement(
                    start_beat=b, base_degree=base, variation=variation, section=sec.index
                )
            )
    return tuple(out)


def compose_plan(
    edit: Edit, cuts: Sequence[Cut], curve: AffectCurve, style: Style, *, seed: int = 0
) -> MusicPlan:
    """Tempo map, sections, harmony and motif for ``edit`` (see the module docstrings)."""
    duration_s = edit.duration_s
    if not duration_s > 0:
        raise InvalidOptionError(
            "the timeline has no duration", path=edit.source_path, field="duration_frames"
        )
    if not 0 < style.bpm_min <= style.bpm_max:
        raise InvalidOptionError(
            f"style {style.name!r} has an empty tempo range {style.bpm_min}..{style.bpm_max}",
            field="style",
        )
    valence_at, arousal_at = affect_functions(curve)
    tempo = plan_tempo(
        duration_s=duration_s,
        cuts=cuts,
        arousal_at=arousal_at,
        bpm_min=style.bpm_min,
        bpm_max=style.bpm_max,
        frame_s=edit.frame_s,
    )
    rng = np.random.default_rng(seed)
    final_beat = final_chord_beat(tempo, release_s=RELEASE_ALLOWANCE_S)
    sections = plan_sections(
        tempo=tempo, final_beat=final_beat, valence_at=valence_at, arousal_at=arousal_at
    )
    mean_valence = float(np.mean(valence_at(np.linspace(0.0, duration_s, 64))))
    tonic_pc = choose_tonic(mean_valence=mean_valence, rng=rng)
    cadence = cadence_kind(style)
    chords = build_chords(
        tempo=tempo,
        sections=sections,
        final_beat=final_beat,
        tonic_pc=tonic_pc,
        cadence=cadence,
        arousal_at=arousal_at,
        rng=rng,
    )
    motif = make_motif(rng=rng)
    statements = plan_statements(
        tempo=tempo, sections=sections, chords=chords, final_beat=final_beat, rng=rng
    )
    return MusicPlan(
        duration_s=duration_s,
        frame_s=edit.frame_s,
        seed=seed,
        style_name=style.name,
        tempo=tempo,
        tonic_pc=tonic_pc,
        cadence=cadence,
        sections=sections,
        chords=chords,
        motif=motif,
        statements=statements,
        final_beat=final_beat,
    )

