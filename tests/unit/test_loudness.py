"""Streaming BS.1770 loudness, true peak and the limiter, checked against independent tools.

pyloudnorm is the loudness reference; scipy's resample_poly (4x) is the true-peak reference.
pyloudnorm's K-weighting uses rounded shelf parameters (1500 Hz, 4 dB), which puts it about
0.04 LU from the standard's filter, so agreement within 0.1 LU is the honest bound.
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from bridge.music.loudness import (
    LevelMeter,
    chunk_gain_block,
    k_weighting_sos,
    limiter_gain,
    measure,
    plan_gain,
)


def true_peak_reference(x: np.ndarray) -> float:
    return 20 * math.log10(np.abs(signal.resample_poly(x, 4, 1, axis=0)).max())


def signals(sr: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(int(sr * 6.37)) / sr
    on_off = (np.sin(2 * np.pi * 0.4 * t) > 0)[:, None]
    return {
        "noise": rng.normal(0, 0.1, (len(t), 2)),
        "tones": np.stack([0.3 * np.sin(2 * np.pi * 997 * t), 0.2 * np.sin(2 * np.pi * 60 * t)], 1),
        # loud halves and near-silent halves: exercises both gates
        "gated": rng.normal(0, 0.1, (len(t), 2)) * on_off + rng.normal(0, 1e-3, (len(t), 2)),
    }


def test_k_weighting_matches_the_standard_48k_coefficients():
    sos = k_weighting_sos(sr=48_000)
    # ITU-R BS.1770-4, tables 1 and 2
    np.testing.assert_allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285])
    np.testing.assert_allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585])
    np.testing.assert_allclose(sos[1, :3], [1.0, -2.0, 1.0])
    np.testing.assert_allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621])


@pytest.mark.parametrize("sr", [48_000, 44_100])
@pytest.mark.parametrize("name", ["noise", "tones", "gated"])
def test_streaming_lufs_matches_pyloudnorm(sr, name):
    x = signals(sr)[name]
    ours = measure(x, sr=sr, block_n=12_345).integrated_lufs()  # odd blocks: state must carry
    reference = pyloudnorm.Meter(sr).integrated_loudness(x)
    assert abs(ours - reference) < 0.1


def test_measurement_does_not_depend_on_block_size():
    x = signals(48_000)["gated"]
    one = measure(x, sr=48_000, block_n=len(x))
    many = measure(x, sr=48_000, block_n=977)
    assert one.integrated_lufs() == pytest.approx(many.integrated_lufs(), abs=1e-9)
    np.testing.assert_allclose(one.peak, many.peak, rtol=1e-9)


def test_mono_and_silence():
    sr = 48_000
    tone = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(sr * 3) / sr)
    assert measure(tone, sr=sr).integrated_lufs() == pytest.approx(
        pyloudnorm.Meter(sr).integrated_loudness(tone), abs=0.1
    )
    silent = measure(np.zeros((sr * 2, 2)), sr=sr)
    assert silent.integrated_lufs() == -math.inf
    assert silent.true_peak_dbtp() == -math.inf


def test_true_peak_finds_intersample_peaks():
    sr = 48_000
    # a tone at fs/4 sampled 45 degrees off its crests: samples read 0.707, the wave peaks at 1
    t = np.arange(sr) / sr
    x = np.sin(2 * np.pi * (sr / 4) * t + np.pi / 4) * 0.5
    x = np.stack([x, x], axis=1)
    sample_peak = 20 * math.log10(np.abs(x).max())
    ours = measure(x, sr=sr).true_peak_dbtp()
    assert sample_peak == pytest.approx(20 * math.log10(0.5 * math.sqrt(0.5)), abs=0.01)
    assert ours == pytest.approx(20 * math.log10(0.5), abs=0.2)
    band_limited = signal.sosfilt(
        signal.butter(4, 8000, fs=sr, output="sos"), signals(sr)["noise"], axis=0
    )
    assert measure(band_limited, sr=sr).true_peak_dbtp() == pytest.approx(
        true_peak_reference(band_limited), abs=0.1
    )


def test_limiter_curve_never_exceeds_what_each_chunk_needs():
    rng = np.random.default_rng(3)
    peak = np.abs(rng.normal(0, 1, 5000)) ** 3
    curve = limiter_gain(peak=peak, ceiling_lin=1.0, lookahead_chunks=3, release_db_per_chunk=0.1)
    need = np.minimum(1, 1 / peak)
    assert np.all(curve <= need + 1e-12)
    assert np.all(curve > 0) and curve.max() <= 1.0
    # smooth: it never jumps by more than one look-ahead step of the deepest need
    assert np.abs(np.diff(20 * np.log10(curve))).max() < 20 * math.log10(need.min()) * -1


def clicks_on_a_bed(*, sr: int, bed_rms: float, seconds: int = 8) -> np.ndarray:
    rng = np.random.default_rng(11)
    n = sr * seconds
    x = rng.normal(0, bed_rms, (n, 2))
    for start in range(sr // 2, n - 2000, sr // 2):  # 8 ms noise clicks peaking near 0 dBFS
        x[start : start + 400] += rng.normal(0, 0.3, (400, 2)) * np.hanning(400)[:, None]
    return x


def apply_plan(x: np.ndarray, *, sr: int, target_lufs: float):
    stats = measure(x, sr=sr)
    plan = plan_gain(stats, target_lufs=target_lufs, true_peak_dbtp=-1.0)
    gain = 10 ** (plan.gain_db / 20) * chunk_gain_block(
        plan.chunk_gain, start_sample=0, n=len(x), chunk_n=stats.chunk_n
    )
    return plan, x * gain[:, None]


def test_gain_plan_reaches_target_and_holds_the_ceiling_when_limiting():
    sr = 48_000
    x = clicks_on_a_bed(sr=sr, bed_rms=0.02)
    plan, y = apply_plan(x, sr=sr, target_lufs=-16.0)
    assert 20 * math.log10(plan.chunk_gain.min()) < -6  # the limiter did real work
    assert pyloudnorm.Meter(sr).integrated_loudness(y) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_reference(y) <= -1.0
    assert abs(y).max() < 1.0


def test_gain_plan_keeps_the_ceiling_when_peaks_carry_the_loudness():
    # loudness made of clicks: -16 LUFS at -1 dBTP is out of reach, the ceiling must still hold
    sr = 48_000
    plan, y = apply_plan(clicks_on_a_bed(sr=sr, bed_rms=0.003), sr=sr, target_lufs=-16.0)
    assert true_peak_reference(y) <= -1.0
    assert pyloudnorm.Meter(sr).integrated_loudness(y) < -16.5
    assert measure(y, sr=sr).integrated_lufs() == pytest.approx(plan.predicted_lufs, abs=0.3)


def test_chunk_gain_block_is_continuous_across_blocks():
    curve = np.linspace(1.0, 0.2, 300)
    whole = chunk_gain_block(curve, start_sample=0, n=300 * 96, chunk_n=96)
    parts = np.concatenate(
        [
            chunk_gain_block(curve, start_sample=s, n=1000, chunk_n=96)
            for s in range(0, 28_800, 1000)
        ]
    )
    np.testing.assert_allclose(parts[: len(whole)], whole)


def test_meter_accepts_partial_final_chunk():
    meter = LevelMeter(sr=48_000)
    meter.add(np.full((1000, 2), 0.1))
    stats = meter.finish()
    assert len(stats.peak) == math.ceil(1000 / stats.chunk_n) == len(stats.energy)
