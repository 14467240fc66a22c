"""Affect features and the heuristic estimator on synthetic numpy frames with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.affect import features as ft
from bridge.affect.features import FeatureTable
from bridge.affect.heuristic import blended_scale, curve_from_features, smooth
from bridge.analysis import picture
from bridge.errors import MissingMediaError


def solid(rgb, h=18, w=32):
    return np.broadcast_to(np.asarray(rgb, np.uint8), (h, w, 3)).copy()


RED, BLUE, BLACK, WHITE, GREY = (255, 0, 0), (0, 0, 255), (0, 0, 0), (255, 255, 255), (128,) * 3


def test_pure_red_is_fully_warm_and_saturated():
    assert picture.warmth(solid(RED)) == pytest.approx(1.0)
    assert picture.saturation(solid(RED)) == pytest.approx(1.0)
    assert picture.warmth(solid(BLUE)) == pytest.approx(-1.0)
    assert picture.warmth(solid(GREY)) == pytest.approx(0.0)
    assert picture.saturation(solid(GREY)) == pytest.approx(0.0)
    # warmth does not depend on exposure
    assert picture.warmth(solid((60, 0, 0))) == pytest.approx(1.0)


def test_black_frame_is_all_dark_white_is_none():
    assert picture.dark_share(solid(BLACK)) == 1.0
    assert picture.brightness(solid(BLACK)) == 0.0
    assert picture.saturation(solid(BLACK)) == 0.0
    assert picture.dark_share(solid(WHITE)) == 0.0
    assert picture.brightness(solid(WHITE)) == pytest.approx(1.0)
    half = solid(WHITE)
    half[:, :16] = 0
    assert picture.dark_share(half) == pytest.approx(0.5)


def test_colourfulness_known_values():
    assert picture.colourfulness(solid(GREY)) == pytest.approx(0.0)
    # pure red: rg = 255, yb = 127.5, no spread -> 0.3 * hypot(255, 127.5)
    assert picture.colourfulness(solid(RED)) == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-5)
    stripes = solid(RED)
    stripes[:, ::2] = BLUE
    assert picture.colourfulness(stripes) > picture.colourfulness(solid(RED))


def test_motion_zero_for_identical_frames_and_scales_with_interval():
    a = solid(GREY)
    assert picture.motion(a, a.copy(), dt_s=0.04) == 0.0
    b = solid(BLACK)
    b[:, :16] = WHITE  # half the frame goes from grey to white
    at_25 = picture.motion(solid(BLACK), b, dt_s=1 / 25)
    assert at_25 == pytest.approx(0.5, rel=1e-5)
    # the same change taking twice as long is half as much motion
    assert picture.motion(solid(BLACK), b, dt_s=2 / 25) == pytest.approx(0.25, rel=1e-5)
    with pytest.raises(ValueError):
        picture.motion(a, solid(GREY, h=10), dt_s=0.04)


def test_per_hop_mean_marks_empty_hops_unknown():
    t = np.array([0.1, 0.6, 2.2])
    v = np.array([1.0, 3.0, 5.0])
    out = ft.per_hop_mean(t, v, hop_s=1.0, n_hops=4)
    assert out[0] == 2.0 and out[2] == 5.0
    assert np.isnan(out[1]) and np.isnan(out[3])
    spread = ft.per_hop_spread(t, v, hop_s=1.0, n_hops=4)
    assert spread[0] == pytest.approx(1.0) and spread[2] == 0.0 and np.isnan(spread[1])


def test_cut_rhythm_features():
    cuts = np.array([2.0, 3.0, 10.0])
    since = ft.time_since_cut(cuts, hop_s=1.0, n_hops=20)
    until = ft.time_until_cut(cuts, hop_s=1.0, n_hops=20, duration_s=20.0)
    assert since[0] == 0.5 and until[0] == 1.5  # before the first cut: from the start
    assert since[2] == 0.5 and until[2] == 0.5
    assert since[5] == 2.5 and until[5] == 4.5
    assert until[19] == 0.5  # after the last cut: to the end
    dens = ft.cut_density(cuts, hop_s=1.0, n_hops=20, window_s=6.0)
    assert dens[2] == pytest.approx(2 / 6)  # window 0..6 s holds the cuts at 2 and 3
    assert dens[11] == pytest.approx(1 / 6) and dens[19] == 0.0


def test_interval_coverage_and_loudness():
    cover = ft.interval_coverage([(0.5, 1.5), (1.0, 2.0), (3.25, 3.5)], hop_s=1.0, n_hops=4)
    np.testing.assert_allclose(cover, [0.5, 1.0, 0.0, 0.25])
    sr = 16000
    t = np.arange(sr) / sr
    sine = np.sin(2 * np.pi * 440 * t)  # full-scale sine: RMS -3.01 dBFS
    _, p = ft.frame_power(sine, sr=sr)
    assert ft.power_db(p.mean()) == pytest.approx(-3.01, abs=0.05)
    assert ft.power_db(np.array([0.0]))[0] == ft.SILENCE_DB


def table(n=40, **overrides) -> FeatureTable:
    """A feature table of a plain mid-grey, mid-motion film; overrides replace features."""
    base = dict(
        hop_s=1.0, duration_s=float(n), picture=np.ones(n), motion=np.full(n, 0.01),
        motion_spread=np.zeros(n), brightness=np.full(n, 0.35), saturation=np.full(n, 0.3),
        colourfulness=np.full(n, 30.0), warmth=np.zeros(n), dark_share=np.full(n, 0.3),
        loudness_db=np.full(n, -30.0), cut_density=np.full(n, 0.2),
        since_cut_s=np.full(n, 2.5), until_cut_s=np.full(n, 2.5),
    )
    base.update(overrides)
    return FeatureTable(**base)


def test_uniformly_calm_film_stays_low_and_flat():
    rng = np.random.default_rng(0)
    n = 60
    # static, quiet, long takes, with tiny noise that percentiles alone would stretch to 0..1
    calm = table(n, motion=0.001 + 0.0005 * rng.random(n), loudness_db=-55 + rng.random(n),
                 since_cut_s=np.full(n, 15.0), until_cut_s=np.full(n, 15.0))
    curve = curve_from_features(calm)
    assert curve.arousal.max() < -0.7
    assert np.ptp(curve.arousal) < 0.1


def test_relative_part_grows_with_real_variation():
    flat = np.full(50, 0.2)
    np.testing.assert_allclose(blended_scale(flat, lo=0, hi=1), 0.2)
    varied = np.linspace(0.2, 0.8, 50)
    out = blended_scale(varied, lo=0, hi=1)
    assert out[0] < 0.2 and out[-1] > 0.8  # stretched towards 0..1
    assert np.all(np.diff(out) >= 0)


def test_unknown_hops_interpolated_with_zero_confidence():
    n = 20
    picture = np.ones(n)
    picture[8:12] = 0
    b = np.where(picture > 0, 0.35, np.nan)
    curve = curve_from_features(table(n, picture=picture, brightness=b))
    assert np.all(curve.confidence[8:12] == 0)
    assert np.all(curve.confidence[:8] == 1) and np.all(np.isfinite(curve.valence))
    none = table(n, picture=np.zeros(n), brightness=np.full(n, np.nan))
    with pytest.raises(MissingMediaError, match="no picture"):
        curve_from_features(none, timeline="reel 1", source_path="/x/reel1.otio")


def test_smoothing_removes_one_hop_spike_keeps_a_plateau():
    x = np.zeros(30)
    x[15] = 1.0
    assert smooth(x, hop_s=1.0, median_s=1.5, window_s=5.0).max() < 1e-9
    x[15:21] = 1.0
    y = smooth(x, hop_s=1.0, median_s=1.5, window_s=5.0)
    assert y[18] > 0.9 and y[14] > 0.2  # rises before the plateau starts
