"""Per-hop picture, sound and rhythm features: pure numpy, no I/O.

The per-frame measures (brightness, saturation, colourfulness, warmth, darkness, motion)
live in ``bridge.analysis.picture`` with the decode pass that takes them. Hop features take values
already placed in record time and return one value per hop of ``hop_s`` seconds (hop ``i``
covers ``[i*hop_s, (i+1)*hop_s)``). Where nothing was observed the answer is NaN (unknown),
never 0. Loudness is RMS dBFS.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

SILENCE_DB = -100.0  # floor for the loudness of digital silence


# ---------------------------------------------------------------- placing values in hops


def n_hops_for(*, duration_s: float, hop_s: float) -> int:
    """Number of hops that cover a duration (the last one may be partial)."""
    return max(1, int(np.ceil(duration_s / hop_s - 1e-9)))


def hop_index(times_s: np.ndarray, *, hop_s: float, n_hops: int) -> np.ndarray:
    """Hop of each record time; -1 for times outside ``[0, n_hops*hop_s)``."""
    idx = np.floor(np.asarray(times_s, dtype=np.float64) / hop_s).astype(np.int64)
    idx[(idx < 0) | (idx >= n_hops)] = -1
    return idx


def per_hop_mean(times_s: np.ndarray, values: np.ndarray, *, hop_s: float,
                 n_hops: int) -> np.ndarray:
    """Mean of the values that fall in each hop; NaN where none do."""
    idx = hop_index(times_s, hop_s=hop_s, n_hops=n_hops)
    ok = (idx >= 0) & np.isfinite(values)
    total = np.bincount(idx[ok], weights=np.asarray(values)[ok], minlength=n_hops)
    count = np.bincount(idx[ok], minlength=n_hops)
    out = np.full(n_hops, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def per_hop_spread(times_s: np.ndarray, values: np.ndarray, *, hop_s: float,
                   n_hops: int) -> np.ndarray:
    """Standard deviation of the values in each hop; 0 for one value, NaN for none."""
    mean = per_hop_mean(times_s, values, hop_s=hop_s, n_hops=n_hops)
    idx = hop_index(times_s, hop_s=hop_s, n_hops=n_hops)
    ok = (idx >= 0) & np.isfinite(values)
    dev = (np.asarray(values)[ok] - mean[idx[ok]]) ** 2
    var = per_hop_mean(np.asarray(times_s)[ok], dev, hop_s=hop_s, n_hops=n_hops)
    return np.sqrt(var)


def interval_coverage(intervals_s: list[tuple[float, float]], *, hop_s: float,
                      n_hops: int) -> np.ndarray:
    """Fraction 0..1 of each hop covered by the union of ``(start_s, end_s)`` intervals."""
    cover = np.zeros(n_hops)
    edges = np.arange(n_hops + 1) * hop_s
    for start_s, end_s in _union(intervals_s):
        overlap = np.minimum(edges[1:], end_s) - np.maximum(edges[:-1], start_s)
        cover += np.clip(overlap, 0.0, None)
    return np.clip(cover / hop_s, 0.0, 1.0)


def _union(intervals_s: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start_s, end_s in sorted(i for i in intervals_s if i[1] > i[0]):
        if merged and start_s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end_s))
        else:
            merged.append((start_s, end_s))
    return merged


# ---------------------------------------------------------------- cut rhythm


def cut_density(cut_times_s: np.ndarray, *, hop_s: float, n_hops: int,
                window_s: float = 6.0) -> np.ndarray:
    """Cuts per second in a window of ``window_s`` centred on each hop's centre."""
    cuts = np.sort(np.asarray(cut_times_s, dtype=np.float64))
    centres = (np.arange(n_hops) + 0.5) * hop_s
    lo = np.searchsorted(cuts, centres - 0.5 * window_s, side="left")
    hi = np.searchsorted(cuts, centres + 0.5 * window_s, side="left")
    return (hi - lo) / window_s


def time_since_cut(cut_times_s: np.ndarray, *, hop_s: float, n_hops: int) -> np.ndarray:
    """Seconds from the last cut (or the timeline start) to each hop's centre."""
    cuts = np.concatenate([[0.0], np.sort(np.asarray(cut_times_s, dtype=np.float64))])
    centres = (np.arange(n_hops) + 0.5) * hop_s
    prev = cuts[np.searchsorted(cuts, centres, side="right") - 1]
    return centres - prev


def time_until_cut(cut_times_s: np.ndarray, *, hop_s: float, n_hops: int,
                   duration_s: float) -> np.ndarray:
    """Seconds from each hop's centre to the next cut (or the timeline end)."""
    cuts = np.concatenate([np.sort(np.asarray(cut_times_s, dtype=np.float64)), [duration_s]])
    centres = (np.arange(n_hops) + 0.5) * hop_s
    nxt = cuts[np.minimum(np.searchsorted(cuts, centres, side="right"), len(cuts) - 1)]
    return np.maximum(nxt - centres, 0.0)


# ---------------------------------------------------------------- sound


def frame_power(samples: np.ndarray, *, sr: int, frame_s: float = 0.05
                ) -> tuple[np.ndarray, np.ndarray]:
    """Mean square per frame of ``frame_s``; returns (frame centre times_s, power)."""
    n = max(1, round(frame_s * sr))
    count = len(samples) // n
    if count == 0:
        return np.zeros(0), np.zeros(0)
    blocks = np.asarray(samples[: count * n], dtype=np.float64).reshape(count, n)
    power = (blocks**2).mean(axis=1)
    times_s = (np.arange(count) + 0.5) * n / sr
    return times_s, power


def power_db(power: np.ndarray) -> np.ndarray:
    """Mean square to RMS dBFS (a full-scale sine is -3 dBFS); NaN stays NaN."""
    floor = 10 ** (SILENCE_DB / 10)
    with np.errstate(invalid="ignore"):
        return 10 * np.log10(np.maximum(power, floor))


# ---------------------------------------------------------------- the table


@dataclass(frozen=True, eq=False)
class FeatureTable:
    """Every feature per hop of record time; NaN where unknown.

    ``picture`` is the fraction of each hop whose picture was observed (0 where media were
    missing or undecodable); the picture features are NaN where it is 0. ``loudness_db`` is
    NaN where no readable audio clip plays.
    """

    hop_s: float
    duration_s: float
    picture: np.ndarray
    motion: np.ndarray
    motion_spread: np.ndarray
    brightness: np.ndarray
    saturation: np.ndarray
    colourfulness: np.ndarray
    warmth: np.ndarray
    dark_share: np.ndarray
    loudness_db: np.ndarray
    cut_density: np.ndarray  # cuts per second in a centred window
    since_cut_s: np.ndarray
    until_cut_s: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.picture)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and len(value) != n:
                raise ValueError(f"feature {f.name!r} has {len(value)} hops, expected {n}")

    def __len__(self) -> int:
        return len(self.picture)
