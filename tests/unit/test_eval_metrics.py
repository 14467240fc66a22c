"""Pure numeric quality measures on hand-made event lists and signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.eval import metrics

SR = 48000
FRAME_S = 1 / 24


def test_nearest_distance():
    d = metrics.nearest_distance_s([0.0, 1.04, 2.5, 9.0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(d, [1.0, 0.04, 0.5, 6.0])
    assert np.all(np.isinf(metrics.nearest_distance_s([1.0], [])))


def test_hit_rate_on_beats_and_half_a_beat_off():
    beats = np.arange(0.0, 20.0, 0.5)
    cuts = np.array([2.0, 4.5, 7.0, 11.5])
    assert metrics.cut_beat_hit_rate(cuts, beats, tol_s=FRAME_S) == metrics.HitRate(4, 4, 1.0)
    off = metrics.cut_beat_hit_rate(cuts + 0.25, beats, tol_s=FRAME_S)
    assert off == metrics.HitRate(0, 4, 0.0)
    # 30 ms late still counts within ±1 frame (41.7 ms) but not within ±20 ms
    assert metrics.cut_beat_hit_rate(cuts + 0.03, beats, tol_s=FRAME_S).rate == 1.0
    assert metrics.cut_beat_hit_rate(cuts + 0.03, beats, tol_s=0.02).rate == 0.0


def test_hit_rate_counts_only_cuts_a_beat_apart():
    beats = np.arange(0.0, 20.0, 0.5)  # median period 0.5 s
    cuts = [2.0, 2.2, 5.0, 8.0]  # 2.0 and 2.2 are closer than a beat: neither counts
    r = metrics.cut_beat_hit_rate(cuts, beats, tol_s=0.05)
    assert (r.hits, r.total) == (2, 2)
    r = metrics.cut_beat_hit_rate(cuts, beats, tol_s=0.05, min_gap_s=0.1)
    assert (r.hits, r.total) == (3, 4)
    assert np.isnan(metrics.cut_beat_hit_rate([], beats, tol_s=0.05).rate)


def test_chord_at_cut_recall_and_precision():
    scores = metrics.chord_at_cut([1.0, 2.0, 3.0, 4.0], [1.05, 3.5, 2.95], tol_s=0.1)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.precision == pytest.approx(2 / 3)


def test_beat_hit_coverage():
    beats = np.arange(0.0, 10.0, 0.5)
    assert metrics.beat_hit_coverage(beats, beats) == (1.0, 1.0)
    assert metrics.beat_hit_coverage(beats + 0.25, beats) == (0.0, 0.0)
    # generating every other beat: half the reference hit, every generated beat matches
    assert metrics.beat_hit_coverage(beats[::2], beats) == (0.5, 1.0)
    # small timing error inside the 70 ms tolerance still hits
    assert metrics.beat_hit_coverage(beats + 0.05, beats) == (1.0, 1.0)


def test_pearson_and_ccc_known_values():
    x = np.sin(np.linspace(0, 6, 50))
    x -= x.mean()
    assert metrics.pearson(x, 2 * x + 3) == pytest.approx(1.0)
    assert metrics.pearson(x, -x) == pytest.approx(-1.0)
    assert metrics.pearson(x, np.cos(np.linspace(0, 6, 50))) == pytest.approx(
        np.corrcoef(x, np.cos(np.linspace(0, 6, 50)))[0, 1]
    )
    assert np.isnan(metrics.pearson(x, np.ones_like(x)))
    assert metrics.ccc(x, x) == pytest.approx(1.0)
    v = x.var()
    # an offset of 1 keeps r = 1 but costs concordance: 2v / (2v + 1)
    assert metrics.ccc(x, x + 1) == pytest.approx(2 * v / (2 * v + 1))
    # a half-size copy: 2 * 0.5v / (v + 0.25v)
    assert metrics.ccc(x, 0.5 * x) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        metrics.pearson(x, x[:-1])


def test_standardise_floor_keeps_small_wiggles_small():
    wiggle = 0.1 * np.sin(np.arange(20))
    z = metrics.standardise(wiggle)
    assert z.std() == pytest.approx(1.0)
    floored = metrics.standardise(wiggle, min_std=1.0)
    np.testing.assert_allclose(floored, wiggle - wiggle.mean())
    assert np.all(metrics.standardise(np.ones(5)) == 0)


def test_frames_to_hops_and_events_per_hop():
    times = np.arange(0, 3, 0.25)  # 4 frames per second, 3 s
    values = np.repeat([1.0, 2.0, 3.0], 4)
    np.testing.assert_allclose(
        metrics.frames_to_hops(values, frame_times_s=times, hop_s=1.0, n=5), [1, 2, 3, 3, 3]
    )
    # one event at a hop centre counts fully there, half-way to the next centre it
    # counts half in each
    np.testing.assert_allclose(
        metrics.events_per_hop([0.25, 1.0, 9.0], hop_s=0.5, n=4), [2, 1, 1, 0]
    )
    # a 4-per-second pulse reads 4/s in every hop whatever its phase
    for phase in (0.0, 0.03, 0.125, 0.2):
        pulse = np.arange(-1.0, 12.0, 0.25) + phase
        np.testing.assert_allclose(metrics.events_per_hop(pulse, hop_s=1.0, n=10), 4.0)


# ---------------------------------------------------------------- length and end


def _ending(kind: str, *, n_frames: int = 48) -> np.ndarray:
    """A 440 Hz note over n_frames video frames at 48 kHz, ending in one of three ways."""
    frame_n = round(FRAME_S * SR)
    n = n_frames * frame_n
    t = np.arange(n) / SR
    y = 0.3 * np.sin(2 * np.pi * 440 * t)
    if kind == "release":  # falls 60 dB across the last frame
        y[-frame_n:] *= 10 ** (-3 * np.arange(frame_n) / frame_n)
    elif kind == "early":  # stops 2 s before the end
        y[-2 * SR :] = 0.0
    return y  # "cut": plays at full level to the last sample


def test_length_check_release_in_last_frame():
    y = _ending("release")
    check = metrics.length_check(y.size, SR, expected_samples=y.size, frame_s=FRAME_S, y_tail=y)
    assert check == metrics.LengthCheck(delta_samples=0, ends_in_last_frame=True)


def test_length_check_rejects_early_silence_and_hard_cut():
    early = _ending("early")
    check = metrics.length_check(
        early.size, SR, expected_samples=early.size, frame_s=FRAME_S, y_tail=early
    )
    assert check == metrics.LengthCheck(0, False)
    cut = _ending("cut")
    check = metrics.length_check(
        cut.size, SR, expected_samples=cut.size, frame_s=FRAME_S, y_tail=cut
    )
    assert check == metrics.LengthCheck(0, False)


def test_length_check_reports_the_sample_error():
    y = _ending("release")
    check = metrics.length_check(
        y.size, SR, expected_samples=y.size - 7, frame_s=FRAME_S, y_tail=y
    )
    assert check == metrics.LengthCheck(7, True)  # well inside the last frame
    long = metrics.length_check(
        y.size, SR, expected_samples=y.size - 2 * SR, frame_s=FRAME_S, y_tail=y
    )
    assert long == metrics.LengthCheck(2 * SR, False)  # released, but 2 s after the picture


def test_style_stability_from_known_windows():
    means = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    s = metrics.style_stability_from_windows(means, window_s=30.0)
    assert s.max_distance == pytest.approx(10.0)
    assert s.mean_distance == pytest.approx((5 + 10 + 5) / 3)
    assert s.drift_slope == pytest.approx(10.0)  # 5 per 30 s window = 10 per minute
    same = metrics.style_stability_from_windows(np.ones((4, 12)), window_s=30.0)
    assert same == metrics.StyleStability(0.0, 0.0, pytest.approx(0.0))
