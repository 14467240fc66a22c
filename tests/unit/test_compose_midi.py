"""MIDI export: read back with pretty_midi, notes and beats are where the arrangement put them."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from bridge.compose import arrange, compose_plan, write_midi
from bridge.errors import BridgeError, InvalidOptionError
from bridge.style import STYLES
from bridge.types import AffectCurve, Arrangement, Cut, Edit, Note, Track

CUTS_S = [1.7, 3.9, 5.2, 8.8, 12.48, 15.0, 18.3, 21.2, 24.0, 27.7]


def _plan_and_arrangement(style="hybrid-trailer"):
    duration_s = 31.0
    edit = Edit(
        name="m",
        source_path=Path("m.otio"),
        rate=Fraction(24000, 1001),
        drop_frame=False,
        start_timecode="00:00:00:00",
        start_frame=0,
        duration_frames=743,
        shots=(),
    )
    t = np.arange(int(duration_s)) + 0.5
    curve = AffectCurve(
        hop_s=1.0, valence=np.sin(t / 5), arousal=np.sin(t / 7), confidence=np.ones(len(t))
    )
    plan = compose_plan(edit, [Cut(x, "edit") for x in CUTS_S], curve, STYLES[style], seed=2)
    return plan, arrange(plan, STYLES[style], curve, seed=2)


def test_round_trip_through_pretty_midi(tmp_path):
    plan, arrangement = _plan_and_arrangement()
    path = write_midi(arrangement, tmp_path / "score.mid", plan=plan)
    assert path == tmp_path / "score.mid"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["score.mid"]  # no temp file left

    pm = pretty_midi.PrettyMIDI(str(path))
    assert [i.name for i in pm.instruments] == [t.role for t in arrangement.tracks]
    for inst, track in zip(pm.instruments, arrangement.tracks):
        assert inst.is_drum == track.is_drum
        assert inst.program == track.program
        got = sorted((n.start, n.end, n.pitch, n.velocity) for n in inst.notes)
        want = sorted((n.start_s, n.end_s, n.pitch, n.velocity) for n in track.notes)
        assert len(got) == len(want)
        got_a, want_a = np.array(got), np.array(want)
        assert np.array_equal(got_a[:, 2:], want_a[:, 2:])
        assert np.max(np.abs(got_a[:, :2] - want_a[:, :2])) < 0.002

    beats = pm.get_beats()
    n = len(arrangement.beat_times_s)
    assert np.max(np.abs(beats[:n] - arrangement.beat_times_s)) < 0.001
    # Time signatures follow the partial bars, so the file's downbeats are the plan's bars.
    downbeats = pm.get_downbeats()
    bars = plan.tempo.bar_starts_s
    assert np.max(np.abs(downbeats[: len(bars)] - bars)) < 0.001
    for t in CUTS_S:
        assert np.min(np.abs(downbeats - t)) < 0.001


def test_drums_use_channel_ten(tmp_path):
    import mido

    _, arrangement = _plan_and_arrangement()
    path = write_midi(arrangement, tmp_path / "d.mid")
    midi = mido.MidiFile(str(path))
    assert midi.type == 1
    assert len(midi.tracks) == 1 + len(arrangement.tracks)
    drum_track = midi.tracks[1 + [t.role for t in arrangement.tracks].index("drums")]
    channels = {m.channel for m in drum_track if m.type == "note_on"}
    assert channels == {9}


def test_bad_notes_and_unwritable_paths_are_reported(tmp_path):
    bad = Arrangement(
        duration_s=2.0,
        beat_times_s=np.array([0.0, 0.5, 1.0, 1.5]),
        tracks=(Track("melody", 0, False, (Note(0.0, 0.5, 130, 80),)),),
    )
    with pytest.raises(InvalidOptionError) as err:
        write_midi(bad, tmp_path / "bad.mid")
    assert "melody" in err.value.field and "bad.mid" in str(err.value)
    assert not list(tmp_path.iterdir())

    _, arrangement = _plan_and_arrangement("solo-piano")
    missing = tmp_path / "no" / "such" / "folder" / "x.mid"
    with pytest.raises(BridgeError) as err:
        write_midi(arrangement, missing)
    assert str(missing) in str(err.value)
