"""Turn a MusicPlan into notes: pads, bass, melody, texture and drums.

Intensity follows arousal beat by beat (level = (arousal + 1) / 2, 0..1): velocities rise
with it, and so does the number of onsets (sustained pads become pulsing chords, the bass goes
from one note per chord to quarters to eighths, the arpeggio from half notes to sixteenths,
drums from a soft kick on cuts to a full groove). Cuts are made audible three ways: the chord
(so the bass note and the pad voicing) changes on them, the kick hits on every anchor cut, and
a crash marks them once the music is moderately intense.
"""

from __future__ import annotations

import itertools

import numpy as np

from bridge.compose import expression
from bridge.compose.plan import MusicPlan, affect_functions
from bridge.compose.theory import scale_pitch
from bridge.types import AffectCurve, Arrangement, Note, Style, Track

# Sensible MIDI pitch ranges per role (low, high inclusive).
PITCH_RANGES = {"pads": (48, 79), "bass": (28, 52), "melody": (60, 91), "texture": (55, 88)}
TRACK_VOLUMES = {"pads": 0.8, "bass": 0.9, "melody": 0.85, "texture": 0.6, "drums": 0.9}
# Brushes and a soft kit sit under the band (and their sharp transients would otherwise set
# the mix's peak, so the limiter would flatten everything else at the loudness target).
SOFT_KIT_VOLUME = {"acoustic-folk": 0.6, "lofi": 0.65}

# General MIDI percussion keys (channel 10).
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49
DRUM_HIT_S = 0.12  # drum notes are one-shots; the length only matters to MIDI viewers
MIN_NOTE_S = 0.03

# Bowed strings, ensembles, brass and synth pads swell in over tens of milliseconds, so their
# audible onset trails the note-on; players and sample libraries start them early by about
# that much. Measured on FluidR3_GM with librosa, such programs read ~20 ms later than a
# piano or kick does. Their notes start this much early, so cuts and beats sound on time.
ATTACK_LEAD_S = 0.02
SLOW_ATTACK_PROGRAMS = frozenset([*range(40, 52), *range(56, 64), *range(88, 96)])


# Below this level the final chord is played plainly: no kick, no roll, no accent. An
# ending louder and busier than the calm picture it closes would run against arousal.
CALM_ENDING_LEVEL = 0.25


def _accent_share(role: str, level: float) -> float:
    """How much of the accent a chord's first note gets: all of it on anchor cuts; on the
    final chord only as much as the music's level allows."""
    if role == "anchor":
        return 1.0
    if role == "final":
        return float(np.clip((level - CALM_ENDING_LEVEL) / (1 - CALM_ENDING_LEVEL), 0.0, 1.0))
    return 0.0


# How much the piece's own arousal range may stretch the playing level (see playing_levels).
RELATIVE_LEVEL_MAX = 0.5
RELATIVE_LEVEL_SPREAD_FULL = 0.25  # level spread (5..95 %) at which it gets all of that


def playing_levels(arousal: np.ndarray) -> np.ndarray:
    """Playing level 0..1 per beat: (arousal + 1) / 2, blended with its place in the piece's
    own range.

    On a piece whose arousal stays at the calm end (a quiet 24 s clip that livens up for a
    few seconds), the absolute level never crosses the thresholds where the parts change
    texture, so the music stays the same while the picture changes, and chord changes and
    the ending are all that moves it. Stretching the piece's own 5..95 % range (with at
    most half the weight, and only as much as the piece varies, so a uniformly calm film
    stays calm) lets the busiest stretch sound busier than the calmest.
    """
    absolute = np.clip((arousal + 1.0) / 2.0, 0.0, 1.0)
    if len(absolute) < 2:
        return absolute
    lo, hi = np.percentile(absolute, [5, 95])
    spread = float(hi - lo)
    if spread <= 1e-6:
        return absolute
    weight = RELATIVE_LEVEL_MAX * min(1.0, spread / RELATIVE_LEVEL_SPREAD_FULL)
    relative = np.clip((absolute - lo) / spread, 0.0, 1.0)
    return (1 - weight) * absolute + weight * relative


def _velocity(base: float, span: float, level: float, accent: float = 0.0) -> int:
    return int(np.clip(round(base + span * level + accent), 1, 127))


class _Grid:
    """Beat-position helpers shared by the parts."""

    def __init__(self, plan: MusicPlan, curve: AffectCurve):
        self.plan = plan
        self.tempo = plan.tempo
        _, arousal_at = affect_functions(curve)
        beats = self.tempo.beat_times_s
        self.arousal_at = arousal_at
        self.levels = playing_levels(np.asarray(arousal_at(beats), dtype=float))
        self.anchor_beats = set(self.tempo.anchor_beats)
        down = np.flatnonzero(self.tempo.downbeats)
        self.bar_start_of = down[np.searchsorted(down, np.arange(len(beats)), side="right") - 1]
        self._grid = [float(x) for x in self.tempo.grid_s]  # plain floats: fast scalar lookups

    def t(self, beat: float) -> float:
        """Seconds at a beat position; exact at whole beats (linear inside a beat)."""
        grid = self._grid
        i = min(max(int(beat), 0), len(grid) - 2)
        frac = beat - i
        return grid[i] if frac == 0 else grid[i] + frac * (grid[i + 1] - grid[i])

    def level(self, beat: float) -> float:
        return float(self.levels[min(int(beat), len(self.levels) - 1)])

    def level_at(self, t_s: np.ndarray) -> np.ndarray:
        """Arousal as a 0..1 level at record times (not snapped to beats)."""
        return np.clip((np.asarray(self.arousal_at(t_s), dtype=float) + 1.0) / 2.0, 0.0, 1.0)

    def beat_s(self, t_s: float) -> float:
        """The length of the beat that holds time ``t_s``."""
        grid = self._grid
        i = min(max(int(np.searchsorted(grid, t_s, side="right")) - 1, 0), len(grid) - 2)
        return grid[i + 1] - grid[i]

    def note(self, start_beat: float, end_beat: float, pitch: int, velocity: int) -> Note:
        return Note(self.t(start_beat), self.t(end_beat), int(pitch), int(velocity))


def _fold(pitch: int, low: int, high: int) -> int:
    """Move a pitch by octaves into [low, high]."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def _voicings(pcs: tuple[int, ...], low: int, high: int) -> list[tuple[int, ...]]:
    """Close-position voicings of a triad (all inversions, all octaves) inside the range."""
    out = []
    for inversion in range(len(pcs)):
        order = pcs[inversion:] + pcs[:inversion]
        for octave in range(1, 9):
            pitches = [order[0] + 12 * octave]
            for pc in order[1:]:
                nxt = pitches[-1] + (pc - pitches[-1]) % 12
                pitches.append(nxt if nxt > pitches[-1] else nxt + 12)
            if pitches[0] >= low and pitches[-1] <= high:
                out.append(tuple(pitches))
    return out


def _nearest_voicing(
    pcs: tuple[int, ...], previous: tuple[int, ...], low: int, high: int
) -> tuple[int, ...] | None:
    """The voicing that moves the previous voices least: each voice to the nearest pitch
    of its own chord tone (every tone used once), or None where that leaves the range."""
    if len(pcs) != len(previous):
        return None
    best, best_move = None, None
    for order in itertools.permutations(pcs):
        pitches = []
        for voice, pc in zip(previous, order):
            down = voice - (voice - pc) % 12
            pitches.append(down if voice - down <= down + 12 - voice else down + 12)
        move = sum(abs(p - v) for p, v in zip(pitches, previous))
        voiced = tuple(sorted(pitches))
        if len(set(voiced)) < len(voiced) or voiced[0] < low or voiced[-1] > high:
            continue
        if best_move is None or move < best_move:
            best, best_move = voiced, move
    return best


def _pick_voicing(
    pcs: tuple[int, ...], previous: tuple[int, ...] | None, rng: np.random.Generator
) -> tuple[int, ...]:
    """Least voice movement (common tones held, the others by step), pulled gently towards
    the middle of the pad range; the seed breaks near-ties."""
    low, high = PITCH_RANGES["pads"]
    centre = (low + high) / 2 - 4
    candidates = _voicings(pcs, low, high)
    nearest = None if previous is None else _nearest_voicing(pcs, previous, low, high)
    if nearest is not None and nearest not in candidates:
        candidates.append(nearest)
    best, best_cost = None, np.inf
    for v in candidates:
        move = sum(abs(a - b) for a, b in zip(v, previous)) if previous else 0.0
        cost = move + 0.3 * abs(np.mean(v) - centre) + rng.uniform(0.0, 0.5)
        if cost < best_cost:
            best, best_cost = v, cost
    return best


def _pads(grid: _Grid, rng: np.random.Generator) -> list[Note]:
    """Sustained chords when calm; re-struck every beat, then every half beat, as it builds."""
    notes: list[Note] = []
    previous = None
    for chord in grid.plan.chords:
        voicing = _pick_voicing(chord.pcs, previous, rng)
        previous = voicing
        level0 = grid.level(chord.start_beat)
        if chord.role == "final" or level0 < 0.6:
            onsets = [float(chord.start_beat)]
        else:
            step = 0.5 if level0 >= 0.85 else 1.0
            onsets = list(np.arange(chord.start_beat, chord.end_beat, step))
        ends = [*onsets[1:], float(chord.end_beat)]
        for k, (b0, b1) in enumerate(zip(onsets, ends)):
            level = grid.level(b0)
            accent = 10.0 * _accent_share(chord.role, level) if k == 0 else 0.0
            velocity = _velocity(30, 62, level, accent)
            pitches = voicing
            if level >= 0.7:
                pitches = (*voicing, _fold(chord.root_pc + 36, 36, 47))  # doubled root below
            notes.extend(grid.note(b0, b1, p, velocity) for p in pitches)
    return notes


def _bass(grid: _Grid) -> list[Note]:
    """Chord roots: held when calm, quarters at moderate arousal, driving eighths when intense."""
    low, high = PITCH_RANGES["bass"]
    notes: list[Note] = []
    previous = 40
    for chord in grid.plan.chords:
        candidates = [p for p in range(low, high + 1) if p % 12 == chord.root_pc]
        root = min(candidates, key=lambda p: (abs(p - previous), p))
        previous = root
        fifth = root + 7 if root + 7 <= high else root - 5
        onsets: list[float] = []
        b = chord.start_beat
        while b < chord.end_beat:
            level = grid.level(b)
            if chord.role == "final":
                onsets.append(float(b))
                break
            if level < 0.35:
                if b == chord.start_beat or grid.tempo.downbeats[b]:
                    onsets.append(float(b))
            elif level < 0.6:
                onsets.append(float(b))
            else:
                onsets.extend((float(b), b + 0.5))
            b += 1
        ends = [*onsets[1:], float(chord.end_beat)]
        for k, (b0, b1) in enumerate(zip(onsets, ends)):
            level = grid.level(b0)
            offbeat = b0 != int(b0)
            pitch = root
            if offbeat and level >= 0.85:
                pitch = root + 12 if root + 12 <= high else root
            elif offbeat and k == len(onsets) - 1 and b1 - b0 <= 0.5:
                pitch = fifth  # leads into the next chord
            down = not offbeat and grid.tempo.downbeats[int(b0)]
            accent = 15.0 * _accent_share(chord.role, level) if k == 0 else 0.0
            accent = accent or (8.0 if down else 0.0)
            gap = 0.0 if b1 - b0 > 1.0 else 0.1 * (b1 - b0)  # short notes detach: clear onsets
            notes.append(grid.note(b0, b1 - gap, pitch, _velocity(38, 72, level, accent)))
    return notes


def _arpeggio_step_beats(level: float) -> float:
    if level < 0.25:
        return 2.0
    if level < 0.5:
        return 1.0
    if level < 0.75:
        return 0.5
    return 0.25


def _texture(grid: _Grid, rng: np.random.Generator) -> list[Note]:
    """An up-and-down arpeggio over the chord whose speed follows arousal."""
    low, high = PITCH_RANGES["texture"]
    notes: list[Note] = []
    for chord in grid.plan.chords:
        base = _fold(chord.root_pc + 60, low, low + 11)
        up = sorted(
            {
                _fold(base + (pc - chord.root_pc) % 12 + 12 * o, low, high)
                for pc in chord.pcs
                for o in (0, 1)
            }
        )
        pattern = up + up[-2:0:-1]
        index = int(rng.integers(len(up))) if chord.role == "passing" else 0
        if chord.role == "final":
            # One chord under the final tonic instead of a running figure: rolled when the
            # music is lively, a single soft note when calm (a roll would be a burst of
            # onsets the calm picture does not have).
            level = grid.level(chord.start_beat)
            for k, pitch in enumerate(up[:4] if level >= CALM_ENDING_LEVEL else up[:1]):
                b0 = chord.start_beat + 0.25 * k
                notes.append(
                    grid.note(b0, chord.end_beat, pitch, _velocity(30, 40, grid.level(b0)))
                )
            continue
        b = float(chord.start_beat)
        while b < chord.end_beat - 1e-9:
            level = grid.level(b)
            step = _arpeggio_step_beats(level)
            b1 = min(b + step, float(chord.end_beat))
            on_beat = abs(b - round(b)) < 1e-9
            velocity = _velocity(26, 56, level, 8.0 if on_beat else 0.0)
            notes.append(grid.note(b, b1, pattern[index % len(pattern)], velocity))
            index += 1
            b = b1
    return notes


def _statement_notes(plan: MusicPlan, statement) -> list[tuple[float, float, int]]:
    """(start_beat, end_beat, scale degree) for one motif statement with its variation."""
    steps = list(plan.motif.steps)
    durations = list(plan.motif.durations_beats)
    if statement.variation == "inversion":
        steps = [steps[0] - (s - steps[0]) for s in steps]
    elif statement.variation == "augmentation":
        durations = [2 * d for d in durations]
    elif statement.variation == "diminution":
        steps = steps + [s + 1 for s in steps]  # twice, the repeat a step higher
        durations = [d / 2 for d in durations] * 2
    elif statement.variation == "ornament":
        new_steps, new_durations = [], []
        for s, d in zip(steps, durations):
            if d >= 1.0:
                new_steps += [s, s + 1, s]
                new_durations += [d - 0.5, 0.25, 0.25]
            else:
                new_steps.append(s)
                new_durations.append(d)
        steps, durations = new_steps, new_durations
    out = []
    b = float(statement.start_beat)
    for s, d in zip(steps, durations):
        out.append((b, b + d, statement.base_degree + s))
        b += d
    return out


def _melody(grid: _Grid) -> list[Note]:
    """The motif where the plan states it, an octave higher in intense sections; a final tonic."""
    plan = grid.plan
    low, high = PITCH_RANGES["melody"]
    tonic_pitch = _fold(plan.tonic_pc + 60, 60, 71)
    notes: list[Note] = []
    for statement in plan.statements:
        section = plan.sections[statement.section]
        register = tonic_pitch + (12 if section.intensity > 0.65 else 0)
        for b0, b1, degree in _statement_notes(plan, statement):
            if b0 >= section.end_beat or b0 >= plan.final_beat:
                break
            b1 = min(b1, section.end_beat, plan.final_beat)
            pitch = _fold(
                scale_pitch(tonic_pitch=register, mode=section.mode, degree=degree), low, high
            )
            velocity = _velocity(48, 60, grid.level(b0), 6.0 if b0 == int(b0) else 0.0)
            notes.append(grid.note(b0, b1 - 0.05 * (b1 - b0), pitch, velocity))
    final = plan.chords[-1]
    notes.append(
        grid.note(
            final.start_beat,
            final.end_beat,
            _fold(tonic_pitch + 12, low, high),
            _velocity(45, 40, grid.level(final.start_beat)),
        )
    )
    return notes


def _drums(grid: _Grid) -> list[Note]:
    """Kick on every anchor cut; a groove whose density and force follow arousal."""
    tempo = grid.tempo
    final_beat = grid.plan.final_beat
    notes: list[Note] = []

    def hit(beat: float, key: int, velocity: int) -> None:
        t0 = grid.t(beat)
        notes.append(Note(t0, t0 + DRUM_HIT_S, key, velocity))

    # A stretch composed to lead into kept music has no final beat of its own (final_beat
    # is one past its last beat): it grooves to its end.
    for b in range(min(final_beat + 1, tempo.n_beats)):
        level = grid.level(b)
        in_bar = b - int(grid.bar_start_of[b])
        anchor = b in grid.anchor_beats
        if b == final_beat:
            if level >= CALM_ENDING_LEVEL:  # a calm ending closes on the chord alone
                hit(b, KICK, _velocity(50, 60, level))
            if level >= 0.3:
                hit(b, CRASH, _velocity(40, 60, level))
            break
        if anchor or (tempo.downbeats[b] and level >= 0.25):
            hit(b, KICK, _velocity(45 if anchor else 35, 75, level, 10.0 if anchor else 0.0))
        elif level >= 0.55 or (level >= 0.35 and in_bar % 2 == 0):
            hit(b, KICK, _velocity(30, 75, level))
        if anchor and level >= 0.45:
            hit(b, CRASH, _velocity(40, 70, level))
        if level >= 0.4 and in_bar % 2 == 1:
            hit(b, SNARE, _velocity(35, 80, level))
        if level >= 0.3:
            hit(b, CLOSED_HAT, _velocity(25, 55, level, 6.0))
            if level >= 0.45:
                hit(
                    b + 0.5,
                    OPEN_HAT if level >= 0.7 and in_bar == 3 else CLOSED_HAT,
                    _velocity(20, 50, level),
                )
            if level >= 0.8:
                hit(b + 0.25, CLOSED_HAT, _velocity(15, 40, level))
                hit(b + 0.75, CLOSED_HAT, _velocity(15, 40, level))
    return notes


def _finish(notes: list[Note], *, end_limit_s: float, lead_s: float = 0.0) -> tuple[Note, ...]:
    """Start early by ``lead_s``, clip to the release allowance, drop slivers, and stop
    same-pitch notes overlapping."""
    clipped = []
    for n in notes:
        start = max(n.start_s - lead_s, 0.0)
        end = min(n.end_s - lead_s, end_limit_s)
        if end - start >= MIN_NOTE_S:
            clipped.append(Note(start, end, n.pitch, int(np.clip(n.velocity, 1, 127))))
    clipped.sort(key=lambda n: (n.start_s, n.pitch, -n.end_s))
    out: list[Note] = []
    last_of_pitch: dict[int, int] = {}
    for n in clipped:
        k = last_of_pitch.get(n.pitch)
        if k is not None and out[k].end_s > n.start_s:
            prev = out[k]
            if n.start_s - prev.start_s < MIN_NOTE_S:
                continue  # the same pitch struck twice at once: keep the first
            out[k] = Note(prev.start_s, n.start_s, prev.pitch, prev.velocity)
        last_of_pitch[n.pitch] = len(out)
        out.append(n)
    return tuple(out)


def arrange(plan: MusicPlan, style: Style, curve: AffectCurve, *, seed: int = 0) -> Arrangement:
    """One Track per role (drums only when the style has percussion), ready to render."""
    rng = np.random.default_rng([seed, 1])  # its own stream: voicings and arpeggio starts
    player = np.random.default_rng([seed, 2])  # humanisation, apart so voicings stay put
    grid = _Grid(plan, curve)
    end_limit_s = plan.duration_s - plan.release_s
    parts = {
        "pads": _pads(grid, rng),
        "bass": _bass(grid),
        "melody": _melody(grid),
        "texture": _texture(grid, rng),
    }
    if style.percussion:
        parts["drums"] = _drums(grid)
    # the cut anchors and the final chord are played exactly as written
    exact_s = [*plan.tempo.anchors_s, plan.chords[-1].start_s]
    tracks = []
    for role, notes in parts.items():
        program = style.drum_kit if role == "drums" else int(style.programs[role])
        slow = role != "drums" and program in SLOW_ATTACK_PROGRAMS
        # the kit keeps time for the others: its hits vary in force, not in time
        played = expression.humanise(notes, exact_s=exact_s, rng=player,
                                     timing=role != "drums")
        reverb, chorus = expression.sends_for(style, role)
        tracks.append(
            Track(
                role=role,
                program=program,
                is_drum=role == "drums",
                notes=_finish(
                    played, end_limit_s=end_limit_s, lead_s=ATTACK_LEAD_S if slow else 0.0
                ),
                volume=SOFT_KIT_VOLUME.get(style.name, TRACK_VOLUMES[role])
                if role == "drums" else TRACK_VOLUMES[role],
                controls=expression.expression(
                    program=program, is_drum=role == "drums", level_at=grid.level_at,
                    anchors_s=plan.tempo.anchors_s, beat_s=grid.beat_s,
                    duration_s=plan.duration_s, final_s=plan.chords[-1].start_s,
                ),
                reverb_send=reverb,
                chorus_send=chorus,
            )
        )
    return Arrangement(
        duration_s=plan.duration_s,
        beat_times_s=plan.tempo.beat_times_s.copy(),
        tracks=tuple(tracks),
        room=expression.room_for(style),
    )
