"""Where the picture changes: the edit points of the timeline, plus scene changes found
inside long shots (content detection in the manner of PySceneDetect, then localised to
the exact frame).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bridge.errors import BridgeError, MissingMediaError
from bridge.media import frames_between, sample_frames
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Clip, Cut, Edit

DEFAULT_THRESHOLD = 0.35  # histogram distance (0..1) between samples that counts as a cut
ANALYSIS_WIDTH = 96  # px; colour histograms need little resolution
_HUE_BINS, _SAT_BINS, _VAL_BINS, _GREY_BINS = 18, 2, 3, 4
_GREY_SAT = 0.15  # below this saturation hue is noise: such pixels are binned by value only


# ---------------------------------------------------------------- numeric helpers


def hsv_histogram(rgb: np.ndarray) -> np.ndarray:
    """Normalised colour histogram of an (H, W, 3) uint8 RGB image, in HSV bins.

    Saturated pixels fall into hue x saturation x value bins; near-grey pixels into a
    few value-only bins, so that greys do not scatter across random hues. Hue is binned
    softly (each pixel split between its two nearest bin centres, circularly): with hard
    bins two clearly different hues, red and orange say, can share a bin and look equal.
    """
    x = rgb.reshape(-1, 3).astype(np.float32) / 255.0
    mx = x.max(axis=1)
    mn = x.min(axis=1)
    chroma = mx - mn
    sat = np.where(mx > 0, chroma / np.maximum(mx, 1e-6), 0.0)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    safe = np.maximum(chroma, 1e-6)
    hue = np.where(
        mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)
    ) / 6.0  # 0..1
    hue_pos = hue * _HUE_BINS
    h_lo = np.floor(hue_pos).astype(int) % _HUE_BINS
    h_hi = (h_lo + 1) % _HUE_BINS
    w_hi = hue_pos - np.floor(hue_pos)
    s_bin = np.minimum(((sat - _GREY_SAT) / (1 - _GREY_SAT) * _SAT_BINS).astype(int), _SAT_BINS - 1)
    v_bin = np.minimum((mx * _VAL_BINS).astype(int), _VAL_BINS - 1)
    grey_idx = _HUE_BINS * _SAT_BINS * _VAL_BINS + np.minimum(
        (mx * _GREY_BINS).astype(int), _GREY_BINS - 1
    )
    grey = sat < _GREY_SAT
    idx_lo = np.where(grey, grey_idx, (h_lo * _SAT_BINS + s_bin) * _VAL_BINS + v_bin)
    idx_hi = np.where(grey, grey_idx, (h_hi * _SAT_BINS + s_bin) * _VAL_BINS + v_bin)
    w_hi = np.where(grey, 0.0, w_hi)
    n_bins = _HUE_BINS * _SAT_BINS * _VAL_BINS + _GREY_BINS
    hist = np.bincount(idx_lo, weights=1.0 - w_hi, minlength=n_bins)
    hist += np.bincount(idx_hi, weights=w_hi, minlength=n_bins)
    return hist / max(hist.sum(), 1.0)


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance of two normalised histograms: 0 same, 1 disjoint."""
    return float(0.5 * np.abs(a - b).sum())


def successive_distances(hists: Sequence[np.ndarray]) -> np.ndarray:
    """Distance between each histogram and the next (length n - 1)."""
    return np.array([histogram_distance(hists[i], hists[i + 1]) for i in range(len(hists) - 1)])


def change_indices(dist: np.ndarray, *, skip_dist: np.ndarray, threshold: float) -> list[int]:
    """Indices i where item i -> i+1 is a lasting change.

    ``dist[i]`` compares items i and i+1, ``skip_dist[i]`` items i and i+2. A change
    that is undone at once (i+1 unlike both neighbours, the neighbours alike: a flash)
    is not a cut.
    """
    out = []
    for i, d in enumerate(dist):
        if d < threshold:
            continue
        undone = i + 1 < len(dist) and dist[i + 1] >= threshold and skip_dist[i] < threshold
        if undone:
            continue
        if i > 0 and dist[i - 1] >= threshold and skip_dist[i - 1] < threshold:
            continue  # the return from a flash
        out.append(i)
    return out


# ---------------------------------------------------------------- edit points


def edit_cuts(edit: Edit) -> list[Cut]:
    """Every shot boundary strictly inside the timeline, gaps included."""
    half_frame = 0.5 * edit.frame_s
    end = edit.duration_s
    times: list[float] = []
    for shot in edit.shots:
        for t in (shot.record_start_s, shot.record_end_s):
            if half_frame < t < end - half_frame and all(abs(t - u) > half_frame for u in times):
                times.append(t)
    cuts = []
    for t in sorted(times):
        name = next(
            (tr.name for tr in edit.transitions if abs(tr.center_s - t) <= half_frame), None
        )
        cuts.append(Cut(time_s=t, kind="edit", strength=1.0, transition=name))
    return cuts


# ---------------------------------------------------------------- detection in a shot


def _media_range(shot: Clip) -> tuple[float, float]:
    a = shot.media_time(shot.record_start_s)
    b = shot.media_time(shot.record_end_s)
    return (max(0.0, min(a, b)), max(a, b))


def _to_record_frame_s(shot: Clip, media_s: float, rate: float) -> float:
    """Record time of the first timeline frame that shows media time ``media_s``."""
    record_s = shot.record_start_s + (media_s - shot.media_start_s) / shot.speed
    return math.ceil(record_s * rate - 1e-6) / rate


def _localise(shot: Clip, t0: float, t1: float, frame_s: float) -> float | None:
    """Media time of the first frame of the new picture between samples t0 and t1.

    None when the change inside turns out to be a flash that is undone one frame later.
    """
    assert shot.media_path is not None
    frames = frames_between(shot.media_path, t0, t1 + 1.5 * frame_s, width=ANALYSIS_WIDTH)
    if len(frames) < 2:
        return t1
    hists = [hsv_histogram(f.rgb) for f in frames]
    if frames[-1].successor is not None:
        hists.append(hsv_histogram(frames[-1].successor))
    dist = successive_distances(hists)
    k = int(np.argmax(dist[: len(frames) - 1]))  # change from frame k to frame k+1
    if k + 2 < len(hists) and histogram_distance(hists[k], hists[k + 2]) < 0.5 * dist[k]:
        return None
    return frames[k + 1].time_s


def detect_in_shot(
    shot: Clip,
    *,
    rate: float,
    threshold: float,
    rate_hz: float,
    cancel: CancelToken,
) -> list[Cut]:
    """Scene changes inside one shot's media, as record-time cuts."""
    assert shot.media_path is not None
    lo, hi = _media_range(shot)
    samples = sample_frames(
        shot.media_path, lo, hi, rate_hz=rate_hz, width=ANALYSIS_WIDTH,
        with_successor=False, cancel=cancel,
    )
    if len(samples) < 2:
        return []
    hists = [hsv_histogram(s.rgb) for s in samples]
    dist = successive_distances(hists)
    skip = np.array([histogram_distance(hists[i], hists[i + 2]) for i in range(len(hists) - 2)])
    frame_s = 1.0 / rate
    cuts = []
    for i in change_indices(dist, skip_dist=skip, threshold=threshold):
        cancel.raise_if_cancelled()
        media_s = _localise(shot, samples[i].time_s, samples[i + 1].time_s, frame_s)
        if media_s is None:
            continue
        t = _to_record_frame_s(shot, media_s, rate)
        if shot.record_start_s < t < shot.record_end_s:
            cuts.append(Cut(time_s=t, kind="detected", strength=min(1.0, float(dist[i]))))
    return cuts


def find_cuts(
    edit: Edit,
    *,
    detect_inside: bool = True,
    min_shot_s: float = 1.0,
    threshold: float = DEFAULT_THRESHOLD,
    rate_hz: float = 2.0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[Cut, ...]:
    """All picture changes of an edit, sorted by record time.

    Edit points are kind "edit" (strength 1, with the transition's name when a
    transition is centred on them). Inside shots longer than ``2 * min_shot_s`` whose
    media is present, scene changes are detected (kind "detected"); a detected cut
    closer than ``min_shot_s`` to another cut is dropped, and a flash is never a cut.
    """
    cuts = edit_cuts(edit)
    todo = [
        s for s in edit.shots
        if detect_inside and s.media_path is not None and not s.media_missing
        and s.duration_s > 2 * min_shot_s and s.speed != 0
    ]
    total_s = sum(s.duration_s for s in todo) or 1.0
    done_s = 0.0
    progress("cuts", 0.0, f"{len(cuts)} edit points")
    found: list[Cut] = []
    for shot in todo:
        cancel.raise_if_cancelled()
        try:
            found += detect_in_shot(
                shot, rate=float(edit.rate), threshold=threshold, rate_hz=rate_hz, cancel=cancel
            )
        except MissingMediaError:
            pass  # offline media: the edit points still stand
        except BridgeError as err:
            if err.clip is None:
                err.clip = shot.name
            raise
        done_s += shot.duration_s
        progress("cuts", done_s / total_s, f"analysed {shot.name}")
    for cut in sorted(found, key=lambda c: -c.strength):
        if all(abs(cut.time_s - c.time_s) >= min_shot_s for c in cuts):
            cuts.append(cut)
    progress("cuts", 1.0, f"{len(cuts)} cuts")
    return tuple(sorted(cuts, key=lambda c: c.time_s))
