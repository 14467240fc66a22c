"""Arrangement: intensity follows arousal, drums mark the cuts, parts stay in their ranges."""

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np

from bridge.compose import arrange, compose_plan
from bridge.compose.arrange import (
    ATTACK_LEAD_S,
    CRASH,
    KICK,
    PITCH_RANGES,
    SLOW_ATTACK_PROGRAMS,
    SNARE,
)
from bridge.compose.expression import TIMING_MAX_S
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


def test_anchor_notes_stay_exact_and_the_rest_is_played_loosely():
    plan, _, arrangement = _arranged("cinematic-orchestral")
    written = arrange(plan, STYLES["cinematic-orchestral"], _arc_curve(), seed=0)
    assert written.tracks == arrangement.tracks  # same seed, same performance
    anchors = np.array(plan.tempo.anchors_s)
    beats = plan.tempo.beat_times_s
    for track in arrangement.tracks:
        slow = not track.is_drum and track.program in SLOW_ATTACK_PROGRAMS
        lead = ATTACK_LEAD_S if slow else 0.0
        starts = np.array([n.start_s + lead for n in track.notes])
        near = np.abs(starts[:, None] - anchors[None, :])
        assert not np.any((near > 1e-9) & (near < 0.02)), track.role  # on an anchor or off it
        if track.role in ("pads", "bass", "drums"):  # the chord change and the kick
            assert np.all(near.min(axis=0) < 1e-9), track.role
        off = np.abs(starts[:, None] - beats[None, :]).min(axis=1)
        loose = off[(off > 1e-6) & (off < 0.02)]
        if track.is_drum:
            assert len(loose) == 0  # the kit keeps time
        else:
            assert len(loose) > 0.2 * len(starts)  # played around the grid, within 15 ms
            assert loose.max() <= TIMING_MAX_S + 1e-9
    other = arrange(plan, STYLES["cinematic-orchestral"], _arc_curve(), seed=1)
    assert other.tracks[0].notes != arrangement.tracks[0].notes


def test_sustained_roles_swell_with_arousal_and_into_more_intense_cuts():
    plan, _, arrangement = _arranged("cinematic-orchestral")
    by_role = {tr.role: tr for tr in arrangement.tracks}
    assert not by_role["drums"].controls and not by_role["texture"].controls  # harp decays
    pads = by_role["pads"].controls  # string ensemble
    assert pads and all(c.controller == 11 and 0 <= c.value <= 127 for c in pads)
    times = np.array([c.time_s for c in pads])
    values = np.array([c.value for c in pads])

    def value_at(t):
        return values[np.searchsorted(times, t, side="right") - 1]

    calm, intense = value_at(10.0), value_at(30.0)
    assert intense - calm >= 18  # follows the arc: ~3 dB of CC11 between calm and intense
    # the calm -> intense jump: the expression rises over the beat before a cut there
    rising = [t for t in plan.tempo.anchors_s if 18.0 < t < 21.0]  # arousal climbs there
    assert rising
    for t in rising:
        beat = np.diff(plan.tempo.beat_times_s)[np.searchsorted(plan.tempo.beat_times_s, t) - 1]
        assert value_at(t) > value_at(t - beat) + 5
    piano = _arranged("solo-piano")[2]
    assert not any(tr.controls for tr in piano.tracks)  # a piano note cannot swell


def test_rooms_and_sends_follow_the_style():
    rooms = {name: _arranged(name)[2].room for name in ("cinematic-orchestral", "solo-piano",
                                                         "lofi", "acoustic-folk")}
    assert rooms == {"cinematic-orchestral": "hall", "solo-piano": "plate", "lofi": "dry",
                     "acoustic-folk": "room"}
    orchestra = {tr.role: tr for tr in _arranged("cinematic-orchestral")[2].tracks}
    assert orchestra["pads"].reverb_send > orchestra["bass"].reverb_send
    assert orchestra["pads"].reverb_send > orchestra["drums"].reverb_send
    assert all(tr.reverb_send == 0 for tr in _arranged("lofi")[2].tracks)
    synths = {tr.role: tr for tr in _arranged("synthwave")[2].tracks}
    assert synths["pads"].chorus_send > 0 and synths["bass"].chorus_send == 0


def test_pad_voicings_move_little_between_chords():
    plan, _, arrangement = _arranged("cinematic-orchestral")
    pads = next(tr for tr in arrangement.tracks if tr.role == "pads")
    voicings = []
    for chord in plan.chords:
        t = plan.tempo.grid_s[chord.start_beat] - ATTACK_LEAD_S
        struck = sorted(n.pitch for n in pads.notes if abs(n.start_s - t) < 0.02
                        and n.pitch >= PITCH_RANGES["pads"][0])
        if struck:
            voicings.append(struck)
    moves = [sum(abs(a - b) for a, b in zip(v, w)) / len(v)
             for v, w in itertools.pairwise(voicings) if len(v) == len(w)]
    assert len(moves) >= 10
    # common tones held, the rest by step: about a tone per voice, never a leap of the block
    assert np.mean(moves) <= 2.5 and max(moves) <= 5
