"""Pure numeric quality measures: event matching, correlation, length and end checks.

Nothing here reads audio or imports an audio library; `analyse.py` turns audio into the
event times and curves these functions compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

nan = float("nan")


@dataclass(frozen=True)
class HitRate:
    hits: int
    total: int
    rate: float  # hits / total; nan when no cut qualifies


@dataclass(frozen=True)
class ChordAtCut:
    recall: float  # share of cuts with a harmonic change within tol; nan without cuts
    precision: float  # share of harmonic changes within tol of a cut; nan without changes


@dataclass(frozen=True)
class LengthCheck:
    delta_samples: int  # audio length minus timeline length
    ends_in_last_frame: bool


@dataclass(frozen=True)
class StyleStability:
    max_distance: float  # largest timbre distance between any two windows
    mean_distance: float  # mean over all window pairs
    drift_slope: float  # trend of the distance to the first window, distance units per minute
    # all three nan with fewer than two windows


def _as_times(values) -> np.ndarray:
    return np.sort(np.asarray(values, dtype=np.float64).ravel())


def nearest_distance_s(events_s, reference_s) -> np.ndarray:
    """For each event, the distance in seconds to the nearest reference time (inf if none)."""
    events = np.asarray(events_s, dtype=np.float64).ravel()
    ref = _as_times(reference_s)
    if ref.size == 0:
        return np.full(events.shape, np.inf)
    idx = np.clip(np.searchsorted(ref, events), 1, max(ref.size - 1, 1))
    left = ref[idx - 1]
    right = ref[np.minimum(idx, ref.size - 1)]
    return np.minimum(np.abs(events - left), np.abs(events - right))


def median_period_s(beats_s) -> float:
    """Median inter-beat interval; nan with fewer than two beats."""
    beats = _as_times(beats_s)
    return float(np.median(np.diff(beats))) if beats.size >= 2 else float("nan")


def isolated_cuts(cuts_s, *, min_gap_s: float) -> np.ndarray:
    """Cuts at least `min_gap_s` away from both neighbouring cuts.

    Two cuts closer than a beat cannot both land on beats, so they would only measure
    the tempo, not the alignment.
    """
    cuts = _as_times(cuts_s)
    if cuts.size <= 1:
        return cuts
    gaps = np.diff(cuts)
    before = np.concatenate([[np.inf], gaps])
    after = np.concatenate([gaps, [np.inf]])
    return cuts[(before >= min_gap_s) & (after >= min_gap_s)]


def cut_beat_hit_rate(cuts_s, beats_s, *, tol_s: float, min_gap_s: float | None = None) -> HitRate:
    """Share of (isolated) cuts that have a detected beat within ±tol_s.

    `min_gap_s` defaults to the median beat period of `beats_s`.
    """
    if min_gap_s is None:
        min_gap_s = median_period_s(beats_s)
        if np.isnan(min_gap_s):
            min_gap_s = 0.0
    counted = isolated_cuts(cuts_s, min_gap_s=min_gap_s)
    hits = int(np.sum(nearest_distance_s(counted, beats_s) <= tol_s))
    total = int(counted.size)
    return HitRate(hits=hits, total=total, rate=hits / total if total else float("nan"))


def chord_at_cut(cuts_s, changes_s, *, tol_s: float) -> ChordAtCut:
    """EMSYNC-style: recall = cuts with a harmonic change within ±tol_s; precision the converse."""
    cuts = _as_times(cuts_s)
    changes = _as_times(changes_s)
    recall = (
        float(np.mean(nearest_distance_s(cuts, changes) <= tol_s)) if cuts.size else float("nan")
    )
    precision = (
        float(np.mean(nearest_distance_s(changes, cuts) <= tol_s)) if changes.size else float("nan")
    )
    return ChordAtCut(recall=recall, precision=precision)


def beat_hit_coverage(
    beats_generated, beats_reference, *, tol_s: float = 0.07
) -> tuple[float, float]:
    """(BHS, BCS) after D2M-GAN / LORIS, both in [0, 1].

    BHS = B_a / B_t: reference beats with a generated beat within ±tol_s, over all
    reference beats (LORIS's hit score). BCS: generated beats with a reference beat within
    ±tol_s, over all generated beats. D2M-GAN's BCS is the count ratio B_g / B_t, which
    rewards any beat list of the right length even when no beat matches; this matched
    form is 0 for disjoint lists and still penalises extra beats.
    """
    gen = _as_times(beats_generated)
    ref = _as_times(beats_reference)
    bhs = float(np.mean(nearest_distance_s(ref, gen) <= tol_s)) if ref.size else float("nan")
    bcs = float(np.mean(nearest_distance_s(gen, ref) <= tol_s)) if gen.size else float("nan")
    return bhs, bcs


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Two series as flat float64 arrays of one length (ValueError otherwise)."""
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.size != y.size:
        raise ValueError(f"series lengths differ: {x.size} vs {y.size}")
    return x, y


def pearson(a, b) -> float:
    """Pearson correlation; nan when either series is constant or shorter than 2."""
    x, y = _paired(a, b)
    if x.size < 2:
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    denom = np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.sum(x * y) / denom) if denom > 0 else float("nan")


def ccc(a, b) -> float:
    """Lin's concordance correlation on the series as given (raw values, population moments).

    CCC = 2 cov / (var_a + var_b + (mean_a - mean_b)^2). It equals Pearson r when both
    series are plainly z-scored, so `evaluate` compares the target z-scored against the
    music's floor-standardised intensity (`standardise`): there CCC falls below r when the
    music follows the shape only by an imperceptible amount.
    """
    x, y = _paired(a, b)
    if x.size < 2:
        return float("nan")
    cov = np.mean((x - x.mean()) * (y - y.mean()))
    denom = x.var() + y.var() + (x.mean() - y.mean()) ** 2
    return float(2 * cov / denom) if denom > 0 else float("nan")


def standardise(x, *, min_std: float = 0.0) -> np.ndarray:
    """(x - mean) / max(std, min_std).

    The floor is a just-noticeable change in x's own units: a series that varies less
    than that stays near zero instead of being blown up to unit variance.
    """
    v = np.asarray(x, dtype=np.float64)
    scale = max(float(v.std()), min_std)
    if scale <= 0:
        return np.zeros_like(v)
    return (v - v.mean()) / scale


def rms_db(x, *, floor_db: float = -120.0) -> float:
    """RMS level of a block in dB re full scale (1.0); `floor_db` for silence or empty blocks."""
    v = np.asarray(x, dtype=np.float64)
    if v.size == 0:
        return floor_db
    power = float(np.mean(v * v))
    return max(10 * np.log10(power), floor_db) if power > 0 else floor_db


def length_check(
    n_samples: int,
    sr: int,
    *,
    expected_samples: int,
    frame_s: float,
    y_tail,
    end_window_s: float = 0.005,
    silence_db: float = -50.0,
    min_drop_db: float = 20.0,
) -> LengthCheck:
    """Length error in samples and whether the music's release falls inside the last frame.

    `y_tail` is the last part of the audio (mono, at `sr`, at least two frames long).
    The rule: the frame before the last frame is sounding (RMS above `silence_db` dBFS,
    so the music did not stop early) AND the last `end_window_s` is at least
    `min_drop_db` below that frame (a release, not a hard cut-off) AND the audio is
    within one frame of the timeline's length (otherwise "the last frame" is elsewhere).
    """
    tail = np.asarray(y_tail, dtype=np.float64).ravel()
    frame_n = max(1, round(frame_s * sr))
    end_n = max(1, round(end_window_s * sr))
    delta = int(n_samples) - int(expected_samples)
    if tail.size < 2 * frame_n:
        raise ValueError(f"y_tail needs at least two frames ({2 * frame_n} samples)")
    before_db = rms_db(tail[-2 * frame_n : -frame_n])
    end_db = rms_db(tail[-end_n:])
    ends = (
        abs(delta) < frame_n and before_db > silence_db and end_db <= before_db - min_drop_db
    )
    return LengthCheck(delta_samples=delta, ends_in_last_frame=bool(ends))


def style_stability_from_windows(window_means, *, window_s: float) -> StyleStability:
    """Timbre stability from one feature vector per window (rows), Euclidean distances.

    The drift slope is the least-squares trend of the distance to the first window, in
    distance units per minute, so a slow walk away from the opening timbre shows even
    when neighbouring windows look alike.
    """
    m = np.asarray(window_means, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2:  # one window has nothing to be compared with
        return StyleStability(max_distance=nan, mean_distance=nan, drift_slope=nan)
    d = np.sqrt(np.sum((m[:, None, :] - m[None, :, :]) ** 2, axis=-1))
    upper = d[np.triu_indices(m.shape[0], k=1)]
    t_min = np.arange(m.shape[0]) * window_s / 60.0
    slope = float(np.polyfit(t_min, d[0], 1)[0])
    return StyleStability(
        max_distance=float(upper.max()), mean_distance=float(upper.mean()), drift_slope=slope
    )


def frames_to_hops(values, *, frame_times_s, hop_s: float, n: int) -> np.ndarray:
    """Mean of a frame-rate series per hop; hop i covers [i*hop_s, (i+1)*hop_s), n hops.

    Hops without frames (audio shorter than n*hop_s) are filled from their neighbours
    (linear between, held at the ends) rather than left empty.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    idx = np.floor(np.asarray(frame_times_s, dtype=np.float64).ravel() / hop_s).astype(np.int64)
    keep = (idx >= 0) & (idx < n)
    sums = np.bincount(idx[keep], weights=v[keep], minlength=n)
    counts = np.bincount(idx[keep], minlength=n)
    valid = np.flatnonzero(counts)
    if valid.size == 0:
        return np.zeros(n)
    means = sums[valid] / counts[valid]
    return np.interp(np.arange(n), valid, means)


def events_per_hop(events_s, *, hop_s: float, n: int) -> np.ndarray:
    """Event rate (per second) around each hop centre (i + 0.5) * hop_s, n hops.

    Each event is counted with a triangular weight that falls from 1 at the hop centre
    to 0 one hop away, so a regular pulse whose period divides the hop gets the same
    count whatever its phase; hard hop edges would count 1 or 3 beats of a 2-per-hop
    pulse depending on a few ms of jitter.
    """
    t = np.asarray(events_s, dtype=np.float64).ravel()
    centres = (np.arange(n) + 0.5) * hop_s
    weights = np.clip(1.0 - np.abs(t[None, :] - centres[:, None]) / hop_s, 0.0, None)
    return weights.sum(axis=1) / hop_s


def cut_f1(found_s, truth_s, *, tol_s: float) -> dict:
    """Precision, recall and F1 of found cut times against true ones: one-to-one matches
    within ``tol_s``, closest pairs first (both empty: 1.0)."""
    pairs = sorted((abs(f - t), i, j) for i, f in enumerate(found_s)
                   for j, t in enumerate(truth_s) if abs(f - t) <= tol_s)
    used_f, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    tp = len(used_f)
    precision = tp / len(found_s) if found_s else 1.0
    recall = tp / len(truth_s) if truth_s else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "found": len(found_s), "truth": len(truth_s), "precision": precision,
            "recall": recall, "f1": f1}
