"""The sound pass: the timeline's own audio clips decoded once, kept as one energy track.

Each readable audio clip is decoded a minute at a time (mono, ``SOUND_SR``) and placed in
record time; only its energy per 10 ms frame is kept (``SoundTrack``), so an hour of
dialogue costs a few MB. Two later stages read the same track: the affect's loudness
feature (RMS per hop) and the music's ducking side-chain (level per 10 ms).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from bridge import media
from bridge.analysis.picture import media_range, readable
from bridge.cache import AnalysisCache
from bridge.errors import MissingMediaError, UndecodableMediaError
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Edit, SoundTrack

SOUND_SR = 16_000  # loudness and speech activity need level, not fidelity
CONTROL_HZ = 100.0  # one energy value per 10 ms
CHUNK_S = 60.0  # decode long clips in pieces so memory stays flat
STAGE = "sound"
_SAMPLES_PER_BATCH = 1 << 18  # keeps the squared-signal temporaries small


class SideChainLevel:
    """Energy per 1/control_hz frame in record time, built piece by piece.

    Audio is added in pieces placed in record time (a clip, or a chunk of one), so an hour
    of dialogue never has to sit in memory: only one float per frame is kept. Each frame
    holds the sum of squares that fell in it divided by the frame's nominal length, which
    is its mean square where one source covers it, and the sum of the sources' mean squares
    where several overlap (uncorrelated sources add in power).
    """

    def __init__(self, *, duration_s: float, control_hz: float = CONTROL_HZ) -> None:
        self.control_hz = float(control_hz)
        self.n_frames = math.ceil(duration_s * control_hz) + 1
        self.energy = np.zeros(self.n_frames)

    def add(self, samples: np.ndarray, *, sr: float, start_s: float = 0.0) -> None:
        """Add audio whose first sample plays at record time ``start_s``."""
        mono = np.asarray(samples)
        mono = mono if mono.ndim == 1 else mono.mean(axis=1)
        frame_len = sr / self.control_hz
        for lo in range(0, len(mono), _SAMPLES_PER_BATCH):
            piece = mono[lo : lo + _SAMPLES_PER_BATCH]
            t = start_s + (lo + np.arange(len(piece))) / sr
            idx = np.floor(t * self.control_hz + 1e-9).astype(np.int64)
            ok = (idx >= 0) & (idx < self.n_frames)
            self.energy += np.bincount(
                idx[ok], weights=np.square(piece[ok], dtype=np.float64), minlength=self.n_frames
            ) / frame_len

    def level_db(self) -> np.ndarray:
        """RMS level (dBFS) per frame, smoothed over 3 frames; silence where nothing played."""
        return SoundTrack(self.control_hz, self.energy).level_db()


def observe_sound(edit: Edit, *, progress: ProgressFn = no_progress,
                  cancel: CancelToken = NEVER_CANCELLED,
                  cache: AnalysisCache | None = None) -> SoundTrack:
    """Decode every readable audio clip once into the edit's energy track (see module doc).

    A clip that is missing or cannot be decoded is left out and named in ``problems``. With
    a cache, a clip heard before (same media and range, same place in the 10 ms grid) is not
    decoded again.
    """
    level = SideChainLevel(duration_s=edit.duration_s)
    heard: list[tuple[float, float]] = []
    problems: list[tuple[str, str]] = []
    clips = edit.audio_clips
    for k, clip in enumerate(clips):
        cancel.raise_if_cancelled()
        progress(STAGE, k / len(clips), f"sound: {clip.name}")
        if not readable(clip):
            problems.append((clip.name, "media missing"))
            continue
        if clip.speed == 0:  # a frozen clip holds one sample: nothing to hear
            continue
        try:
            got = _add_clip_cached(level, clip, cancel=cancel, cache=cache)
        except (MissingMediaError, UndecodableMediaError) as err:
            problems.append((clip.name, str(err)))
            continue
        if not got:
            problems.append((clip.name, "no audio decoded"))
            continue
        heard.append((clip.record_start_s, clip.record_end_s))
    if clips:
        progress(STAGE, 1.0, f"{len(heard)} of {len(clips)} audio clips heard")
    return SoundTrack(level.control_hz, level.energy, heard_s=tuple(heard),
                      problems=tuple(problems))


def sound_problems(sound: SoundTrack) -> list[str]:
    """Warnings for clips that exist but could not be heard (missing media is the reader's)."""
    return [f"sound: clip {name!r} left out of loudness and ducking: {why}"
            for name, why in sound.problems if why != "media missing"]


SOUND_VERSION = 1  # bump when the energy track changes: older cached clips go unused


def _add_clip_cached(level: SideChainLevel, clip, *, cancel: CancelToken,
                     cache: AnalysisCache | None) -> int:
    """`_add_clip` through the cache: the clip's own frames, computed once and added in place.

    A clip's energy lands in frames counted from the frame its start falls in; the offset
    inside that frame is part of the key, so a clip moved by whole frames reuses its entry.
    """
    if cache is None:
        return _add_clip(level, clip, cancel=cancel)
    base = math.floor(clip.record_start_s * level.control_hz + 1e-9)
    offset_s = clip.record_start_s - base / level.control_hz
    start, end = media_range(clip)
    kind = (f"{STAGE}-v{SOUND_VERSION}-sr{SOUND_SR}-c{level.control_hz:g}-s{clip.speed:g}"
            f"-o{round(offset_s * 1e6)}")
    key = media.content_key(clip.media_path)
    found = cache.get(key, kind, start, end)
    if found is None:
        own = SideChainLevel(duration_s=offset_s + clip.duration_s, control_hz=level.control_hz)
        got = _add_clip(own, replace(clip, record_start_s=offset_s,
                                     record_end_s=offset_s + clip.duration_s), cancel=cancel)
        found = {"energy": own.energy, "got": np.array([got])}
        cache.put(key, kind, start, end, found)
    energy = found["energy"][: max(0, level.n_frames - base)]
    level.energy[base:base + len(energy)] += energy
    return int(found["got"][0])


def _add_clip(level: SideChainLevel, clip, *, cancel: CancelToken) -> int:
    """Decode one clip a chunk at a time into ``level``; the number of samples heard."""
    got = 0
    start_s = clip.record_start_s
    while start_s < clip.record_end_s:
        cancel.raise_if_cancelled()
        end_s = min(start_s + CHUNK_S, clip.record_end_s)
        media_a, media_b = sorted((clip.media_time(start_s), clip.media_time(end_s)))
        audio = media.decode_audio(clip.media_path, max(0.0, media_a), media_b, sr=SOUND_SR)
        if clip.speed < 0:  # a reversed clip plays its media backwards
            audio = audio[::-1]
        # at speed s, s media seconds pass per record second
        level.add(audio, sr=SOUND_SR * abs(clip.speed), start_s=start_s)
        got += len(audio)
        start_s = end_s
    return got
