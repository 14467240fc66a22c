"""Music-theory facts the composer uses: modes, diatonic chords, pitch names."""

from __future__ import annotations

from typing import Literal

Mode = Literal["lydian", "ionian", "mixolydian", "dorian", "aeolian", "phrygian"]

# Semitones above the tonic for the seven degrees of each church mode.
MODE_STEPS: dict[str, tuple[int, ...]] = {
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
BRIGHT_MODES = frozenset({"lydian", "ionian", "mixolydian"})
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")


def mode_for_valence(valence: float) -> str:
    """Brighter modes for positive valence, darker for negative (lydian ... phrygian)."""
    if valence >= 0.55:
        return "lydian"
    if valence >= 0.05:
        return "ionian"
    if valence >= -0.3:
        return "dorian"
    if valence >= -0.65:
        return "aeolian"
    return "phrygian"


def scale_pc(*, tonic_pc: int, mode: str, degree: int) -> int:
    """Pitch class of a (possibly negative or > 6) scale degree."""
    steps = MODE_STEPS[mode]
    return (tonic_pc + steps[degree % 7]) % 12


def scale_pitch(*, tonic_pitch: int, mode: str, degree: int) -> int:
    """MIDI pitch of a scale degree counted from ``tonic_pitch`` (degree 7 is an octave up)."""
    steps = MODE_STEPS[mode]
    octave, step = divmod(degree, 7)
    return tonic_pitch + 12 * octave + steps[step]


def triad_pcs(*, tonic_pc: int, mode: str, degree: int) -> tuple[int, int, int]:
    """Root, third and fifth pitch classes of the diatonic triad on ``degree``."""
    return tuple(scale_pc(tonic_pc=tonic_pc, mode=mode, degree=degree + k) for k in (0, 2, 4))


def quality(pcs: tuple[int, ...]) -> str:
    """'maj', 'min', 'dim' or 'aug' from a triad's root, third and fifth."""
    third = (pcs[1] - pcs[0]) % 12
    fifth = (pcs[2] - pcs[0]) % 12
    return {
        (4, 7): "maj",
        (3, 7): "min",
        (3, 6): "dim",
        (4, 8): "aug",
    }.get((third, fifth), "other")


def roman(*, degree: int, chord_quality: str) -> str:
    numeral = ROMAN[degree % 7]
    if chord_quality in ("min", "dim"):
        numeral = numeral.lower()
    return numeral + {"dim": "°", "aug": "+"}.get(chord_quality, "")


def key_name(*, tonic_pc: int, mode: str) -> str:
    return f"{PITCH_NAMES[tonic_pc % 12]} {mode}"
