"""Write an Arrangement as a type-1 Standard MIDI File (the only module that imports mido).

Track 0 is the conductor: one tempo event per beat whose length differs from the last, so the
file's beats fall on the arrangement's beat times (rounding is carried from beat to beat, so
the error never grows past half a microsecond), time signatures for partial bars, and, when
the plan is given, the key and section/cut markers. Then one track per role; drums on
channel 10 (index 9), the others on their own channels with a GM program change.
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from bridge.compose.plan import MusicPlan
from bridge.compose.theory import BRIGHT_MODES, PITCH_NAMES
from bridge.errors import BridgeError, InvalidOptionError
from bridge.outputs import atomic_write
from bridge.types import Arrangement

TICKS_PER_BEAT = 960
DRUM_CHANNEL = 9
_MELODIC_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]


class _Clock:
    """Seconds <-> ticks through a per-beat tempo map in whole microseconds."""

    def __init__(self, beat_times_s: np.ndarray, duration_s: float):
        grid_us = np.append(beat_times_s, duration_s) * 1e6
        tempos, start_us = [], [0]
        for end_us in grid_us[1:]:
            tempo = max(1, round(end_us - start_us[-1]))  # carry the rounding forward
            tempos.append(tempo)
            start_us.append(start_us[-1] + tempo)
        self.tempos_us = tempos
        self.beat_start_us = np.array(start_us[:-1], dtype=np.float64)

    def ticks(self, t_s: np.ndarray) -> np.ndarray:
        t_us = np.asarray(t_s, dtype=np.float64) * 1e6
        k = np.clip(
            np.searchsorted(self.beat_start_us, t_us, side="right") - 1, 0, len(self.tempos_us) - 1
        )
        frac = (t_us - self.beat_start_us[k]) / np.asarray(self.tempos_us, dtype=np.float64)[k]
        return np.round((k + frac) * TICKS_PER_BEAT).astype(np.int64)


def _meta(kind: str, **fields) -> tuple:
    return (True, kind, fields)


def _msg(kind: str, **fields) -> tuple:
    return (False, kind, fields)


def _key_signature(plan: MusicPlan) -> str:
    mode = plan.sections[0].mode
    return PITCH_NAMES[plan.tonic_pc] + ("" if mode in BRIGHT_MODES else "m")


def _conductor(arrangement: Arrangement, clock: _Clock, plan: MusicPlan | None) -> list:
    events = [(0, 0, _meta("track_name", name="Scorebridge"))]
    previous = None
    for k, tempo in enumerate(clock.tempos_us):
        if tempo != previous:
            events.append((k * TICKS_PER_BEAT, 1, _meta("set_tempo", tempo=tempo)))
            previous = tempo
    if plan is not None:
        downbeats = np.flatnonzero(plan.tempo.downbeats)
        lengths = np.diff(np.append(downbeats, plan.tempo.n_beats))
        previous = None
        for b, n in zip(downbeats, lengths):
            if n != previous:
                events.append(
                    (
                        int(b) * TICKS_PER_BEAT,
                        1,
                        _meta("time_signature", numerator=int(n), denominator=4),
                    )
                )
                previous = n
        events.append((0, 1, _meta("key_signature", key=_key_signature(plan))))
        for s in plan.sections:
            events.append(
                (
                    s.start_beat * TICKS_PER_BEAT,
                    2,
                    _meta(
                        "marker",
                        text=f"section {s.index + 1}: {PITCH_NAMES[plan.tonic_pc]} {s.mode}",
                    ),
                )
            )
        for b in plan.tempo.anchor_beats:
            events.append((b * TICKS_PER_BEAT, 2, _meta("cue_marker", text="cut")))
    else:
        events.append((0, 1, _meta("time_signature", numerator=4, denominator=4)))
    return events


def _to_track(events: list) -> mido.MidiTrack:
    """Events (tick, order, message spec) -> a track of delta-timed messages.

    Messages are built once, with their delta time, because mido validates every
    construction and copy (the cost of an hour-long file).
    """
    track = mido.MidiTrack()
    now = 0
    for tick, _, (is_meta, kind, fields) in sorted(events, key=lambda e: (e[0], e[1])):
        make = mido.MetaMessage if is_meta else mido.Message
        track.append(make(kind, time=tick - now, **fields))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def write_midi(
    arrangement: Arrangement, path: str | Path, *, plan: MusicPlan | None = None
) -> Path:
    """Write ``arrangement`` to ``path`` atomically; returns the path."""
    path = Path(path)
    if len(arrangement.beat_times_s) == 0:
        raise InvalidOptionError("the arrangement has no beats", path=path, field="beat_times_s")
    clock = _Clock(np.asarray(arrangement.beat_times_s, dtype=np.float64), arrangement.duration_s)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_to_track(_conductor(arrangement, clock, plan)))

    melodic = iter(_MELODIC_CHANNELS)
    for track in arrangement.tracks:
        channel = DRUM_CHANNEL if track.is_drum else next(melodic, None)
        if channel is None:
            raise InvalidOptionError("more than 15 melodic tracks", path=path, field="tracks")
        events = [
            (0, 0, _meta("track_name", name=track.role)),
            (0, 1, _msg("program_change", channel=channel, program=track.program)),
            (
                0,
                1,
                _msg(
                    "control_change",
                    channel=channel,
                    control=7,
                    value=int(np.clip(round(100 * track.volume), 0, 127)),
                ),
            ),
            # the room sends, as the renderer plays them (91 reverb, 93 chorus)
            (0, 1, _msg("control_change", channel=channel, control=91,
                        value=int(np.clip(track.reverb_send, 0, 127)))),
            (0, 1, _msg("control_change", channel=channel, control=93,
                        value=int(np.clip(track.chorus_send, 0, 127)))),
        ]
        ticks = clock.ticks([c.time_s for c in track.controls]).tolist()
        for control, tick in zip(track.controls, ticks):
            events.append((tick, 1, _msg("control_change", channel=channel,
                                         control=control.controller,
                                         value=int(np.clip(control.value, 0, 127)))))
        ons = clock.ticks([n.start_s for n in track.notes])
        offs = np.maximum(clock.ticks([n.end_s for n in track.notes]), ons + 1)
        for i, (note, on, off) in enumerate(zip(track.notes, ons.tolist(), offs.tolist())):
            if not (0 <= note.pitch <= 127 and 1 <= note.velocity <= 127):
                raise InvalidOptionError(
                    f"note {i} has pitch {note.pitch} / velocity {note.velocity}",
                    path=path,
                    field=f"tracks[{track.role}].notes",
                )
            # Note-offs sort before note-ons at the same tick so repeated pitches re-strike.
            events.append(
                (on, 3, _msg("note_on", channel=channel, note=note.pitch, velocity=note.velocity))
            )
            events.append((off, 2, _msg("note_off", channel=channel, note=note.pitch, velocity=0)))
        midi.tracks.append(_to_track(events))

    try:
        atomic_write(path, lambda f: midi.save(file=f))
    except OSError as err:
        raise BridgeError(f"cannot write the MIDI file: {err.strerror or err}", path=path) from err
    return path
