"""Tempo map: anchor cuts are beats by construction, tempos stay in range and change gently."""


import numpy as np
import pytest

from bridge.compose.tempo import plan_tempo, target_bpm_for
from bridge.errors import InvalidOptionError
from bridge.types import Cut

FRAME_S = 1 / 24
IRREGULAR_S = [1.7, 3.9, 5.2, 8.8, 10.1, 12.48, 13.0, 15.6, 19.3, 21.2, 24.0, 26.7, 29.9]


def _flat(value):
    return lambda t: np.full_like(np.asarray(t, dtype=float), value)


def _plan(cuts, *, duration_s=33.0, arousal_at=None, bpm_min=70.0, bpm_max=130.0, **kw):
    return plan_tempo(
        duration_s=duration_s,
        cuts=cuts,
        arousal_at=arousal_at or _flat(0.0),
        bpm_min=bpm_min,
        bpm_max=bpm_max,
        frame_s=FRAME_S,
        **kw,
    )


def _step_ratios(bpms):
    return np.maximum(bpms[1:] / bpms[:-1], bpms[:-1] / bpms[1:])


def test_irregular_cuts_all_land_on_beats_within_range():
    tm = _plan([Cut(t, "edit") for t in IRREGULAR_S])
    beats = tm.beat_times_s
    assert tm.anchors_s == tuple(IRREGULAR_S)
    assert tm.skipped == ()
    for t in IRREGULAR_S:
        assert np.min(np.abs(beats - t)) <= FRAME_S
        assert t in beats  # exact float: a cut at 12.48 s has a beat at 12.48 s
        assert tm.downbeats[np.flatnonzero(beats == t)[0]]  # bars restart on the cut
    assert tm.cut_alignment == 1.0
    assert np.all((tm.bpms >= 70.0 - 1e-9) & (tm.bpms <= 130.0 + 1e-9))
    assert np.all(_step_ratios(tm.bpms) <= tm.max_step_ratio + 1e-9)
    assert beats[0] == 0.0 and beats[-1] < 33.0
    assert np.all(np.diff(beats) > 0)
    assert tm.warnings == ()


def test_tighter_step_limit_is_respected_or_cuts_are_released():
    cuts = [Cut(t, "edit") for t in IRREGULAR_S]
    tm = _plan(cuts, max_step_ratio=1.1)
    assert np.all(_step_ratios(tm.bpms) <= 1.1 + 1e-9)
    # Cuts that could not be anchored within the limit are reported, not silently lost.
    assert len(tm.anchors_s) + len(tm.skipped) == len(cuts)
    for s in tm.skipped:
        assert "tempo step" in s.reason


def test_close_weak_and_outside_cuts_are_skipped_with_reasons():
    cuts = [
        Cut(0.0, "edit"),
        Cut(4.0, "edit"),
        Cut(4.2, "edit"),  # 0.2 s after 4.0: closer than a beat at 130 bpm (0.46 s)
        Cut(9.0, "detected", strength=0.2),
        Cut(12.0, "detected", strength=0.9),
        Cut(40.0, "edit"),
    ]
    tm = _plan(cuts, duration_s=20.0)
    assert tm.anchors_s == (4.0, 12.0)
    reasons = {s.time_s: s.reason for s in tm.skipped}
    assert "closer than one beat" in reasons[4.2]
    assert "weak detected cut" in reasons[9.0]
    assert "outside the timeline" in reasons[0.0]
    assert "outside the timeline" in reasons[40.0]
    # 4.2 s is 0.2 s from a beat; no beat is forced onto it.
    assert tm.cut_alignment < 1.0


def test_cut_too_close_to_the_end_is_skipped():
    tm = _plan([Cut(9.8, "edit")], duration_s=10.0)
    assert tm.anchors_s == ()
    assert "end" in tm.skipped[0].reason


def test_constant_arousal_without_cuts_gives_a_steady_tempo():
    tm = _plan([], duration_s=60.0, arousal_at=_flat(0.0))
    intervals = np.diff(tm.grid_s)
    assert np.allclose(intervals, intervals[0], rtol=0, atol=1e-9)
    assert len(tm.segments) == 1
    assert tm.segments[0].bpm == pytest.approx(100.0, abs=2.0)  # the middle of 70..130
    assert tm.segments[0].n_beats % 4 == 0  # whole bars


def test_higher_arousal_gives_a_faster_tempo():
    def arousal(t):
        return np.where(np.asarray(t) < 30.0, -0.8, 0.8)

    tm = _plan([Cut(30.0, "edit")], duration_s=60.0, arousal_at=arousal, max_step_ratio=2.0)
    calm, intense = tm.segments
    assert intense.bpm > calm.bpm * 1.2
    assert calm.target_bpm == pytest.approx(target_bpm_for(arousal=-0.8, bpm_min=70, bpm_max=130))


def test_an_hour_with_1000_cuts_plans_every_cut():
    # Its speed is measured in bench/ (composition of the 60-minute timeline), not here.
    rng = np.random.default_rng(5)
    times = np.sort(rng.uniform(1.0, 3599.0, 1000))
    cuts = [Cut(float(t), "edit") for t in times]
    tm = _plan(cuts, duration_s=3600.0, arousal_at=lambda t: np.sin(np.asarray(t) / 200.0))
    assert len(tm.anchors_s) + len(tm.skipped) == 1000
    assert np.isin(np.array(tm.anchors_s), tm.beat_times_s).all()
    assert tm.cut_alignment >= 0.8
    assert np.all((tm.bpms >= 70 - 1e-9) & (tm.bpms <= 130 + 1e-9))


def test_time_and_beat_conversions_invert():
    tm = _plan([Cut(t, "edit") for t in IRREGULAR_S])
    beats = np.array([0.0, 3.0, 7.5, 20.25])
    assert np.allclose(tm.beat_at_time(tm.time_at_beat(beats)), beats)
    assert tm.time_at_beat(3) == IRREGULAR_S[0] or tm.anchor_beats[0] != 3


def test_invalid_ranges_name_the_field():
    with pytest.raises(InvalidOptionError) as err:
        _plan([], bpm_min=120.0, bpm_max=80.0)
    assert err.value.field == "bpm_min"
    with pytest.raises(InvalidOptionError) as err:
        _plan([], duration_s=0.0)
    assert err.value.field == "duration_s"
