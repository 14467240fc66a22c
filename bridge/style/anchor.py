"""The global semantic anchor from a VLM (NarraScore §3.4, §3.6): four musical fields.

The VLM sees keyframes over the whole timeline and is asked, in a fixed schema, for the
music the film implies, not for what is visible: genre and style, instrumentation and
timbre, emotional atmosphere, rhythm and pacing. Its answer is parsed strictly:

* a JSON object, or failing that "Field: value" lines, with the four keys (a few spellings
  of each are accepted, e.g. "genre/style", "timbre", "pacing");
* each value a non-empty string of at most ``MAX_FIELD_CHARS`` characters;
* anything else is not a field.

A complete answer becomes the style; a partial one keeps its fields and takes the others
from the preset it maps to, with a warning; an answer with no usable field is asked for
again (``retries``), and after that the embedded style (the preset chosen from the affect
curve) is used with a warning. Parsing never raises.

The music backends get the result as a ``Style``: its four texts are the VLM's (MusicGen
uses ``Style.prompt()`` as its text condition), while the name, tempo range, GM programs
and drum kit come from the preset whose keywords the fields match best, so the symbolic
composer can play it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from bridge.style.presets import STYLES
from bridge.types import Style

ANCHOR_VERSION = "anchor-v1"
FIELDS = ("genre", "instrumentation", "atmosphere", "rhythm")
MAX_FIELD_CHARS = 240
ANCHOR_PROMPT = (
    "These frames are keyframes spread over a whole edited film, in order. Imagine the "
    "music that should score it. Describe only that music: do not name objects, people, "
    "places, colours or camera work. Answer with one JSON object and nothing else, with "
    "exactly these four string fields:\n"
    '{"genre": "genre and stylistic context", '
    '"instrumentation": "instruments and timbral texture", '
    '"atmosphere": "emotional atmosphere", '
    '"rhythm": "rhythmic pacing and tempo feel"}'
)

_ALIASES = {
    "genre": "genre", "style": "genre", "genre/style": "genre", "genre and style": "genre",
    "genre_style": "genre", "genre and stylistic context": "genre",
    "instrumentation": "instrumentation", "instruments": "instrumentation",
    "timbre": "instrumentation", "instrumentation/timbre": "instrumentation",
    "instrumentation and timbre": "instrumentation",
    "atmosphere": "atmosphere", "mood": "atmosphere", "emotion": "atmosphere",
    "emotional atmosphere": "atmosphere",
    "rhythm": "rhythm", "pacing": "rhythm", "tempo": "rhythm", "rhythm/pacing": "rhythm",
    "rhythm and pacing": "rhythm", "rhythmic pacing": "rhythm",
}

# Words that point at a preset, beyond the words of its own descriptions.
_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "cinematic-orchestral": ("orchestra", "orchestral", "symphonic", "strings", "cinematic",
                             "horn", "horns", "choir", "score", "sweeping", "film"),
    "ambient-electronic": ("ambient", "drone", "pads", "pad", "atmospheric", "ethereal",
                           "floating", "spacious", "textures", "electronic"),
    "solo-piano": ("piano", "solo", "intimate", "minimal", "sparse", "reflective", "tender"),
    "acoustic-folk": ("folk", "acoustic", "guitar", "guitars", "fiddle", "banjo", "country",
                      "earthy", "strummed"),
    "synthwave": ("synthwave", "retro", "1980s", "80s", "neon", "synth", "synthesizer",
                  "arpeggio", "arpeggios", "outrun"),
    "hybrid-trailer": ("trailer", "hybrid", "epic", "brass", "percussion", "impacts", "action",
                       "pounding", "relentless", "taiko", "ostinato"),
    "lofi": ("lo-fi", "lofi", "hip", "hop", "chill", "mellow", "jazzy", "vinyl", "relaxed"),
}


def _norm_key(key: str) -> str | None:
    k = re.sub(r"[\s_\-]+", " ", key.strip().lower().strip("*#\"' "))
    return _ALIASES.get(k) or _ALIASES.get(k.replace(" ", "_"))


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split()).strip(" .")
    return text if 0 < len(text) <= MAX_FIELD_CHARS else None


def _json_objects(text: str):
    """Every balanced {...} substring, outermost first."""
    depth, start = 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0 and start is not None:
                yield text[start:i + 1]


def parse_anchor(text: str) -> dict[str, str]:
    """The valid fields of a VLM answer (possibly none); never raises."""
    if not isinstance(text, str):
        return {}
    best: dict[str, str] = {}
    for candidate in _json_objects(text):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        fields = {}
        for key, value in data.items():
            name = _norm_key(str(key))
            cleaned = _clean(value)
            if name and cleaned and name not in fields:
                fields[name] = cleaned
        if len(fields) > len(best):
            best = fields
    if best:
        return best
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        name = _norm_key(key) if sep else None
        cleaned = _clean(value)
        if name and cleaned and name not in fields:
            fields[name] = cleaned
    return fields


def preset_for(fields: Mapping[str, str], *, default: str) -> str:
    """The preset whose keywords the fields mention most (genre and instruments count
    double); ``default`` on a tie with it or when nothing matches."""
    scores: dict[str, float] = {}
    for name, words in _KEYWORDS.items():
        score = 0.0
        for field in FIELDS:
            tokens = set(re.findall(r"[a-z0-9][a-z0-9\-]*", fields.get(field, "").lower()))
            weight = 2.0 if field in ("genre", "instrumentation") else 1.0
            score += weight * len(tokens & set(words))
        scores[name] = score
    best = max(scores.values())
    if best == 0 or scores.get(default, 0) == best:
        return default
    return max(sorted(scores), key=lambda n: scores[n])


def style_from_fields(fields: Mapping[str, str], *, fallback: Style) -> Style:
    """The anchor as a playable Style: the VLM's texts on the preset they point at."""
    default = fallback.name if fallback.name in STYLES else "cinematic-orchestral"
    preset = STYLES[preset_for(fields, default=default)]
    return replace(preset, **{f: fields[f] for f in FIELDS if f in fields})


def anchor_style(describe: Callable[[int], str], fallback: Style, *,
                 retries: int = 2) -> tuple[Style, list[str]]:
    """Ask ``describe(attempt)`` up to 1 + ``retries`` times for a complete answer.

    Returns the style and the warnings for the user (partial answer, or fallback).
    """
    best: dict[str, str] = {}
    tries = 0
    for attempt in range(1 + max(0, retries)):
        tries += 1
        fields = parse_anchor(describe(attempt))
        if len(fields) > len(best):
            best = fields
        if len(best) == len(FIELDS):
            break
    if not best:
        return fallback, [f"style anchor: the VLM's answer had none of the four fields "
                          f"after {tries} tries; using the embedded style {fallback.name!r}"]
    style = style_from_fields(best, fallback=fallback)
    missing = [f for f in FIELDS if f not in best]
    if missing:
        return style, [f"style anchor: the VLM's answer lacked {', '.join(missing)}; "
                       f"taken from preset {style.name!r}"]
    return style, []
