"""Gathering: the picture pass's measurements and the timeline's own audio -> FeatureTable.

The picture comes from ``bridge.picture`` (each shot decoded once, shared with cut
detection); the audio clips are read here through ``bridge.media``. Shots whose media are
missing or undecodable are left unknown (NaN) and reported through ``progress``; the
caller decides whether the rest is enough.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bridge import media
from bridge.affect import features as ft
from bridge.errors import MissingMediaError, UndecodableMediaError
from bridge.picture import ShotPicture, media_range, observe_picture, readable, record_time
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Cut, Edit

AUDIO_SR = 16_000
AUDIO_CHUNK_S = 60.0  # decode long audio clips in pieces so memory stays flat
STAGE = "affect"


def observe(edit: Edit, cuts: tuple[Cut, ...] | list[Cut], *, hop_s: float = 1.0,
            rate_hz: float = 2.0, width: int = 160,
            picture: Sequence[ShotPicture] | None = None, progress: ProgressFn = no_progress,
            cancel: CancelToken = NEVER_CANCELLED) -> ft.FeatureTable:
    """Per-hop features of the edit in record time; unknown where media could not be read.

    ``picture`` is the shared decode pass (bridge.picture); without it, it is run here.
    """
    if picture is None:
        picture = observe_picture(edit, rate_hz=rate_hz, width=width, cancel=cancel)
    duration_s = edit.duration_s
    n = ft.n_hops_for(duration_s=duration_s, hop_s=hop_s)
    progress(STAGE, 0.0, "picture features")
    for shot_picture in picture:
        if shot_picture.problem:
            progress(STAGE, 0.0, f"no picture for clip {shot_picture.shot.name!r}: "
                                 f"{shot_picture.problem}")
    readable_shots = [p for p in picture if len(p)]
    t = np.concatenate([p.record_times_s for p in readable_shots] or [np.zeros(0)])
    cols = np.concatenate([p.colour for p in readable_shots] or [np.zeros((0, 5))]).T
    mv = np.concatenate([p.motion for p in readable_shots] or [np.zeros(0)])
    seen = [(p.shot.record_start_s, p.shot.record_end_s) for p in readable_shots]

    def hop(values: np.ndarray, at: np.ndarray = t) -> np.ndarray:
        return ft.per_hop_mean(at, values, hop_s=hop_s, n_hops=n)

    brightness = hop(cols[0])
    sampled = np.isfinite(brightness)
    picture_share = np.where(sampled, ft.interval_coverage(seen, hop_s=hop_s, n_hops=n), 0.0)

    jobs = 1 + len(edit.audio_clips)
    loudness_db = _loudness(edit, hop_s=hop_s, n_hops=n, progress=progress, cancel=cancel,
                            done=1, jobs=jobs)
    # Fades and dissolves slow the picture down; they do not count as cuts for pace.
    cut_s = np.asarray([c.time_s for c in cuts if not c.is_gradual], dtype=np.float64)
    has_motion = np.isfinite(mv)
    progress(STAGE, 1.0, "features gathered")
    return ft.FeatureTable(
        hop_s=hop_s,
        duration_s=duration_s,
        picture=picture_share,
        motion=hop(mv),
        motion_spread=ft.per_hop_spread(t[has_motion], mv[has_motion], hop_s=hop_s, n_hops=n),
        brightness=brightness,
        saturation=hop(cols[1]),
        colourfulness=hop(cols[2]),
        warmth=hop(cols[3]),
        dark_share=hop(cols[4]),
        loudness_db=loudness_db,
        cut_density=ft.cut_density(cut_s, hop_s=hop_s, n_hops=n),
        since_cut_s=ft.time_since_cut(cut_s, hop_s=hop_s, n_hops=n),
        until_cut_s=ft.time_until_cut(cut_s, hop_s=hop_s, n_hops=n, duration_s=duration_s),
    )


def _loudness(edit: Edit, *, hop_s: float, n_hops: int, progress: ProgressFn,
              cancel: CancelToken, done: int, jobs: int) -> np.ndarray:
    """RMS dBFS per hop of the timeline's audio clips (powers add); NaN where none plays."""
    power = np.zeros(n_hops)
    heard: list[tuple[float, float]] = []
    for clip in edit.audio_clips:
        cancel.raise_if_cancelled()
        progress(STAGE, done / max(jobs, 1), f"sound: {clip.name}")
        done += 1
        if not readable(clip):
            progress(STAGE, done / max(jobs, 1), f"no sound for clip {clip.name!r}: "
                     "media missing")
            continue
        start_s, end_s = media_range(clip)
        times: list[np.ndarray] = []
        powers: list[np.ndarray] = []
        try:
            for a in np.arange(start_s, end_s, AUDIO_CHUNK_S):
                b = min(end_s, a + AUDIO_CHUNK_S)
                samples = media.decode_audio(clip.media_path, float(a), float(b), sr=AUDIO_SR)
                t, p = ft.frame_power(samples, sr=AUDIO_SR)
                times.append(t + a)
                powers.append(p)
        except (MissingMediaError, UndecodableMediaError) as err:
            progress(STAGE, done / max(jobs, 1), f"no sound for clip {clip.name!r}: {err}")
            continue
        if sum(len(t) for t in times) == 0:  # no audio stream, or nothing decoded
            progress(STAGE, done / max(jobs, 1), f"no sound for clip {clip.name!r}: "
                     "no audio decoded")
            continue
        record_t = record_time(clip, np.concatenate(times))
        clip_power = ft.per_hop_mean(record_t, np.concatenate(powers), hop_s=hop_s,
                                     n_hops=n_hops)
        span = [(clip.record_start_s, clip.record_end_s)]
        # a clip heard over part of a hop contributes its power for that part only
        share = ft.interval_coverage(span, hop_s=hop_s, n_hops=n_hops)
        power += np.nan_to_num(clip_power, nan=0.0) * share
        heard += span
    covered = ft.interval_coverage(heard, hop_s=hop_s, n_hops=n_hops) > 0
    return np.where(covered, ft.power_db(power), np.nan)
