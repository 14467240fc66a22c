"""Gathering: the picture pass's measurements and the sound pass's energy -> FeatureTable.

Both passes come from ``bridge.analysis`` (the picture decoded once per shot and shared
with cut detection; the audio decoded once and shared with the ducking side-chain).
Shots whose media are missing or undecodable are left unknown (NaN) and reported through
``progress``; the caller decides whether the rest is enough.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bridge.affect import features as ft
from bridge.analysis.picture import ShotPicture
from bridge.progress import ProgressFn, no_progress
from bridge.types import Cut, Edit, SoundTrack

STAGE = "affect"


def observe(edit: Edit, cuts: tuple[Cut, ...] | list[Cut], *, picture: Sequence[ShotPicture],
            sound: SoundTrack, hop_s: float = 1.0,
            progress: ProgressFn = no_progress) -> ft.FeatureTable:
    """Per-hop features of the edit in record time; unknown where media could not be read.

    ``picture`` and ``sound`` are the shared passes of ``bridge.analysis``.
    """
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

    for clip_name, problem in sound.problems:
        progress(STAGE, 0.5, f"no sound for clip {clip_name!r}: {problem}")
    loudness_db = loudness_per_hop(sound, hop_s=hop_s, n_hops=n)
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


def loudness_per_hop(sound: SoundTrack, *, hop_s: float, n_hops: int) -> np.ndarray:
    """RMS dBFS per hop of the sound pass's energy track; NaN where no clip is heard.

    A clip heard over part of a hop contributes its energy for that part only: the
    energy is summed over the hop's frames and divided by a whole hop's frame count.
    """
    centres_s = (np.arange(sound.n_frames) + 0.5) / sound.control_hz
    idx = ft.hop_index(centres_s, hop_s=hop_s, n_hops=n_hops)
    ok = idx >= 0
    power = np.bincount(idx[ok], weights=sound.energy[ok], minlength=n_hops)
    power /= hop_s * sound.control_hz
    covered = ft.interval_coverage(list(sound.heard_s), hop_s=hop_s, n_hops=n_hops) > 0
    return np.where(covered, ft.power_db(power), np.nan)
