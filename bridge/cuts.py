"""Where the picture changes: the edit points of the timeline, plus scene changes found
inside long shots (content detection in the manner of PySceneDetect, then localised to
the exact frame).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bridge.media import find_change, frames_between, preroll_s
from bridge.picture import ShotPicture, hsv_histogram, observe_picture, record_time
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Clip, Cut, Edit

DEFAULT_THRESHOLD = 0.35  # histogram distance (0..1) between samples that counts as a cut
ANALYSIS_WIDTH = 96  # px; colour histograms need little resolution
# A keyframe more than this many sample intervals before a candidate makes the full scan
# the cheaper way to localise it (see _localise).
LONG_PREROLL = 2.0


# ---------------------------------------------------------------- numeric helpers


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


def _to_record_frame_s(shot: Clip, media_s: float, rate: float) -> float:
    """Record time of the first timeline frame that shows media time ``media_s``."""
    return math.ceil(record_time(shot, media_s) * rate - 1e-6) / rate


def _localise(shot: Clip, t0: float, t1: float, frame_s: float,
              before: np.ndarray, after: np.ndarray) -> float | None:
    """Media time of the first frame of the new picture between samples t0 and t1.

    ``before`` and ``after`` are the samples' histograms. The first frame that looks more
    like ``after`` than ``before`` is found by bisection (few frames converted, decoding
    stops at the change); a clean single-frame change there is the cut. Anything else (a
    flash, a drift, two changes) is settled by the full scan of every frame.
    Where the keyframe before t0 lies far back (a long GOP), decoding up to t0 costs more
    than the scan converts, and a scan after the bisection would pay it twice: the scan
    goes first there.
    None when the change inside turns out to be a flash that is undone one frame later.
    """
    assert shot.media_path is not None
    preroll = preroll_s(shot.media_path, t0)
    if preroll is None or preroll > LONG_PREROLL * (t1 - t0):
        return _localise_by_scan(shot, t0, t1, frame_s)

    def looks_after(rgb: np.ndarray) -> bool:
        h = hsv_histogram(rgb)
        return histogram_distance(h, after) < histogram_distance(h, before)

    change = find_change(shot.media_path, t0, t1 + 1.5 * frame_s, looks_after,
                         width=ANALYSIS_WIDTH)
    if change is not None:
        h_before, h_after = hsv_histogram(change.before.rgb), hsv_histogram(change.after.rgb)
        step = histogram_distance(h_before, h_after)
        undone = change.after_next is not None and histogram_distance(
            h_before, hsv_histogram(change.after_next)) < 0.5 * step
        if step >= 0.5 * histogram_distance(before, after) and not undone:
            return change.after.time_s
    return _localise_by_scan(shot, t0, t1, frame_s)


def _localise_by_scan(shot: Clip, t0: float, t1: float, frame_s: float) -> float | None:
    """``_localise`` by comparing every pair of neighbouring frames: the largest change."""
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
    picture: ShotPicture,
    *,
    rate: float,
    threshold: float,
    cancel: CancelToken,
    keep_clear_of_s: Sequence[float] = (),
    min_gap_s: float = 0.0,
) -> list[Cut]:
    """Scene changes inside one shot's media, as record-time cuts.

    A candidate whose whole sample interval lies within ``min_gap_s`` of a time in
    ``keep_clear_of_s`` (the edit points) would be dropped anyway, so it is not localised:
    localising decodes up to the change.
    """
    shot = picture.shot
    hists = list(picture.histograms)
    times = picture.media_times_s
    record = picture.record_times_s
    if len(hists) < 2:
        return []
    dist = successive_distances(hists)
    skip = np.array([histogram_distance(hists[i], hists[i + 2]) for i in range(len(hists) - 2)])
    frame_s = 1.0 / rate
    clear = np.asarray(keep_clear_of_s, dtype=np.float64)
    cuts = []
    for i in change_indices(dist, skip_dist=skip, threshold=threshold):
        cancel.raise_if_cancelled()
        lo, hi = sorted((record[i], record[i + 1]))
        if clear.size and np.any((clear - min_gap_s <= lo) & (hi <= clear + min_gap_s)):
            continue
        media_s = _localise(shot, times[i], times[i + 1], frame_s, hists[i], hists[i + 1])
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
    picture: Sequence[ShotPicture] | None = None,
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
    edit_points = [c.time_s for c in cuts]
    found: list[Cut] = []
    if detect_inside:
        if picture is None:  # called on its own: run the picture pass here
            picture = observe_picture(edit, rate_hz=rate_hz, progress=progress, cancel=cancel)
        # Shots whose media could not be read keep their edit points; the pass reports them.
        todo = [p for p in picture if len(p) >= 2 and p.shot.speed != 0
                and p.shot.duration_s > 2 * min_shot_s]
        progress("cuts", 0.0, f"{len(cuts)} edit points")
        for k, shot_picture in enumerate(todo):
            cancel.raise_if_cancelled()
            found += detect_in_shot(shot_picture, rate=float(edit.rate), threshold=threshold,
                                    cancel=cancel, keep_clear_of_s=edit_points,
                                    min_gap_s=min_shot_s)
            progress("cuts", (k + 1) / len(todo), f"analysed {shot_picture.shot.name}")
    for cut in sorted(found, key=lambda c: -c.strength):
        if all(abs(cut.time_s - c.time_s) >= min_shot_s for c in cuts):
            cuts.append(cut)
    progress("cuts", 1.0, f"{len(cuts)} cuts")
    return tuple(sorted(cuts, key=lambda c: c.time_s))
