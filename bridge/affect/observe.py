"""Gathering: walk an Edit's shots and audio clips, read media, fill a FeatureTable.

The only affect module that touches media (through ``bridge.media``). Shots whose media are
missing or undecodable are left unknown (NaN) and reported through ``progress``; the
caller decides whether the rest is enough.
"""

from __future__ import annotations

import numpy as np

from bridge import media
from bridge.affect import features as ft
from bridge.errors import MissingMediaError, UndecodableMediaError
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Clip, Cut, Edit

AUDIO_SR = 16_000
AUDIO_CHUNK_S = 60.0  # decode long audio clips in pieces so memory stays flat
STAGE = "affect"


def readable(clip: Clip) -> bool:
    """True when the clip points at a file that exists (decodability is checked later)."""
    return clip.media_path is not None and not clip.media_missing and clip.media_path.is_file()


def observe(edit: Edit, cuts: tuple[Cut, ...] | list[Cut], *, hop_s: float = 1.0,
            rate_hz: float = 2.0, width: int = 160, progress: ProgressFn = no_progress,
            cancel: CancelToken = NEVER_CANCELLED) -> ft.FeatureTable:
    """Per-hop features of the edit in record time; unknown where media could not be read."""
    duration_s = edit.duration_s
    n = ft.n_hops_for(duration_s=duration_s, hop_s=hop_s)
    jobs = len(edit.shots) + len(edit.audio_clips)
    done = 0

    times: list[float] = []
    rows: list[tuple[float, ...]] = []  # brightness, saturation, colourfulness, warmth, dark
    motion_times: list[float] = []
    motion_values: list[float] = []
    seen: list[tuple[float, float]] = []
    for shot in edit.shots:
        cancel.raise_if_cancelled()
        progress(STAGE, done / max(jobs, 1), f"picture: {shot.name}")
        samples = _shot_samples(shot, rate_hz=rate_hz, width=width, progress=progress,
                                cancel=cancel, fraction=done / max(jobs, 1))
        for record_s, rgb, motion in samples:
            times.append(record_s)
            rows.append((ft.brightness(rgb), ft.saturation(rgb), ft.colourfulness(rgb),
                         ft.warmth(rgb), ft.dark_share(rgb)))
            if motion is not None:
                motion_times.append(record_s)
                motion_values.append(motion)
        if samples:
            seen.append((shot.record_start_s, shot.record_end_s))
        done += 1

    t = np.asarray(times)
    cols = np.asarray(rows).reshape(-1, 5).T
    mt, mv = np.asarray(motion_times), np.asarray(motion_values)

    def hop(values: np.ndarray, at: np.ndarray = t) -> np.ndarray:
        return ft.per_hop_mean(at, values, hop_s=hop_s, n_hops=n)

    brightness = hop(cols[0])
    sampled = np.isfinite(brightness)
    picture = np.where(sampled, ft.interval_coverage(seen, hop_s=hop_s, n_hops=n), 0.0)

    loudness_db = _loudness(edit, hop_s=hop_s, n_hops=n, progress=progress, cancel=cancel,
                            done=done, jobs=jobs)
    cut_s = np.asarray([c.time_s for c in cuts], dtype=np.float64)
    progress(STAGE, 1.0, "features gathered")
    return ft.FeatureTable(
        hop_s=hop_s,
        duration_s=duration_s,
        picture=picture,
        motion=hop(mv, mt),
        motion_spread=ft.per_hop_spread(mt, mv, hop_s=hop_s, n_hops=n),
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



def _record_time(clip: Clip, media_s: float) -> float:
    return clip.record_start_s + (media_s - clip.media_start_s) / clip.speed


def _media_range(clip: Clip) -> tuple[float, float]:
    a = clip.media_time(clip.record_start_s)
    b = clip.media_time(clip.record_end_s)
    return min(a, b), max(a, b)


def _shot_samples(shot: Clip, *, rate_hz: float, width: int, progress: ProgressFn,
                  cancel: CancelToken, fraction: float
                  ) -> list[tuple[float, np.ndarray, float | None]]:
    """(record_s, rgb, motion or None) for each sampled frame of a shot; [] if unreadable."""
    if not readable(shot):
        progress(STAGE, fraction, f"no picture for clip {shot.name!r}: media missing")
        return []
    freeze = abs(shot.speed) < 1e-6
    start_s, end_s = _media_range(shot)
    if freeze:  # a held frame: read one frame, show it across the shot without motion
        end_s = start_s + 1.0 / rate_hz
    try:
        frames = media.sample_frames(shot.media_path, start_s, end_s, rate_hz=rate_hz,
                                     width=width, with_successor=not freeze, cancel=cancel)
    except (MissingMediaError, UndecodableMediaError) as err:
        progress(STAGE, fraction, f"no picture for clip {shot.name!r}: {err}")
        return []
    if freeze:
        if not frames:
            return []
        rgb = frames[0].rgb
        centres = np.arange(shot.record_start_s, shot.record_end_s, 1.0 / rate_hz)
        return [(float(t), rgb, 0.0) for t in centres]
    out = []
    for f in frames:
        motion = None
        if f.successor is not None and f.successor_dt_s > 0:
            # a reversed or sped-up clip shows the change over |speed| times the interval
            motion = ft.motion(f.rgb, f.successor, dt_s=f.successor_dt_s / abs(shot.speed))
        record_s = _record_time(shot, f.time_s)
        if shot.record_start_s - 1e-6 <= record_s < shot.record_end_s + 1e-6:
            out.append((record_s, f.rgb, motion))
    return out


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
        start_s, end_s = _media_range(clip)
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
        record_t = _record_time(clip, np.concatenate(times))
        clip_power = ft.per_hop_mean(record_t, np.concatenate(powers), hop_s=hop_s,
                                     n_hops=n_hops)
        span = [(clip.record_start_s, clip.record_end_s)]
        # a clip heard over part of a hop contributes its power for that part only
        share = ft.interval_coverage(span, hop_s=hop_s, n_hops=n_hops)
        power += np.nan_to_num(clip_power, nan=0.0) * share
        heard += span
    covered = ft.interval_coverage(heard, hop_s=hop_s, n_hops=n_hops) > 0
    return np.where(covered, ft.power_db(power), np.nan)
