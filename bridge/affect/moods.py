"""Editors' mood hints: emotion words -> (valence, arousal), and markers that override the curve.

Words sit on Russell's (1980) circumplex, the same move EMSYNC makes to turn a classifier's
discrete emotions into continuous valence/arousal. Positions are our reading of the
circumplex literature (Russell 1980; Scherer 2005), rounded to one decimal.

A hint is any timeline marker whose name or note holds ``key: value`` pairs separated by
``;``, ``,`` or new lines::

    mood: tense            -> valence and arousal of "tense"
    mood: dark mysterious  -> the mean of both words
    energy: 0.8            -> arousal 0.8 (``arousal:`` is the same key)
    valence: -0.5          -> valence -0.5

A hint overrides the curve over the marker's range; a zero-duration marker lasts until the
next hint marker starts, but at most ``DEFAULT_SPAN_S`` (so one stray marker cannot
repaint an hour). Markers carrying ``metadata["scorebridge"]`` are our own output from an
earlier run and are ignored. Unknown words and bad numbers become warnings, never errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from bridge.types import AffectCurve, TimelineMarker

DEFAULT_SPAN_S = 30.0

MOODS: dict[str, tuple[float, float]] = {
    # high arousal, positive
    "excited": (0.6, 0.85),
    "joyful": (0.85, 0.6),
    "happy": (0.8, 0.45),
    "triumphant": (0.8, 0.8),
    "epic": (0.45, 0.9),
    "heroic": (0.6, 0.75),
    "playful": (0.6, 0.45),
    "uplifting": (0.7, 0.4),
    "energetic": (0.5, 0.8),
    # low arousal, positive
    "hopeful": (0.55, 0.15),
    "romantic": (0.7, -0.1),
    "tender": (0.6, -0.4),
    "calm": (0.4, -0.7),
    "peaceful": (0.6, -0.7),
    "relaxed": (0.5, -0.6),
    "serene": (0.6, -0.8),
    "dreamy": (0.3, -0.5),
    "nostalgic": (0.05, -0.35),
    "neutral": (0.0, 0.0),
    # low arousal, negative
    "melancholic": (-0.5, -0.4),
    "sad": (-0.7, -0.5),
    "gloomy": (-0.6, -0.3),
    "lonely": (-0.6, -0.5),
    "bored": (-0.4, -0.8),
    "mysterious": (-0.2, 0.1),
    "dark": (-0.6, 0.1),
    # high arousal, negative
    "ominous": (-0.55, 0.35),
    "suspenseful": (-0.35, 0.6),
    "tense": (-0.5, 0.6),
    "anxious": (-0.5, 0.55),
    "fearful": (-0.75, 0.7),
    "angry": (-0.7, 0.8),
    "aggressive": (-0.5, 0.85),
}

ALIASES = {
    "happiness": "happy", "joy": "joyful", "excitement": "excited", "triumph": "triumphant",
    "hope": "hopeful", "romance": "romantic", "love": "romantic", "calmness": "calm",
    "peace": "peaceful", "dream": "dreamy", "nostalgia": "nostalgic", "melancholy": "melancholic",
    "sadness": "sad", "mystery": "mysterious", "suspense": "suspenseful", "tension": "tense",
    "anxiety": "anxious", "fear": "fearful", "scary": "fearful", "scared": "fearful",
    "afraid": "fearful", "anger": "angry", "rage": "angry", "heroism": "heroic",
    "serenity": "serene", "gloom": "gloomy", "somber": "gloomy", "sombre": "gloomy",
}

_PAIR = re.compile(r"^\s*(mood|energy|arousal|valence)\s*[:=]\s*(.+?)\s*$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[;,\n]")
_WORD_SPLIT = re.compile(r"[\s/+&|]+|\band\b", re.IGNORECASE)


def mood_va(word: str) -> tuple[float, float] | None:
    """(valence, arousal) of an emotion word or its alias; None if unknown."""
    w = word.strip().lower().strip(".!?\"'()")
    w = ALIASES.get(w, w)
    return MOODS.get(w)


@dataclass(frozen=True)
class Hint:
    """What one marker asks for; None = leave that dimension to the picture."""

    start_s: float
    end_s: float  # exclusive; resolved from the marker (zero duration -> next hint)
    valence: float | None
    arousal: float | None
    label: str  # the marker's name, for warnings


def parse_hint(marker: TimelineMarker) -> tuple[float | None, float | None, list[str]]:
    """(valence, arousal, warnings) from a marker's name and note; (None, None, []) if no hint."""
    valence: float | None = None
    arousal: float | None = None
    warnings: list[str] = []
    mood_words: list[tuple[float, float]] = []
    where = f"marker {marker.name!r} at {marker.start_s:.2f} s"
    for piece in _SEPARATORS.split(f"{marker.name}\n{marker.note}"):
        m = _PAIR.match(piece)
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2)
        if key == "mood":
            for word in filter(None, (w.strip() for w in _WORD_SPLIT.split(value))):
                va = mood_va(word)
                if va is None:
                    warnings.append(f"{where}: unknown mood {word!r} ignored; known: "
                                    f"{', '.join(sorted(MOODS))}")
                else:
                    mood_words.append(va)
            continue
        number = _number(value)
        if number is None:
            warnings.append(f"{where}: {key} {value!r} is not a number; ignored")
            continue
        if not -1.0 <= number <= 1.0:
            warnings.append(f"{where}: {key} {number:g} is outside -1..1; clipped")
            number = float(np.clip(number, -1.0, 1.0))
        if key == "valence":
            valence = number
        else:
            arousal = number
    if mood_words:
        mean_v, mean_a = np.mean(mood_words, axis=0)
        valence = float(mean_v) if valence is None else valence  # explicit numbers win
        arousal = float(mean_a) if arousal is None else arousal
    return valence, arousal, warnings


def _number(text: str) -> float | None:
    text = text.strip()
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        return float(text) * scale
    except ValueError:
        return None


def collect_hints(markers: tuple[TimelineMarker, ...] | list[TimelineMarker], *,
                  duration_s: float) -> tuple[list[Hint], list[str]]:
    """Hints in time order with resolved ranges, plus warnings."""
    parsed = []
    warnings: list[str] = []
    for marker in sorted(markers, key=lambda m: m.start_s):
        if "scorebridge" in (marker.metadata or {}):
            continue  # our own output marker from an earlier run
        valence, arousal, notes = parse_hint(marker)
        warnings += notes
        if valence is not None or arousal is not None:
            parsed.append((marker, valence, arousal))
    hints = []
    for i, (marker, valence, arousal) in enumerate(parsed):
        end_s = marker.start_s + marker.duration_s
        if marker.duration_s <= 0:
            following = parsed[i + 1][0].start_s if i + 1 < len(parsed) else duration_s
            end_s = min(following, marker.start_s + DEFAULT_SPAN_S)
        end_s = min(end_s, duration_s)
        if end_s <= marker.start_s:
            warnings.append(f"marker {marker.name!r} at {marker.start_s:.2f} s lies outside "
                            "the timeline; ignored")
            continue
        hints.append(Hint(marker.start_s, end_s, valence, arousal, marker.name))
    return hints, warnings


def apply_hints(curve: AffectCurve, markers: tuple[TimelineMarker, ...] | list[TimelineMarker],
                *, blend: float = 1.0, duration_s: float | None = None
                ) -> tuple[AffectCurve, list[str]]:
    """Override (``blend=1``) or mix the curve with the editors' hints over their exact ranges.

    Each hop moves towards the hint by ``blend`` times the share of the hop the marker covers;
    confidence moves towards 1 the same way (an editor's word is certain). ``duration_s`` is
    the timeline's length: the last hop usually runs past it, and only its part inside the
    timeline counts, so a hint that reaches the last frame covers the last hop fully.
    """
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend must be within 0..1, got {blend}")
    if duration_s is None:
        duration_s = len(curve) * curve.hop_s
    hints, warnings = collect_hints(markers, duration_s=duration_s)
    if not hints:
        return curve, warnings
    valence = curve.valence.astype(np.float64).copy()
    arousal = curve.arousal.astype(np.float64).copy()
    confidence = curve.confidence.astype(np.float64).copy()
    edges = np.minimum(np.arange(len(curve) + 1) * curve.hop_s, duration_s)
    hop_inside_s = np.maximum(edges[1:] - edges[:-1], 1e-9)
    for hint in hints:
        overlap = np.minimum(edges[1:], hint.end_s) - np.maximum(edges[:-1], hint.start_s)
        w = blend * np.clip(overlap / hop_inside_s, 0.0, 1.0)
        if hint.valence is not None:
            valence += w * (hint.valence - valence)
        if hint.arousal is not None:
            arousal += w * (hint.arousal - arousal)
        confidence += w * (1.0 - confidence)
    return replace(curve, valence=np.clip(valence, -1, 1), arousal=np.clip(arousal, -1, 1),
                   confidence=np.clip(confidence, 0, 1)), warnings
