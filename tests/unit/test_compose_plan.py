"""Music plan: chords change on every anchor cut, modes follow valence, it ends on the tonic."""

import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bridge.compose import RELEASE_ALLOWANCE_S, arrange, compose_plan
from bridge.compose.plan import MusicPlan
from bridge.compose.theory import BRIGHT_MODES
from bridge.errors import InvalidOptionError
from bridge.style import STYLES
from bridge.types import AffectCurve, Cut, Edit

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_plan_small.json"
CUTS_S = [
    1.7,
    3.9,
    5.2,
    8.8,
    12.48,
    15.0,
    18.3,
    21.2,
    24.0,
    27.7,
    31.9,
    35.0,
    38.4,
    42.0,
    45.5,
    49.1,
    52.6,
    55.0,
]


def _edit(duration_s: float, fps: int = 24) -> Edit:
    return Edit(
        name="test",
        source_path=Path("test.otio"),
        rate=Fraction(fps),
        drop_frame=False,
        start_timecode="00:00:00:00",
        start_frame=0,
        duration_frames=int(duration_s * fps),
        shots=(),
    )


def _curve(duration_s: float, *, valence_knots, arousal_knots) -> AffectCurve:
    t = np.arange(int(duration_s)) + 0.5
    knots_t = np.linspace(0, duration_s, len(arousal_knots))
    valence = np.interp(t, np.linspace(0, duration_s, len(valence_knots)), valence_knots)
    return AffectCurve(
        hop_s=1.0,
        valence=valence,
        arousal=np.interp(t, knots_t, arousal_knots),
        confidence=np.ones(len(t)),
    )


def _story(style="cinematic-orchestral", seed=0):
    """A minute: calm -> intense -> calm, bright -> dark -> bright, cut every few seconds."""
    edit = _edit(60.0)
    curve = _curve(60.0, valence_knots=[0.6, -0.5, 0.3], arousal_knots=[-0.8, -0.6, 0.9, 0.9, -0.7])
    cuts = [Cut(t, "edit") for t in CUTS_S]
    plan = compose_plan(edit, cuts, curve, STYLES[style], seed=seed)
    return edit, cuts, curve, plan


def test_a_chord_changes_exactly_on_every_anchor_cut():
    _, _, _, plan = _story()
    assert plan.tempo.anchors_s == tuple(CUTS_S)
    starts = {c.start_s: i for i, c in enumerate(plan.chords)}
    approached = 0
    for t in CUTS_S:
        assert t in starts, f"no chord starts at the cut {t}"
        chord, before = plan.chords[starts[t]], plan.chords[starts[t] - 1]
        assert chord.root_pc != before.root_pc
        if before.role in ("approach", "cadence"):
            approached += 1
            # Dominant (a fifth above) or pre-dominant (a fourth above) preparation.
            assert (before.root_pc - chord.root_pc) % 12 in (5, 7)
    assert approached >= 0.6 * len(CUTS_S)


def test_chords_tile_the_piece_without_gaps():
    _, _, _, plan = _story()
    assert plan.chords[0].start_beat == 0
    assert plan.chords[-1].end_beat == plan.tempo.n_beats
    for a, b in zip(plan.chords, plan.chords[1:]):
        assert a.end_beat == b.start_beat and a.end_s == b.start_s


def test_mode_follows_valence():
    edit = _edit(40.0)
    curve = AffectCurve(
        hop_s=1.0,
        valence=np.where(np.arange(40) < 20, 0.8, -0.8),
        arousal=np.zeros(40),
        confidence=np.ones(40),
    )
    plan = compose_plan(edit, [Cut(20.0, "edit")], curve, STYLES["cinematic-orchestral"])
    assert len(plan.sections) == 2
    assert plan.sections[0].mode in BRIGHT_MODES
    assert plan.sections[1].mode in ("aeolian", "phrygian")
    assert plan.sections[1].start_s == 20.0


def test_harmonic_rhythm_is_faster_when_intense():
    edit = _edit(60.0)
    cuts = [Cut(t, "edit") for t in (15.0, 30.0, 45.0)]

    def chords_per_beat(arousal):
        curve = AffectCurve(
            hop_s=1.0, valence=np.zeros(60), arousal=np.full(60, arousal), confidence=np.ones(60)
        )
        plan = compose_plan(edit, cuts, curve, STYLES["cinematic-orchestral"])
        return len(plan.chords) / plan.tempo.n_beats

    assert chords_per_beat(0.9) > 2.5 * chords_per_beat(-0.9)


def test_the_piece_ends_on_the_tonic_inside_the_release_allowance():
    for style in ("cinematic-orchestral", "ambient-electronic", "solo-piano"):
        edit, _, curve, plan = _story(style)
        final, before = plan.chords[-1], plan.chords[-2]
        assert final.root_pc == plan.tonic_pc
        assert final.label in ("I", "i")
        assert plan.tempo.downbeats[final.start_beat]
        assert final.start_beat == plan.final_beat
        if style == "ambient-electronic":
            assert (before.root_pc - plan.tonic_pc) % 12 == 5  # plagal: IV/iv - I
        else:
            assert before.pcs == (
                (plan.tonic_pc + 7) % 12,
                (plan.tonic_pc + 11) % 12,
                (plan.tonic_pc + 2) % 12,
            )  # authentic: major V - I
        arrangement = arrange(plan, STYLES[style], curve)
        last_end = max(n.end_s for tr in arrangement.tracks for n in tr.notes)
        assert last_end <= edit.duration_s - RELEASE_ALLOWANCE_S + 1e-9
        assert last_end > edit.duration_s - 3.0
        # What sounds at the end is the tonic chord.
        ringing = {
            n.pitch % 12
            for tr in arrangement.tracks
            if not tr.is_drum
            for n in tr.notes
            if n.end_s > edit.duration_s - 1.0
        }
        assert ringing <= set(final.pcs) and plan.tonic_pc in ringing


def test_same_seed_same_plan_other_seed_other_take():
    edit, cuts, curve, plan_a = _story(seed=4)
    plan_b = compose_plan(edit, cuts, curve, STYLES["cinematic-orchestral"], seed=4)
    plan_c = compose_plan(edit, cuts, curve, STYLES["cinematic-orchestral"], seed=5)
    assert plan_a.to_json() == plan_b.to_json()
    arr_a = arrange(plan_a, STYLES["cinematic-orchestral"], curve, seed=4)
    arr_b = arrange(plan_b, STYLES["cinematic-orchestral"], curve, seed=4)
    arr_c = arrange(plan_c, STYLES["cinematic-orchestral"], curve, seed=5)
    assert [t.notes for t in arr_a.tracks] == [t.notes for t in arr_b.tracks]
    assert plan_a.to_json() != plan_c.to_json()
    assert [t.notes for t in arr_a.tracks] != [t.notes for t in arr_c.tracks]
    assert np.array_equal(plan_a.tempo.beat_times_s, plan_c.tempo.beat_times_s)
    assert np.array_equal(arr_a.beat_times_s, arr_c.beat_times_s)


def test_motif_recurs_in_every_section():
    _, _, _, plan = _story()
    assert 3 <= len(plan.motif.steps) <= 6
    assert sum(plan.motif.durations_beats) == 4
    stated = {s.section for s in plan.statements}
    assert stated == {s.index for s in plan.sections}
    assert len({s.variation for s in plan.statements}) >= 2


def test_summary_and_json():
    _, _, _, plan = _story()
    summary = plan.summary()
    assert summary["tempo_bpm"]["min"] <= summary["tempo_bpm"]["max"]
    assert summary["key"].split()[0] in ("C", "G", "D", "F", "A", "E")
    assert len(summary["sections"]) == len(plan.sections) >= 3
    data = json.loads(plan.to_json())
    assert data["tempo"]["anchors_s"] == CUTS_S
    assert len(data["chords"]) == len(plan.chords)


def test_golden_plan():
    edit = _edit(20.0, fps=25)
    curve = _curve(20.0, valence_knots=[0.5, -0.4], arousal_knots=[-0.5, 0.8])
    cuts = [Cut(4.2, "edit"), Cut(9.0, "edit"), Cut(9.1, "edit"), Cut(13.6, "detected", 0.8)]
    text = compose_plan(edit, cuts, curve, STYLES["synthwave"], seed=7).to_json()
    if os.environ.get("SCOREBRIDGE_REGEN_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_empty_timeline_is_refused_naming_the_field():
    with pytest.raises(InvalidOptionError) as err:
        compose_plan(
            _edit(0.0), [], _curve(1.0, valence_knots=[0], arousal_knots=[0]), STYLES["lofi"]
        )
    assert err.value.field == "duration_frames"
    assert "test.otio" in str(err.value)


def test_very_short_timeline_still_plans():
    edit = _edit(1.5)
    curve = _curve(2.0, valence_knots=[0.0], arousal_knots=[0.0])
    plan = compose_plan(edit, [], curve, STYLES["cinematic-orchestral"])
    arrangement = arrange(plan, STYLES["cinematic-orchestral"], curve)
    assert plan.chords[-1].root_pc == plan.tonic_pc
    assert all(
        n.end_s <= 1.5 - RELEASE_ALLOWANCE_S + 1e-9 for tr in arrangement.tracks for n in tr.notes
    )


def test_plan_round_trips_through_its_dict():
    _, _, _, plan = _story(seed=3)
    back = MusicPlan.from_dict(json.loads(plan.to_json()))
    assert back.to_json() == plan.to_json()
    np.testing.assert_array_equal(back.beat_times_s, plan.beat_times_s)  # bit for bit
    np.testing.assert_array_equal(back.tempo.downbeats, plan.tempo.downbeats)
    assert back.chords == plan.chords and back.sections == plan.sections
    assert (back.tonic_pc, back.motif, back.statements) == (plan.tonic_pc, plan.motif,
                                                            plan.statements)
