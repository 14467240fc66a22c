"""The librosa analyser on synthetic audio whose beats, chords and loudness are known."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.eval import analyse, metrics

SR = 22050


def _drum_hits(beats_s, *, dur_s: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A kick-like thump plus a noise snap at each beat, over a quiet sustained tone."""
    rng = np.random.default_rng(seed)
    y = np.zeros(round(dur_s * sr))
    t = np.arange(round(0.08 * sr)) / sr
    hit = (0.4 * rng.standard_normal(t.size) + np.sin(2 * np.pi * 80 * t)) * np.exp(-t / 0.015)
    for b in beats_s:
        i = round(b * sr)
        seg = y[i : i + hit.size]
        seg += hit[: seg.size]
    y += 0.03 * np.sin(2 * np.pi * 220 * np.arange(y.size) / sr)
    return y.astype(np.float32)


def _harmonic_tone(midi: float, n: int, *, sr: int = SR) -> np.ndarray:
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(n) / sr
    return sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3, 4))


def _chords(progression, *, chord_s: float, sr: int = SR) -> np.ndarray:
    """Harmonic-tone chords, each `chord_s` long, with 10 ms fades against clicks."""
    n = round(chord_s * sr)
    fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * sr))
    parts = [sum(_harmonic_tone(m, n, sr=sr) for m in chord) * fade for chord in progression]
    y = np.concatenate(parts)
    return (0.2 * y / np.abs(y).max()).astype(np.float32)


# 100 BPM for 12 s, then 130 BPM: the tempo changes mid-track.
_SLOW = np.arange(0.5, 12.0, 60 / 100)
BEATS_S = np.concatenate([_SLOW, np.arange(_SLOW[-1] + 60 / 130, 24.5, 60 / 130)])


@pytest.fixture(scope="session")
def drum_track():
    y = _drum_hits(BEATS_S, dur_s=25.0)
    feats = analyse.Features(y, SR)
    return y, feats, analyse.detect_beats(y, SR, feats=feats)


def test_detect_beats_follows_a_tempo_change(drum_track):
    _, _, beats = drum_track
    err = metrics.nearest_distance_s(BEATS_S, beats)
    assert np.mean(err <= 0.03) >= 0.9
    # both halves: the tracker did not lock onto one tempo
    assert np.mean(err[BEATS_S < 12] <= 0.03) >= 0.9
    assert np.mean(err[BEATS_S > 12] <= 0.03) >= 0.9
    extra = metrics.nearest_distance_s(beats, BEATS_S)
    assert np.mean(extra <= 0.03) >= 0.9  # few beats between the clicks


def test_cuts_on_the_beats_hit_and_half_a_beat_off_miss(drum_track):
    _, _, beats = drum_track
    cuts_on = BEATS_S[2:-1:3]  # every third click, both tempi
    on = metrics.cut_beat_hit_rate(cuts_on, beats, tol_s=1 / 24)
    assert on.total == cuts_on.size
    assert on.rate == 1.0
    periods = np.diff(BEATS_S)[2:-1:3]
    off = metrics.cut_beat_hit_rate(cuts_on + periods / 2, beats, tol_s=1 / 24)
    assert off.total == cuts_on.size
    assert off.rate <= 0.1


def test_onsets_found_at_the_clicks(drum_track):
    _, feats, _ = drum_track
    onsets = feats.onsets_s
    assert np.mean(metrics.nearest_distance_s(BEATS_S, onsets) <= 0.02) >= 0.95
    assert np.mean(metrics.nearest_distance_s(onsets, BEATS_S) <= 0.02) >= 0.9


# ---------------------------------------------------------------- harmony

PROGRESSION = [  # C major, A minor, F major, G major, C major, E minor
    (60, 64, 67),
    (57, 60, 64),
    (53, 57, 60),
    (55, 59, 62),
    (60, 64, 67),
    (52, 55, 59),
]
CHORD_S = 2.5


@pytest.fixture(scope="session")
def chord_track():
    return _chords(PROGRESSION, chord_s=CHORD_S)


def test_harmonic_changes_at_chord_boundaries(chord_track):
    changes = analyse.harmonic_changes(chord_track, SR)
    truth = CHORD_S * np.arange(1, len(PROGRESSION))
    recall = np.mean(metrics.nearest_distance_s(truth, changes) <= 0.15)
    assert recall >= 0.8
    false = np.sum(metrics.nearest_distance_s(changes, truth) > 0.15)
    assert false <= 1
    scores = metrics.chord_at_cut(truth, changes, tol_s=0.15)
    assert scores.recall == recall


def test_a_held_chord_has_no_changes():
    y = _chords([(60, 64, 67)] * 4, chord_s=2.5)
    # the chord is re-struck every 2.5 s (fades) but never changes
    assert analyse.harmonic_changes(y, SR).size == 0


def test_major_sounds_happier_than_minor():
    major = [(60, 64, 67), (65, 69, 72), (67, 71, 74)]  # C F G
    minor = [(60, 63, 67), (65, 68, 72), (67, 70, 74)]  # Cm Fm Gm
    y = _chords(major * 2 + minor * 2, chord_s=2.0)
    n = round(y.size / SR)
    mode = analyse.mode_curve(y, SR, n=n)
    half = n // 2
    # the key context is 4 s: away from the switch, and from the opening hops that hear a
    # lone C triad (which fits A minor's profile as well as C major's)
    assert mode[2 : half - 3].min() > 0 > mode[half + 3 :].max()
    valence = analyse.valence_proxy_curve(y, SR, n=n)
    assert valence[:half].mean() > valence[half:].mean() + 0.5


# ---------------------------------------------------------------- intensity

def _loudness_curve_db(n: int) -> np.ndarray:
    """A rise, a dip and a swell between -34 and -10 dBFS, one value per second."""
    t = np.arange(n)
    return -22 + 12 * np.sin(2 * np.pi * t / n * 1.5) * np.cos(2 * np.pi * t / n * 0.5)


def _tone_following(level_db, *, sr: int = SR) -> np.ndarray:
    n = level_db.size
    t = np.arange(n * sr) / sr
    gain = 10 ** (np.interp(t, np.arange(n) + 0.5, level_db) / 20)
    gain *= np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)  # 10 ms fades: no end clicks
    return (np.sqrt(2) * gain * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


def test_intensity_follows_the_loudness_of_a_tone():
    curve = _loudness_curve_db(30)
    y = _tone_following(curve)
    intensity = analyse.intensity_curve(y, SR, hop_s=1.0, n=curve.size)
    assert metrics.pearson(intensity, curve) > 0.9
    assert metrics.pearson(intensity, curve[::-1]) < -0.5


def test_intensity_counts_onsets_when_loudness_is_steady():
    # plucked notes at a steady level, 1 per second for 10 s then 6 per second
    times = np.concatenate([np.arange(0.25, 10, 1.0), np.arange(10.1, 20, 1 / 6)])
    n = round(0.3 * SR)
    pluck = np.sin(2 * np.pi * 440 * np.arange(n) / SR) * np.exp(-np.arange(n) / (0.05 * SR))
    y = np.zeros(20 * SR)
    for s in times:
        i = round(s * SR)
        y[i : i + n] += pluck[: y[i : i + n].size]
    intensity = analyse.intensity_curve(y.astype(np.float32), SR, hop_s=1.0, n=20)
    assert intensity[11:].min() > intensity[:10].max()


def test_intensity_pads_to_n_hops():
    y = _tone_following(np.full(5, -20.0))
    padded = analyse.intensity_curve(y, SR, hop_s=1.0, n=8)
    assert padded.shape == (8,)
    assert np.all(padded[5:] == padded[4])  # hops past the end hold the last value
    # the note's start is the only onset (hop 0); after it a steady tone is flat
    curve = analyse.intensity_curve(y, SR, hop_s=1.0, n=5)
    assert curve[0] > curve[1:].max() + 0.3
    assert np.ptp(curve[2:]) < 0.05


# ---------------------------------------------------------------- style


def test_style_is_stable_for_one_timbre_and_drifts_on_a_switch():
    rng = np.random.default_rng(1)
    t = np.arange(20 * SR) / SR
    tone = 0.2 * np.sin(2 * np.pi * 440 * t)
    noise = 0.2 * rng.standard_normal(t.size)
    steady = analyse.style_stability(tone.astype(np.float32), SR, window_s=5.0)
    half = t.size // 2
    switch = np.concatenate([tone[:half], noise[half:]]).astype(np.float32)
    switched = analyse.style_stability(switch, SR, window_s=5.0)
    assert steady.max_distance < 0.1 * switched.max_distance
    assert switched.drift_slope > 10 * max(abs(steady.drift_slope), 1e-3)
