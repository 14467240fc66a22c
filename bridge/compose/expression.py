"""Performance: the room, effect sends, expression swells and humanisation of an arrangement.

The notes say what is played; this module says how. Each style plays in one room (a hall
for orchestral and trailer music, a plate for piano and synths, ambient included, a small
room for folk, dry for lo-fi), each role sends its own share of itself there (pads and
melody more than bass and drums) and some get a chorus. Sustained instruments follow
arousal with MIDI expression (CC11), so a held chord swells into a cut whose scene is more
intense and drops at one that is calmer. Notes off the cut anchors are played a little early or
late and a little softer or harder, as a player would; anchor notes stay sample-exact,
so the cuts still land on the beat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from bridge.types import Control, Note, Style

EXPRESSION_CC = 11

_STYLE_ROOMS = {
    "cinematic-orchestral": "hall",
    "hybrid-trailer": "hall",
    # a hall's long tail on synth pads reads as a drone ("indian" to the style judge,
    # bench/results/style_judge.md); a plate keeps them electronic
    "ambient-electronic": "plate",
    "solo-piano": "plate",
    "synthwave": "plate",
    "acoustic-folk": "room",
    "lofi": "dry",
}
# CC91 per role in a room; the drums stay nearly dry so the cut hits stay sharp.
_REVERB_SENDS = {"pads": 72, "melody": 58, "texture": 64, "bass": 22, "drums": 26}
# CC93 per style and role: synthwave pads shimmer, folk guitars double a little.
_CHORUS_SENDS = {
    "synthwave": {"pads": 50, "texture": 25},
    "acoustic-folk": {"pads": 18, "texture": 18},
}

# Programs that sustain (organs, bowed strings, brass, reeds, pipes, synth leads and pads):
# expression shapes their held notes. Pizzicato (45), harp (46) and timpani (47) decay.
SUSTAINED_PROGRAMS = frozenset(
    [*range(16, 24), *range(40, 45), *range(48, 54), *range(56, 80), *range(80, 96)]
)
EXPRESSION_FLOOR = 0.7  # CC11 at arousal -1, as a fraction of 127 (-6 dB in FluidSynth)
EXPRESSION_RATE_HZ = 8.0  # how often the arousal curve is read for expression
SWELL = 0.22  # extra expression peak into a cut where the next scene is more intense
SWELL_MIN_RISE = 0.08  # level rise across a cut (0..1 scale) that earns a swell
FINAL_EXPRESSION = 1.0  # the final chord opens up fully, so it rings to the end

TIMING_SD_S = 0.007  # player's micro-timing: standard deviation ...
TIMING_MAX_S = 0.015  # ... and bound
VELOCITY_SD = 4.0
VELOCITY_MAX = 9
EXACT_TOLERANCE_S = 1e-6


def room_for(style: Style) -> str:
    return _STYLE_ROOMS.get(style.name, "room")


def sends_for(style: Style, role: str) -> tuple[int, int]:
    """(reverb CC91, chorus CC93) for a role in a style; nothing is sent in a dry room."""
    reverb = 0 if room_for(style) == "dry" else _REVERB_SENDS.get(role, 40)
    chorus = _CHORUS_SENDS.get(style.name, {}).get(role, 0)
    return reverb, chorus


def expression(
    *, program: int, is_drum: bool, level_at: Callable[[np.ndarray], np.ndarray],
    anchors_s: Iterable[float], beat_s: Callable[[float], float], duration_s: float,
    final_s: float,
) -> tuple[Control, ...]:
    """CC11 for a sustained track: ``level_at`` (arousal mapped to 0..1) read at
    EXPRESSION_RATE_HZ, with a swell over the beat before each anchor cut where the level
    rises across it (peaking on the cut, then settling to the new level within a beat),
    and at least FINAL_EXPRESSION from the final chord at ``final_s`` on.
    ``beat_s(t)`` is the beat length at time t. Empty for decaying instruments and drums."""
    if is_drum or program not in SUSTAINED_PROGRAMS or duration_s <= 0:
        return ()
    times = np.arange(0.0, duration_s, 1.0 / EXPRESSION_RATE_HZ)
    shape = np.zeros(len(times))
    for cut in anchors_s:
        beat = beat_s(cut)
        before, after = level_at(np.array([cut - beat, cut + beat]))
        if after - before < SWELL_MIN_RISE:
            continue
        rise = (times > cut - beat) & (times <= cut)
        fall = (times > cut) & (times < cut + beat)
        shape[rise] = np.maximum(shape[rise], SWELL * (times[rise] - (cut - beat)) / beat)
        shape[fall] = np.maximum(shape[fall], SWELL * (1 - (times[fall] - cut) / beat))
    level = np.clip(np.asarray(level_at(times), dtype=float), 0.0, 1.0)
    gain = np.clip(EXPRESSION_FLOOR + (1 - EXPRESSION_FLOOR) * level * (1 - SWELL) + shape,
                   0.0, 1.0)
    gain[times >= final_s] = np.maximum(gain[times >= final_s], FINAL_EXPRESSION)
    values = np.round(127 * gain).astype(int)
    out = []
    for t, v in zip(times, values):
        if not out or out[-1].value != v:
            out.append(Control(float(t), EXPRESSION_CC, int(v)))
    return tuple(out)


def humanise(
    notes: list[Note], *, exact_s: Iterable[float], rng: np.random.Generator,
    timing: bool = True,
) -> list[Note]:
    """Notes off the ``exact_s`` times (the cut anchors) moved by a few milliseconds
    (``timing``) and their velocities varied a little; notes on them stay as written.
    Notes struck together (a chord) move together, and a note that ends where another
    starts ends where that one now starts (legato stays legato)."""
    exact = np.sort(np.asarray(list(exact_s), dtype=float))

    def on_anchor(t: float) -> bool:
        k = int(np.searchsorted(exact, t))
        return any(0 <= j < len(exact) and abs(exact[j] - t) <= EXACT_TOLERANCE_S
                   for j in (k - 1, k))

    shifts: dict[float, float] = {}
    for t in sorted({n.start_s for n in notes}):
        shifts[t] = 0.0
        if timing and not on_anchor(t):
            drawn = float(np.clip(rng.normal(0.0, TIMING_SD_S), -TIMING_MAX_S, TIMING_MAX_S))
            shifts[t] = max(drawn, -t)
    out = []
    for n in notes:
        if on_anchor(n.start_s):
            out.append(Note(n.start_s, n.end_s + shifts.get(n.end_s, 0.0), n.pitch, n.velocity))
            continue
        nudge = np.clip(round(rng.normal(0.0, VELOCITY_SD)), -VELOCITY_MAX, VELOCITY_MAX)
        shift = shifts[n.start_s]
        out.append(Note(n.start_s + shift, n.end_s + shifts.get(n.end_s, shift), n.pitch,
                        int(np.clip(n.velocity + nudge, 1, 127))))
    return out
