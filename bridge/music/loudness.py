"""Streaming loudness (ITU-R BS.1770-4), true peak and a look-ahead peak limiter.

``LevelMeter`` takes audio block by block and keeps only per-chunk numbers (a chunk is
about 2 ms): the K-weighted energy summed over channels and the 4x-oversampled absolute
peak. An hour at 48 kHz is 1.8 M chunks, about 30 MB, while the audio itself would be
1.4 GB, so the renderer can measure in pass 1 and plan its gain before writing anything.
Gated loudness is computed from the chunk energies (100 ms hops, 400 ms blocks with 75 %
overlap, -70 LUFS absolute and -10 LU relative gates), optionally with a per-chunk gain,
which is how the gain plan predicts the loudness after limiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
OVERSAMPLE = 4
_TAPS_PER_PHASE = 24
_SLICE_N = 1 << 16  # samples the meter processes at a time


def k_weighting_sos(*, sr: int) -> np.ndarray:
    """BS.1770 K-weighting (high-shelf "head" filter, then RLB high-pass) as two biquads.

    Both are bilinear transforms of analog prototypes whose parameters reproduce the
    standard's 48 kHz coefficients, so other sample rates get the same curve.
    """
    # stage 1: high shelf, +4 dB above ~1.7 kHz
    k = math.tan(math.pi * 1681.974450955533 / sr)
    q = 0.7071752369554196
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
        1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0,
    ]  # fmt: skip
    # stage 2: second-order high-pass at ~38 Hz
    k = math.tan(math.pi * 38.13547087602444 / sr)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def oversampling_fir(
    *, factor: int = OVERSAMPLE, taps_per_phase: int = _TAPS_PER_PHASE
) -> np.ndarray:
    """Interpolation low-pass for true-peak metering, gain ``factor`` (zero-stuffing loses it)."""
    from scipy import signal

    return signal.firwin(factor * taps_per_phase, 1.0 / factor, window=("kaiser", 7.0)) * factor


def chunk_size_for(*, sr: int) -> int:
    """Samples per meter chunk: a divisor of the 100 ms hop close to 2 ms (and >= 16)."""
    hop_n = round(sr * 0.1)
    want = max(16.0, sr * 0.002)
    divisors = [d for d in range(16, hop_n + 1) if hop_n % d == 0] or [hop_n]
    return min(divisors, key=lambda d: abs(d - want))


@dataclass(frozen=True, eq=False)
class LevelStats:
    """Per-chunk measurements of a whole signal."""

    sr: int
    chunk_n: int
    n_samples: int
    energy: np.ndarray  # K-weighted sum of squares over samples and channels, per chunk
    peak: np.ndarray  # 4x-oversampled |x| maximum over channels, per chunk

    def integrated_lufs(self, gain: np.ndarray | float = 1.0) -> float:
        """Gated integrated loudness, after multiplying chunk c by ``gain[c]`` (linear)."""
        return gated_loudness(
            energy=self.energy * np.square(gain), chunk_n=self.chunk_n, sr=self.sr,
            n_samples=self.n_samples,
        )  # fmt: skip

    def true_peak_dbtp(self) -> float:
        top = float(self.peak.max()) if len(self.peak) else 0.0
        return 20 * math.log10(top) if top > 0 else -math.inf


def gated_loudness(*, energy: np.ndarray, chunk_n: int, sr: int, n_samples: int) -> float:
    """BS.1770-4 integrated loudness (LUFS) from per-chunk K-weighted energies.

    Only complete 400 ms blocks count; -inf when nothing passes the absolute gate.
    """
    hop_n = round(sr * 0.1)
    hop_chunks = hop_n // chunk_n
    n_hops = n_samples // hop_n
    if n_hops < 4:
        return -math.inf
    hops = energy[: n_hops * hop_chunks].reshape(n_hops, hop_chunks).sum(axis=1, dtype=np.float64)
    block_ms = np.convolve(hops, np.ones(4), mode="valid") / (4 * hop_n)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10 * np.log10(block_ms)
    above_abs = block_lufs >= ABSOLUTE_GATE_LUFS
    if not above_abs.any():
        return -math.inf
    relative_gate = -0.691 + 10 * math.log10(block_ms[above_abs].mean()) + RELATIVE_GATE_LU
    gated = above_abs & (block_lufs > relative_gate)
    return -0.691 + 10 * math.log10(block_ms[gated].mean())


class LevelMeter:
    """Feed (n, channels) float blocks in order; ``finish()`` returns the ``LevelStats``.

    The K-weighting filters and the oversampler carry their state across blocks, so the
    result does not depend on how the signal was cut into blocks.
    """

    def __init__(self, *, sr: int, channels: int = 2, chunk_n: int | None = None,
                 true_peak: bool = True) -> None:
        # scipy is imported where the meter is made, not with the module: the pipeline loads
        # the music stage for every `analyze`, which never meters (scipy: ~0.4 s to import)
        from scipy import signal

        self._sosfilt, self._upfirdn = signal.sosfilt, signal.upfirdn
        self.sr = sr
        self.true_peak = true_peak  # False: loudness only (the 4x oversampler is most of the cost)
        self.chunk_n = chunk_n or chunk_size_for(sr=sr)
        self._sos = k_weighting_sos(sr=sr)
        self._zi = np.zeros((self._sos.shape[0], 2, channels))
        self._fir = oversampling_fir()
        self._fir32 = self._fir.astype(np.float32)
        self._history = np.zeros((math.ceil(len(self._fir) / OVERSAMPLE), channels))
        self._energy_parts: list[np.ndarray] = []
        self._peak_parts: list[np.ndarray] = []
        self._sq_rest = np.zeros(0)
        # drop the interpolator's group delay once, so peaks land in their own chunk
        self._peak_skip = (len(self._fir) - 1) // 2
        self._peak_rest = np.zeros(0)
        self._n = 0

    def add(self, block: np.ndarray) -> None:
        block = np.asarray(block)
        if block.ndim == 1:
            block = block[:, None]
        # in slices: the 4x-oversampled float64 temporaries of a 10 s block would be ~100 MB
        for start in range(0, len(block), _SLICE_N):
            self._add_slice(block[start : start + _SLICE_N].astype(np.float64))

    def _add_slice(self, block: np.ndarray) -> None:
        self._n += len(block)
        weighted, self._zi = self._sosfilt(self._sos, block, axis=0, zi=self._zi)
        self._sq_rest = self._take_chunks(
            np.concatenate([self._sq_rest, _across_channels(np.square(weighted), np.add)]),
            self.chunk_n, np.sum, self._energy_parts,
        )  # fmt: skip
        if not self.true_peak:
            return
        upsampled = self._oversampled_abs(block)
        skip = min(self._peak_skip, len(upsampled))
        self._peak_skip -= skip
        self._peak_rest = self._take_chunks(
            np.concatenate([self._peak_rest, upsampled[skip:]]),
            self.chunk_n * OVERSAMPLE, np.max, self._peak_parts,
        )  # fmt: skip

    def finish(self) -> LevelStats:
        # flush the interpolator with zeros so the last samples' peaks are counted too
        tail = (self._oversampled_abs(np.zeros_like(self._history)) if self.true_peak
                else np.zeros(0))
        peak_rest = self._take_chunks(
            np.concatenate([self._peak_rest, tail]), self.chunk_n * OVERSAMPLE, np.max,
            self._peak_parts,
        )  # fmt: skip
        peaks = [
            *self._peak_parts,
            np.array([peak_rest.max()] if len(peak_rest) else [], np.float32),
        ]
        energies = [
            *self._energy_parts,
            np.array([self._sq_rest.sum()] if len(self._sq_rest) else [], np.float32),
        ]
        peak = np.concatenate(peaks)
        n_chunks = math.ceil(self._n / self.chunk_n)
        if not self.true_peak:
            peak = np.full(n_chunks, np.nan, np.float32)  # not measured
        if len(peak) > n_chunks:  # what the flush produced belongs to the final chunk
            peak[n_chunks - 1] = peak[n_chunks - 1 :].max()
            peak = peak[:n_chunks]
        return LevelStats(self.sr, self.chunk_n, self._n, np.concatenate(energies), peak)

    def _oversampled_abs(self, block: np.ndarray) -> np.ndarray:
        """|4x interpolated signal| maxed over channels, for this block's samples only."""
        extended = np.concatenate([self._history, block])
        # float32: 1.6x faster, and a peak's level is good to 1e-6 dB, far below any ceiling
        up = self._upfirdn(self._fir32, extended.astype(np.float32), up=OVERSAMPLE, axis=0)
        start = len(self._history) * OVERSAMPLE
        self._history = extended[len(extended) - len(self._history) :]
        return _across_channels(np.abs(up[start : start + len(block) * OVERSAMPLE]), np.maximum)

    @staticmethod
    def _take_chunks(values: np.ndarray, size: int, reduce, parts: list) -> np.ndarray:
        whole = len(values) // size * size
        if whole:  # float32 per chunk: an hour of 2 ms chunks is 7 MB per array
            parts.append(reduce(values[:whole].reshape(-1, size), axis=1).astype(np.float32))
        return values[whole:]


def _across_channels(x: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """Combine the columns of (n, channels); numpy's axis=1 reductions over 2 columns are
    ~20x slower than one elementwise ufunc per column."""
    out = x[:, 0].copy()
    for c in range(1, x.shape[1]):
        ufunc(out, x[:, c], out=out)
    return out


def measure(x: np.ndarray, *, sr: int, block_n: int = 1 << 18) -> LevelStats:
    """Run ``LevelMeter`` over an in-memory signal (tests, short clips)."""
    meter = LevelMeter(sr=sr, channels=1 if x.ndim == 1 else x.shape[1])
    for start in range(0, len(x), block_n):
        meter.add(x[start : start + block_n])
    return meter.finish()


# ---------------------------------------------------------------- gain plan and limiter


def limiter_gain(
    *, peak: np.ndarray, ceiling_lin: float, lookahead_chunks: int, release_db_per_chunk: float
) -> np.ndarray:
    """Per-chunk gain (<= 1) that keeps ``peak * gain`` under the ceiling, smoothly.

    ``need`` is the gain each chunk requires. A trailing minimum over the look-ahead window,
    a linear-in-dB release, then a forward moving average over the same window gives a
    curve that ramps down before a peak and is never above ``need`` anywhere: every value
    averaged for chunk c is a minimum over a window that contains c. ``need`` is first
    taken as the minimum with its neighbours so that linear interpolation between chunk
    centres (and the oversampler's few-sample delay) stays under the ceiling too.
    """
    w = max(1, lookahead_chunks)
    one = np.ones(1)
    need = np.minimum(1.0, ceiling_lin / np.maximum(peak.astype(np.float64), 1e-30))
    need = np.concatenate([one, need, np.ones(w), one])  # w: room for the forward average
    need = np.minimum(np.minimum(need[:-2], need[1:-1]), need[2:])
    hold = need.copy()
    for lag in range(1, w):  # trailing minimum over w chunks
        np.minimum(hold[lag:], need[:-lag], out=hold[lag:])
    del need
    # in place from here on: an hour is 1.8 M chunks, 14 MB per array
    hold_db = np.log10(hold, out=hold)
    hold_db *= 20
    ramp = release_db_per_chunk * np.arange(len(hold_db))
    released = hold_db - ramp
    np.minimum.accumulate(released, out=released)
    released += ramp
    del ramp
    np.minimum(released, hold_db, out=released)  # equal in exact arithmetic; rounding aside
    np.minimum(released, 0.0, out=released)
    released /= 20
    released = np.power(10.0, released, out=released)
    smoothed = np.convolve(released, np.full(w, 1 / w), mode="valid")
    return smoothed[: len(peak)]


@dataclass(frozen=True, eq=False)
class GainPlan:
    gain_db: float  # the static normalisation gain
    chunk_gain: np.ndarray  # limiter gain per chunk (<= 1), to multiply on top
    predicted_lufs: float


def plan_gain(
    stats: LevelStats,
    *,
    target_lufs: float,
    true_peak_dbtp: float,
    margin_db: float = 0.3,
    lookahead_s: float = 0.005,
    release_db_per_s: float = 60.0,
    max_gain_db: float = 40.0,
    fixed_gain_db: float | None = None,
) -> GainPlan:
    """Static gain to reach ``target_lufs`` plus the limiter curve that holds the ceiling.

    Limiting lowers loudness, so when the limiter acts the static gain is raised until the
    predicted loudness (chunk energies x the gain curve) meets the target: loudness grows
    monotonically with gain, so a bracketed root search (Brent) finds it in a few rounds.
    A signal whose peaks carry its loudness may not reach the target below
    ``max_gain_db``; then the ceiling wins and ``predicted_lufs`` says how far it got.
    ``margin_db`` keeps the internal ceiling under ``true_peak_dbtp`` to absorb 24-bit
    rounding and differences between true-peak meters. ``fixed_gain_db`` skips the search:
    that static gain, and the limiter curve that holds the ceiling under it.
    """
    measured = stats.integrated_lufs()
    if not math.isfinite(measured) and fixed_gain_db is None:
        return GainPlan(0.0, np.ones(len(stats.peak)), measured)
    chunk_s = stats.chunk_n / stats.sr
    ceiling = 10 ** ((true_peak_dbtp - margin_db) / 20)

    def attempt(gain_db: float) -> tuple[float, np.ndarray]:
        g = 10 ** (gain_db / 20)
        curve = limiter_gain(
            peak=stats.peak * g,
            ceiling_lin=ceiling,
            lookahead_chunks=math.ceil(lookahead_s / chunk_s),
            release_db_per_chunk=release_db_per_s * chunk_s,
        )
        return stats.integrated_lufs(g * curve), curve

    if fixed_gain_db is not None:  # a re-rendered stretch keeps its version's gain
        predicted, curve = attempt(fixed_gain_db)
        return GainPlan(fixed_gain_db, curve, predicted)
    low = min(target_lufs - measured, max_gain_db)
    predicted, curve = attempt(low)
    if predicted >= target_lufs - 0.02 or low >= max_gain_db:
        return GainPlan(low, curve, predicted)
    reached, _ = attempt(max_gain_db)
    if reached <= target_lufs:
        gain_db = max_gain_db
    else:
        from scipy import optimize

        gain_db = optimize.brentq(
            lambda g: attempt(g)[0] - target_lufs, low, max_gain_db, xtol=0.005
        )
    predicted, curve = attempt(gain_db)
    return GainPlan(gain_db, curve, predicted)


def chunk_gain_block(
    chunk_gain: np.ndarray, *, start_sample: int, n: int, chunk_n: int
) -> np.ndarray:
    """Per-sample gain for samples [start, start+n): linear between chunk centres."""
    first = max(0, start_sample // chunk_n - 1)
    last = min(len(chunk_gain), (start_sample + n) // chunk_n + 2)
    centres = (np.arange(first, last) + 0.5) * chunk_n - 0.5
    samples = np.arange(start_sample, start_sample + n)
    return np.interp(samples, centres, chunk_gain[first:last])
