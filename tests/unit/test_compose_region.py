"""Plans for part of a piece: a composed stretch leads into kept music; plans cut and join."""

import numpy as np
import pytest
from test_compose_plan import _story

from bridge.compose import arrange
from bridge.compose.region import compose_region, curve_window, cut_plan, join_plans
from bridge.style import STYLES
from bridge.types import Cut


def bars(plan):
    return plan.tempo.bar_starts_s


def test_cut_plan_keeps_beats_chords_and_motif_of_its_stretch():
    _, _, _, plan = _story(seed=1)
    lo, hi = float(bars(plan)[3]), float(bars(plan)[9])
    part = cut_plan(plan, lo, hi)
    inside = (plan.beat_times_s >= lo - 1e-9) & (plan.beat_times_s < hi - 1e-9)
    np.testing.assert_allclose(part.beat_times_s + lo, plan.beat_times_s[inside], atol=1e-9)
    assert part.duration_s == pytest.approx(hi - lo)
    for c in part.chords:  # every chord of the part sounded at the same place before
        old = plan.chord_at_beat(c.start_beat + int(np.flatnonzero(inside)[0]))
        assert old.pcs == c.pcs
    assert part.motif == plan.motif and part.tonic_pc == plan.tonic_pc
    assert part.release_s == 0.0 and part.final_beat == part.tempo.n_beats


def test_composed_stretch_puts_its_cuts_on_beats_and_leads_into_the_kept_chord():
    _, _, curve, plan = _story(seed=1)
    target = plan.chords[10]
    region = compose_region(
        duration_s=9.37, frame_s=plan.frame_s, cuts=[Cut(2.5, "edit"), Cut(6.1, "edit")],
        curve=curve_window(curve, 20.0, 9.37), style=STYLES["cinematic-orchestral"], seed=1,
        salt=20_000, tonic_pc=plan.tonic_pc, cadence=plan.cadence, motif=plan.motif,
        lead_into=target)
    beats = region.beat_times_s
    for cut in (2.5, 6.1):
        assert np.min(np.abs(beats - cut)) < 1e-9
        assert region.chord_at_beat(int(np.argmin(np.abs(beats - cut)))).start_s == \
            pytest.approx(cut)
    last = region.chords[-1]
    assert last.role == "approach" and last.end_s == pytest.approx(9.37)
    assert last.pcs != target.pcs
    assert region.release_s == 0.0
    assert all(c.role != "final" for c in region.chords)
    notes = [n for t in arrange(region, STYLES["cinematic-orchestral"],
                                curve_window(curve, 20.0, 9.37), seed=1).tracks for n in t.notes]
    assert max(n.end_s for n in notes) == pytest.approx(9.37, abs=0.03)  # runs to the join


def test_ending_stretch_ends_on_the_final_cadence():
    _, _, curve, plan = _story(seed=2)
    region = compose_region(
        duration_s=12.0, frame_s=plan.frame_s, cuts=[Cut(4.0, "edit")],
        curve=curve_window(curve, 48.0, 12.0), style=STYLES["cinematic-orchestral"], seed=2,
        salt=48_000, tonic_pc=plan.tonic_pc, cadence=plan.cadence, motif=plan.motif,
        lead_into=None)
    assert region.chords[-1].role == "final" and region.chords[-1].degree == 0
    assert region.release_s > 0


def test_join_plans_is_one_valid_plan():
    _, _, curve, plan = _story(seed=1)
    b = bars(plan)
    head = cut_plan(plan, 0.0, float(b[4]))
    tail = cut_plan(plan, float(b[8]), float(plan.duration_s))
    gap = float(b[8] - b[4]) - 2.0  # the recut took 2 s out of the middle
    middle = compose_region(
        duration_s=gap, frame_s=plan.frame_s, cuts=[Cut(gap / 2, "edit")],
        curve=curve_window(curve, float(b[4]), gap), style=STYLES["cinematic-orchestral"],
        seed=1, salt=1, tonic_pc=plan.tonic_pc, cadence=plan.cadence, motif=plan.motif,
        lead_into=tail.chords[0])
    total = head.duration_s + gap + tail.duration_s
    joined = join_plans([(0.0, head), (head.duration_s, middle), (head.duration_s + gap, tail)],
                        duration_s=total, cut_times_s=[])
    beats = joined.beat_times_s
    assert np.all(np.diff(beats) > 0) and beats[0] == 0.0 and beats[-1] < total
    ends = [c.end_beat for c in joined.chords]
    assert [c.start_beat for c in joined.chords[1:]] == ends[:-1]  # chords tile
    assert ends[-1] == joined.tempo.n_beats and joined.chords[-1].role == "final"
    np.testing.assert_allclose(beats[: head.tempo.n_beats], plan.beat_times_s[:head.tempo.n_beats],
                               atol=1e-9)
    assert joined.final_beat == head.tempo.n_beats + middle.tempo.n_beats + tail.final_beat
    assert joined.chords[-1].pcs == plan.chords[-1].pcs  # the kept ending, cadence and all
