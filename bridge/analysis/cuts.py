"""Where the picture changes: the edit points of the timeline, plus scene changes found
inside long shots (content detection in the manner of PySceneDetect, then localised to
the exact frame).

Each change between two picture samples is looked at frame by frame before it is called a
cut: one frame step that carries the change is a hard cut; a change spread over many
steps that all lead the same way is a fade (to or from black or white) or a dissolve, kept
with its start and end; spread-out change that wanders (a pan, animation) or a picture
that keeps its layout and only changes colour is no cut at all.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bridge.analysis.picture import ShotPicture, hsv_histogram, luma, media_range, record_time
from bridge.cache import AnalysisCache
from bridge.media import content_key, find_change, frames_between, preroll_s
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Clip, Cut, Edit, FrameSample

DEFAULT_THRESHOLD = 0.35  # histogram distance (0..1) between samples that counts as a cut
ANALYSIS_WIDTH = 96  # px; colour histograms need little resolution
# A hard cut: one frame-to-frame step carries at least this share of the pixel change
# summed over every step of the sample interval (a fade or dissolve spreads it out).
HARD_STEP_SHARE = 0.5
# ... or, in busy motion where every step is large, stands this far above the typical step.
HARD_STEP_OVER_MEDIAN = 3.0
BUSY_STEP = 0.02  # typical steps below this are a still picture: the share rule decides there
# A gradual transition: the pixels travel steadily from one picture to the other, so the
# change from first to last frame is at least this share of the summed steps. Motion
# (a pan, moving digits) goes back and forth and falls far below.
STRAIGHTNESS_MIN = 0.6
TRANSITION_REACH_S = 1.0  # how far past the sample interval a transition's ends are sought
TRANSITION_REACH_MAX_S = 4.0  # ... widened while the transition runs on, up to this
NEAR_BLACK, NEAR_WHITE = 0.06, 0.94  # mean luma of a frame faded to black / white
SAME_LAYOUT_CORR = 0.9  # luma correlation above which a change is a recolouring, not a cut
PATTERN_MIN_STD = 0.02  # luma spread below which a frame is flat colour (no pattern)


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


# ---------------------------------------------------------------- hard or gradual


def pixel_steps(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Mean absolute RGB change (0..1) from each frame to the next (length n - 1)."""
    x = [f.astype(np.float32) / 255.0 for f in frames]
    return np.array([float(np.abs(b - a).mean()) for a, b in itertools.pairwise(x)])


def change_shape(frames: Sequence[np.ndarray]) -> str:
    """"hard", "gradual" or "motion": how the picture changes across ``frames``.

    Hard: one step carries most of the change, or stands far above the others in busy
    motion. Gradual: the change is spread over many steps that all lead the same way (from
    the first picture to the last). Motion: spread out but wandering.
    """
    steps = pixel_steps(frames)
    path = float(steps.sum())
    if path <= 1e-6:
        return "motion"
    k = int(np.argmax(steps))
    others = np.delete(steps, k)
    typical = max(float(np.median(others)), BUSY_STEP) if len(others) >= 2 else np.inf
    stands_out = steps[k] >= HARD_STEP_OVER_MEDIAN * typical
    if steps[k] >= HARD_STEP_SHARE * path or stands_out:
        return "motion" if same_layout(frames[k], frames[k + 1]) else "hard"
    first, last = (f.astype(np.float32) / 255.0 for f in (frames[0], frames[-1]))
    straight = float(np.abs(last - first).mean()) / path
    return "gradual" if straight >= STRAIGHTNESS_MIN else "motion"


def same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two frames show the same picture in another colour or light (a graded or
    relit frame, a title card whose background changes): their luma patterns correlate.

    Frames with next to no pattern (flat colour) never count: between those only the
    colour can tell a cut.
    """
    ya, yb = (_pooled(luma(x)).ravel() for x in (a, b))  # 2x2 pooling: no coding noise
    ya, yb = ya - ya.mean(), yb - yb.mean()
    if min(float(ya.std()), float(yb.std())) < PATTERN_MIN_STD:
        return False
    return float(ya @ yb) / (float(np.linalg.norm(ya) * np.linalg.norm(yb))) >= SAME_LAYOUT_CORR


def _pooled(y: np.ndarray) -> np.ndarray:
    h, w = y.shape[0] // 2 * 2, y.shape[1] // 2 * 2
    return y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def transition_span(frames: Sequence[np.ndarray], *, core: tuple[int, int]) -> tuple[int, int]:
    """(first changed frame, first frame of the new picture) of the transition that runs
    through frames ``core[0]..core[1]``.

    Each frame's progress from the core's first to its last picture is its projection on
    that change; inside the transition progress moves by about 1/len(core) a frame, and
    outside it stands still up to motion noise.
    """
    x = np.stack([f.astype(np.float32).ravel() / 255.0 for f in frames])
    a, b = core
    direction = x[b] - x[a]
    norm = float(direction @ direction)
    if norm <= 1e-9:
        return a, b
    progress = (x - x[a]) @ direction / norm
    moving = np.abs(np.diff(progress)) > 0.25 / max(1, b - a)  # step j: frame j -> j + 1
    start, end = a, b
    while start > 0 and moving[start - 1]:
        start -= 1
    while end < len(frames) - 1 and moving[end]:
        end += 1
    # Within the core the ends are where the change starts and stops.
    while start < end and not moving[start]:
        start += 1
    while end > start and not moving[end - 1]:
        end -= 1
    return start + 1 if start < end else start, end


def _gradual(shot: Clip, core: Sequence[FrameSample], frame_s: float) -> list[Cut] | str | None:
    """The fades or dissolve through the ``core`` frames (a sample interval) as record-time
    Cuts; "hard" when the change there is a hard cut, None when it is motion (no cut)."""
    assert shot.media_path is not None
    if len(core) < 2:
        return "hard"
    shape = change_shape([f.rgb for f in core])
    if shape != "gradual":
        return "hard" if shape == "hard" else None
    t0, t1 = core[0].time_s, core[-1].time_s
    lo, hi = media_range(shot)
    reach = TRANSITION_REACH_S
    while True:  # most transitions end within the first reach; longer ones widen it
        start, stop = max(lo, t0 - reach), min(hi, t1 + reach)
        wide = frames_between(shot.media_path, start, stop, width=ANALYSIS_WIDTH)
        times = np.asarray([f.time_s for f in wide])
        a = int(np.argmin(np.abs(times - core[0].time_s)))
        b = int(np.argmin(np.abs(times - core[-1].time_s)))
        first, last = transition_span([f.rgb for f in wide], core=(a, b))
        cut_short = (first <= 0 < start - lo) or (last >= len(wide) - 1 and stop < hi)
        if not cut_short or reach >= TRANSITION_REACH_MAX_S:
            break
        reach *= 2
    level = np.array([float(luma(f.rgb).mean()) for f in wide])
    spans = [(first, last)]
    # Out to black (or white) and straight back in, with no frame held there: two fades.
    inner = level[first:last + 1]
    for extreme, is_extreme in ((int(np.argmin(inner)), inner.min() < NEAR_BLACK),
                                (int(np.argmax(inner)), inner.max() > NEAR_WHITE)):
        m = first + extreme
        if is_extreme and first < m < last:
            spans = [(first, m), (m, last)]
            break
    rate = 1 / frame_s
    out = []
    for start, end in spans:
        ends = (level[max(0, start - 1)], level[end])
        kind = "fade" if any(v < NEAR_BLACK or v > NEAR_WHITE for v in ends) else "dissolve"
        start_s, end_s = sorted(_to_record_frame_s(shot, wide[k].time_s, rate)
                                for k in (start, end))  # a reversed clip plays it backwards
        out.append(Cut(time_s=0.5 * (start_s + end_s), kind=kind, strength=0.0,
                       start_s=start_s, end_s=end_s))
    return out


# ---------------------------------------------------------------- detection in a shot


def _to_record_frame_s(shot: Clip, media_s: float, rate: float) -> float:
    """Record time of the first timeline frame that shows media time ``media_s``."""
    return math.ceil(record_time(shot, media_s) * rate - 1e-6) / rate


def _localise(shot: Clip, t0: float, t1: float, frame_s: float,
              frames: Sequence[FrameSample] | None = None) -> float | None:
    """Media time of the first frame of the new picture between samples t0 and t1.

    None when the change inside turns out to be a flash that is undone one frame later.
    ``frames`` are the interval's frames when they have been decoded already.
    """
    assert shot.media_path is not None
    if frames is None:
        frames = frames_between(shot.media_path, t0, t1 + 1.5 * frame_s,
                                width=ANALYSIS_WIDTH)
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


# A keyframe more than this many sample intervals before a candidate makes decoding up to
# it dearer than reading the interval whole: the quick look is skipped there.
LONG_PREROLL = 2.0
CUT_HOLDS_SHARE = 0.25  # the frame step after a clean cut is under this share of the cut's


def _clean_cut(shot: Clip, t0: float, t1: float, frame_s: float, before: np.ndarray,
               after: np.ndarray) -> float | None:
    """Media time of the first frame after a clean one-frame cut between samples t0 and t1,
    or None when the change there is anything else.

    The quick look for the common case: the first frame that looks more like the sample
    after than the one before is found by bisection (few frames converted, decoding stops
    at the change). One frame step carrying the change, not undone a frame later (a flash),
    not followed by a step of its size (a transition), and not the same picture in another
    colour or light, is a hard cut; everything else
    (a transition, motion, a relit frame, a long GOP) goes to the full look at every frame.
    """
    assert shot.media_path is not None
    preroll = preroll_s(shot.media_path, t0)
    if preroll is None or preroll > LONG_PREROLL * (t1 - t0):
        return None

    def looks_after(rgb: np.ndarray) -> bool:
        h = hsv_histogram(rgb)
        return histogram_distance(h, after) < histogram_distance(h, before)

    # the sample at t1 is the picture after (the one ``after`` was measured on)
    change = find_change(shot.media_path, t0, t1 + 1.5 * frame_s, looks_after,
                         width=ANALYSIS_WIDTH, accepted_at_s=t1)
    if change is None:
        return None
    h_before, h_after = hsv_histogram(change.before.rgb), hsv_histogram(change.after.rgb)
    step = histogram_distance(h_before, h_after)
    undone = change.after_next is not None and histogram_distance(
        h_before, hsv_histogram(change.after_next)) < 0.5 * step
    # A fade or dissolve changes the picture a little every frame: the step after the one
    # found is about as large. After a cut the new picture holds: it is much smaller.
    steady = change.after_next is not None and pixel_steps(
        [change.after.rgb, change.after_next])[0] >= CUT_HOLDS_SHARE * pixel_steps(
        [change.before.rgb, change.after.rgb])[0]
    if (step >= 0.5 * histogram_distance(before, after) and not undone and not steady
            and not same_layout(change.before.rgb, change.after.rgb)):
        return change.after.time_s
    return None


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
    ``keep_clear_of_s`` (the edit points) would be dropped anyway, so it is not looked at.
    A clean one-frame cut is found by bisection (``_clean_cut``); any other change is
    judged from every frame of its interval (hard, gradual or motion).
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
    cuts: list[Cut] = []
    gradual: list[Cut] = []
    changes = change_indices(dist, skip_dist=skip, threshold=threshold)
    # A slow transition may stay under the threshold from one sample to the next while the
    # picture changes as much over two: such intervals can only be gradual.
    slow = [i for i in range(len(skip)) if skip[i] >= threshold and dist[i] < threshold
            and dist[i + 1] < threshold]
    for i in sorted({*changes, *slow}):
        cancel.raise_if_cancelled()
        lo, hi = sorted((record[i], record[i + 1]))
        if clear.size and np.any((clear - min_gap_s <= lo) & (hi <= clear + min_gap_s)):
            continue
        if any(g.start_s <= lo and hi <= g.end_s for g in gradual):
            continue  # inside a transition already found
        if i in changes:
            media_s = _clean_cut(shot, times[i], times[i + 1], frame_s, hists[i], hists[i + 1])
            if media_s is not None:
                t = _to_record_frame_s(shot, media_s, rate)
                if shot.record_start_s < t < shot.record_end_s:
                    cuts.append(Cut(time_s=t, kind="detected",
                                    strength=min(1.0, float(dist[i]))))
                continue
        core = frames_between(shot.media_path, times[i], times[i + 1] + 1.5 * frame_s,
                              width=ANALYSIS_WIDTH)
        found = _gradual(shot, core, frame_s)
        if isinstance(found, list):
            over_two = float(skip[i]) if i < len(skip) else 0.0
            gradual += [replace(g, strength=min(1.0, max(float(dist[i]), over_two)))
                        for g in found if shot.record_start_s < g.time_s < shot.record_end_s]
            continue
        if found is None or i not in changes:
            continue  # motion, or a slow drift that is not a transition
        media_s = _localise(shot, times[i], times[i + 1], frame_s, core)
        if media_s is None:
            continue
        t = _to_record_frame_s(shot, media_s, rate)
        if shot.record_start_s < t < shot.record_end_s:
            cuts.append(Cut(time_s=t, kind="detected", strength=min(1.0, float(dist[i]))))
    return cuts + _merged(gradual)


# Bump when detection or localisation changes what they find: older cached answers go unused.
DETECT_VERSION = 2
_KINDS = ("detected", "fade", "dissolve")


def detect_in_shot_cached(picture: ShotPicture, *, rate: float, threshold: float,
                          cancel: CancelToken, keep_clear_of_s: Sequence[float],
                          min_gap_s: float, cache: AnalysisCache | None) -> list[Cut]:
    """`detect_in_shot`, remembered per (media, source range): a re-analysis of a shot it
    has seen decodes nothing. Edit points are shot boundaries, so what keeps a change inside
    the shot clear is its own boundaries (a neighbour shorter than ``min_gap_s`` can differ
    only in hard cuts that `find_cuts` spaces out anyway): the answer, in time from the
    shot's start, depends on its media range."""
    shot = picture.shot
    if cache is None or shot.media_path is None:
        return detect_in_shot(picture, rate=rate, threshold=threshold, cancel=cancel,
                              keep_clear_of_s=keep_clear_of_s, min_gap_s=min_gap_s)
    key = content_key(shot.media_path)
    kind = (f"cuts-v{DETECT_VERSION}-r{rate:.9g}-t{threshold:g}-g{min_gap_s:g}"
            f"-s{shot.speed:g}")
    start, end = media_range(shot)
    origin = shot.record_start_s
    found = cache.get(key, kind, start, end)
    if found is not None:
        def at(x: float) -> float | None:
            return None if np.isnan(x) else origin + float(x)

        return [Cut(time_s=origin + float(t), kind=_KINDS[int(k)], strength=float(w),
                    start_s=at(a), end_s=at(b))
                for t, k, w, a, b in zip(found["time"], found["kind"], found["strength"],
                                         found["start"], found["end"])]
    cuts = detect_in_shot(picture, rate=rate, threshold=threshold, cancel=cancel,
                          keep_clear_of_s=keep_clear_of_s, min_gap_s=min_gap_s)

    def rel(x: float | None) -> float:
        return np.nan if x is None else x - origin

    cache.put(key, kind, start, end, {
        "time": np.array([c.time_s - origin for c in cuts]),
        "kind": np.array([_KINDS.index(c.kind) for c in cuts], dtype=np.int8),
        "strength": np.array([c.strength for c in cuts]),
        "start": np.array([rel(c.start_s) for c in cuts]),
        "end": np.array([rel(c.end_s) for c in cuts]),
    })
    return cuts


def _merged(transitions: list[Cut]) -> list[Cut]:
    """One Cut per transition: spans found from neighbouring samples that overlap are one
    (a fade if either saw black or white at an end; a fade out and the fade in that follows
    it only touch, and stay two)."""
    out: list[Cut] = []
    for t in sorted(transitions, key=lambda c: c.start_s):
        if out and t.start_s < out[-1].end_s:
            prev = out[-1]
            start, end = prev.start_s, max(prev.end_s, t.end_s)
            kind = "fade" if "fade" in (prev.kind, t.kind) else prev.kind
            out[-1] = replace(prev, kind=kind, time_s=0.5 * (start + end), end_s=end,
                              strength=max(prev.strength, t.strength))
        else:
            out.append(t)
    return out


def find_cuts(
    edit: Edit,
    *,
    picture: Sequence[ShotPicture],
    detect_inside: bool = True,
    min_shot_s: float = 1.0,
    threshold: float = DEFAULT_THRESHOLD,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    cache: AnalysisCache | None = None,
) -> tuple[Cut, ...]:
    """All picture changes of an edit, sorted by record time.

    Edit points are kind "edit" (strength 1, with the transition's name when a
    transition is centred on them). Inside shots longer than ``2 * min_shot_s`` whose
    media is present, scene changes are detected (kind "detected") from the picture
    pass; a detected cut closer than ``min_shot_s`` to another cut is dropped, and a
    flash is never a cut. Fades and dissolves found there are kind "fade" / "dissolve"
    with their span (``start_s``..``end_s``): soft boundaries, listed as found.
    """
    cuts = edit_cuts(edit)
    edit_points = [c.time_s for c in cuts]
    found: list[Cut] = []
    if detect_inside:
        # Shots whose media could not be read keep their edit points; the pass reports them.
        todo = [p for p in picture if len(p) >= 2 and p.shot.speed != 0
                and p.shot.duration_s > 2 * min_shot_s]
        progress("cuts", 0.0, f"{len(cuts)} edit points")
        for k, shot_picture in enumerate(todo):
            cancel.raise_if_cancelled()
            found += detect_in_shot_cached(
                shot_picture, rate=float(edit.rate), threshold=threshold, cancel=cancel,
                keep_clear_of_s=edit_points, min_gap_s=min_shot_s, cache=cache)
            progress("cuts", (k + 1) / len(todo), f"analysed {shot_picture.shot.name}")
    hard = [c for c in found if not c.is_gradual]
    for cut in sorted(hard, key=lambda c: -c.strength):
        if all(abs(cut.time_s - c.time_s) >= min_shot_s for c in cuts):
            cuts.append(cut)
    # Transitions are kept as found: they are soft boundaries, not cuts to space out.
    cuts += [c for c in found if c.is_gradual]
    progress("cuts", 1.0, f"{len(cuts)} cuts")
    return tuple(sorted(cuts, key=lambda c: c.time_s))
