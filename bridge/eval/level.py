"""Programme loudness (ITU-R BS.1770 via pyloudnorm) and true peak (4x oversampled, scipy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm
import scipy.signal


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float  # -inf for silence or audio shorter than one 400 ms block
    true_peak_dbtp: float


def _interpolator(oversample: int) -> np.ndarray:
    """Low-pass FIR at the original Nyquist (the design scipy's resample_poly uses)."""
    taps = 2 * 10 * oversample + 1
    return oversample * scipy.signal.firwin(taps, 1.0 / oversample, window=("kaiser", 5.0))


def true_peak_dbtp(y: np.ndarray, *, oversample: int = 4, block: int = 1 << 15) -> float:
    """Peak of the oversampled signal in dB re full scale, over all channels.

    Only blocks that could beat the best peak so far are oversampled: an interpolated
    sample is a weighted sum of input samples, so it cannot exceed the block's sample
    peak times the filter's largest per-phase sum of |taps|. On music that leaves a few
    blocks to oversample instead of the whole file.
    """
    x = np.asarray(y, dtype=np.float32)
    x = x.reshape(x.shape[0], -1)
    if x.size == 0:
        return float("-inf")
    h = _interpolator(oversample)
    gain = max(float(np.abs(h[p::oversample]).sum()) for p in range(oversample))
    pad = h.size // oversample + 1  # input samples of context either side
    # block i is oversampled with `pad` input samples either side; its bound is the sample
    # peak over that whole stretch, which every interpolated value in it depends on
    starts = range(0, x.shape[0], block)
    spans = [(max(0, a - pad), min(x.shape[0], a + block + pad)) for a in starts]
    bound = np.array([np.abs(x[lo:hi]).max() for lo, hi in spans], dtype=np.float64)
    delay = (h.size - 1) // 2  # of the full convolution, in oversampled samples
    peak = float(np.abs(x).max())  # the true peak is never below the sample peak
    for i in np.argsort(bound)[::-1]:
        if bound[i] * gain <= peak:
            break  # sorted: no later block can beat it either
        lo, hi = spans[i]
        up = scipy.signal.upfirdn(h, x[lo:hi], up=oversample, axis=0)
        # keep the block's own samples: at a span's cut edges the filter would see a
        # step to zero that is not in the signal
        a, b = starts[i], min(x.shape[0], starts[i] + block)
        own = up[(a - lo) * oversample + delay : (b - lo) * oversample + delay]
        peak = max(peak, float(np.abs(own).max()))
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def loudness(y_stereo: np.ndarray, sr: int) -> Loudness:
    """Integrated loudness in LUFS (gated, K-weighted) and true peak in dBTP."""
    x = np.asarray(y_stereo, dtype=np.float32)  # float32 halves memory on long files
    meter = pyloudnorm.Meter(sr)
    if x.shape[0] < int(0.4 * sr):
        lufs = float("-inf")
    else:
        lufs = float(meter.integrated_loudness(x))
    return Loudness(integrated_lufs=lufs, true_peak_dbtp=true_peak_dbtp(x))
