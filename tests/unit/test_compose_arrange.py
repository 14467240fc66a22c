"""Arrangement: intensity follows arousal, drums mark the cuts, parts stay in their ranges."""

from fractions import Fraction
from pathlib import Path

import numpy as np

from bridge.compose import arrange, compose_plan
from bridge.compose.arrange import CRASH, KICK, PITCH_RANGES, SNARE
from bridge.style import STYLES
from bridge.types import AffectCurve, Cut, Edit

DURATION_S = 60.0
CUTS_S = [3.1, 7.4, 11.0, 14.2, 18.9, 22.5, 26.3, 29.0, 33.8, 37.1, 41.6, 45.2, 49.7, 53.3]


def _edit() -> Edit:
    return Edit(
        name="arc",
        source_path=Path("arc.otio"),
        rate=Fraction(25),
        drop_frame=False,
        start_timecode="00:00:00:00",
        start_frame=0,
        duration_frames=int(DURATION_S * 25),
        shots=(),
    )


def _arc_curve() -> AffectCurve:
    """Calm (0-18 s) -> intense (22-40 s) -> calm (44-60 s)."""
    t = np.arange(int(DURATION_S)) + 0.5
    arousal = np.interp(t, [0, 18, 22, 40, 44, 60], [-0.8, -0.8, 0.85, 0.85, -0.8, -0.8])
    return AffectCurve(
        hop_s=1.0, valence=np.full(len(t), 0.2), arousal=arousal, confidence=np.ones(len(t))
    )


def _arranged(style="synthwave", seed=0):
    curve = _arc_curve()
    plan = compose_plan(_edit(), [Cut(t, "edit") for t in CUTS_S], curve, STYLES[style], seed=seed)
    return plan, curve, arrange(plan, STYLES[style], curve, seed=seed)


def _window(notes, start_s, end_s):
    return [n for n in notes if start_s <= n.start_s < end_s]


def test_more_notes_and_louder_when_intense():
    _, _, arrangement = _arranged()
    notes = [n for tr in arrangement.tracks for n in tr.notes]
    calm, intense = _window(notes, 1.0, 17.0), _window(notes, 23.0, 39.0)
    assert len(intense) / 16 > 2.5 * len(calm) / 16
    assert np.mean([n.velocity for n in intense]) > np.mean([n.velocity for n in calm]) + 20
    for track in arrangement.tracks:
        if track.role == "melody":
            continue  # the motif is stated in calm parts too, only slower
        assert len(_window(track.notes, 23.0, 39.0)) > len(_window(track.notes, 1.0, 17.0))


def test_per_second_activity_follows_arousal():
    _, curve, arrangement = _arranged("cinematic-orchestral")
    activity = np.zeros(int(DURATION_S))
    for track in arrangement.tracks:
        for n in track.notes:
            activity[int(n.start_s)] += n.velocity
    r = np.corrcoef(activity, curve.arousal)[0, 1]
    assert r >= 0.8


def test_drums_quiet_in_calm_parts_and_kick_on_every_anchor_cut():
    plan, _, arrangement = _arranged()
    drums = next(tr for tr in arrangement.tracks if tr.role == "drums")
    assert drums.is_drum and drums.program == STYLES["synthwave"].drum_kit
    kicks = {n.start_s for n in drums.notes if n.pitch == KICK}
    for t in plan.tempo.anchors_s:
        assert t in kicks, f"no kick on the cut at {t}"
    calm = _window(drums.notes, 1.0, 17.0)
    intense = _window(drums.notes, 23.0, 39.0)
    assert not [n for n in calm if n.pitch == SNARE]
    assert sum(n.velocity for n in intense) > 8 * sum(n.velocity for n in calm)
    crashes = {n.start_s for n in intense if n.pitch == CRASH}
    assert crashes and crashes <= set(plan.tempo.anchors_s) | {plan.chords[-1].start_s}


def test_intense_parts_put_an_onset_on_every_beat():
    plan, _, arrangement = _arranged()
    onsets = np.array(sorted({n.start_s for tr in arrangement.tracks for n in tr.notes}))
    beats = plan.tempo.beat_times_s
    intense_beats = beats[(beats > 23.0) & (beats < 39.0)]
    for b in intense_beats:
        assert np.min(np.abs(onsets - b)) < 1e-9


def test_bass_changes_on_every_cut():
    plan, _, arrangement = _arranged("solo-piano")
    bass = next(tr for tr in arrangement.tracks if tr.role == "bass")
    for t in plan.tempo.anchors_s:
        at_cut = [n for n in bass.notes if n.start_s == t]
        before = [n for n in bass.notes if n.start_s < t]
        assert at_cut, f"no bass note on the cut at {t}"
        assert at_cut[0].pitch != before[-1].pitch
        assert at_cut[0].pitch % 12 == plan.chord_at_beat(plan.tempo.beat_at_time(t)).root_pc


def test_parts_stay_in_range_and_never_overlap_themselves():
    for style in ("cinematic-orchestral", "lofi", "hybrid-trailer"):
        _, _, arrangement = _arranged(style)
        assert [tr.role for tr in arrangement.tracks] == [
            "pads",
            "bass",
            "melody",
            "texture",
            "drums",
        ]
        for track in arrangement.tracks:
            assert track.notes, track.role
            assert track.program == (
                STYLES[style].drum_kit if track.is_drum else STYLES[style].programs[track.role]
            )
            for n in track.notes:
                assert 1 <= n.velocity <= 127
                assert n.end_s > n.start_s >= 0.0
                if not track.is_drum:
                    low, high = PITCH_RANGES[track.role]
                    assert low - 12 <= n.pitch <= high, (track.role, n.pitch)
            by_pitch = {}
            for n in sorted(track.notes, key=lambda n: n.start_s):
                if n.pitch in by_pitch:
                    assert by_pitch[n.pitch] <= n.start_s + 1e-9
                by_pitch[n.pitch] = n.end_s


def test_styles_without_percussion_have_no_drum_track():
    _, _, arrangement = _arranged("solo-piano")
    assert [tr.role for tr in arrangement.tracks] == ["pads", "bass", "melody", "texture"]
    assert {tr.program for tr in arrangement.tracks} == {0}
