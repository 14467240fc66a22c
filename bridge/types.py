"""Frozen dataclasses that flow one way through the pipeline.

timeline file -> Edit -> cuts -> AffectCurve + Style -> MusicPlan -> Arrangement -> audio
-> result OTIO + markers. Every stage takes earlier types and returns its own; none
imports a later stage, grpc or a host API.

Time inside the pipeline is float seconds from the timeline's first frame (record time,
0 = first frame) unless a name says otherwise (``media_start_s`` is seconds into the
media file). Rates stay rational (``Fraction(24000, 1001)``) so lengths can be exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np

ClipKind = Literal["video", "audio"]
CutKind = Literal["edit", "detected", "fade", "dissolve"]
GRADUAL_KINDS = ("fade", "dissolve")  # transitions found in the picture: soft, never hits


def samples_for(duration_s: float | Fraction, sr: int) -> int:
    """Sample count for a duration; the one rounding rule used everywhere."""
    return round(Fraction(duration_s) * sr)


# ---------------------------------------------------------------- timeline


@dataclass(frozen=True)
class Clip:
    """A visible video shot or an audible audio clip, placed in record time."""

    name: str
    kind: ClipKind
    record_start_s: float
    record_end_s: float
    media_path: Path | None
    media_start_s: float  # seconds into the media file where the clip's source begins
    media_missing: bool = False
    track_index: int = 0  # 0 = bottom track of its kind
    track_name: str = ""
    speed: float = 1.0  # source seconds per record second (time warps)

    @property
    def duration_s(self) -> float:
        return self.record_end_s - self.record_start_s

    def media_time(self, record_s: float) -> float:
        """Media-file time shown at a record time inside this clip."""
        return self.media_start_s + (record_s - self.record_start_s) * self.speed


@dataclass(frozen=True)
class Transition:
    """A transition in record time, e.g. a cross-dissolve centred on a cut."""

    name: str
    record_start_s: float
    record_end_s: float

    @property
    def center_s(self) -> float:
        return 0.5 * (self.record_start_s + self.record_end_s)


@dataclass(frozen=True)
class TimelineMarker:
    """A marker already on the timeline (editors' hints live here)."""

    name: str
    note: str
    start_s: float
    duration_s: float
    color: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Edit:
    """Everything the pipeline needs from a timeline, in record time."""

    name: str
    source_path: Path
    rate: Fraction  # frames per second, e.g. Fraction(24000, 1001)
    drop_frame: bool
    start_timecode: str  # e.g. "01:00:00:00"
    start_frame: int  # the timeline's global start, in frames
    duration_frames: int
    shots: tuple[Clip, ...]  # visible video, record order, non-overlapping; gaps omitted
    audio_clips: tuple[Clip, ...] = ()
    transitions: tuple[Transition, ...] = ()
    markers: tuple[TimelineMarker, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def frame_s(self) -> float:
        return float(1 / self.rate)

    @property
    def duration(self) -> Fraction:
        """Exact duration in seconds."""
        return Fraction(self.duration_frames) / self.rate

    @property
    def duration_s(self) -> float:
        return float(self.duration)

    def n_samples(self, sr: int) -> int:
        """Audio length in samples that matches the timeline exactly."""
        return samples_for(self.duration, sr)


@dataclass(frozen=True)
class Cut:
    """A picture change: an edit point from the timeline, a cut detected in a long shot, or
    a gradual transition (fade to/from black or white, dissolve) found in the picture.

    A gradual one spans ``start_s``..``end_s`` (first changed frame .. first frame of the new
    picture) and ``time_s`` is its middle; it is a soft boundary, never a hard cut.
    """

    time_s: float
    kind: CutKind
    strength: float = 1.0  # 0..1; edit points 1, detected cuts their histogram distance
    transition: str | None = None  # e.g. "SMPTE_Dissolve" when the cut sits inside one
    start_s: float | None = None  # gradual transitions only
    end_s: float | None = None

    @property
    def is_gradual(self) -> bool:
        return self.kind in GRADUAL_KINDS


# ---------------------------------------------------------------- media


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration_s: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float | None = None  # average rate; None for stills and audio-only files
    rotation_deg: int = 0
    is_still: bool = False
    audio_sample_rate: int | None = None


@dataclass(frozen=True, eq=False)
class FrameSample:
    """One decoded, downscaled RGB frame and, for motion, the frame that followed it."""

    time_s: float  # media time of ``rgb``
    rgb: np.ndarray  # (H, W, 3) uint8
    successor: np.ndarray | None = None  # the next decoded frame, same shape, or None
    successor_dt_s: float = 0.0


@dataclass(frozen=True, eq=False)
class SoundTrack:
    """The timeline's own audio as energy (mean square) per 1/control_hz frame, record time.

    Frame k covers [k, k+1) / control_hz; overlapping clips add in power. ``heard_s`` are
    the record spans where a readable clip plays; ``problems`` (clip name, reason) the
    clips that could not be heard.
    """

    control_hz: float
    energy: np.ndarray
    heard_s: tuple[tuple[float, float], ...] = ()
    problems: tuple[tuple[str, str], ...] = ()

    @property
    def n_frames(self) -> int:
        return len(self.energy)

    def level_db(self) -> np.ndarray:
        """RMS level (dBFS) per frame, smoothed over 3 frames; silence where nothing played."""
        # np.convolve rather than a running-sum filter: running sums can dip below zero
        smoothed = np.convolve(self.energy, np.ones(3) / 3, mode="same")
        return 10 * np.log10(smoothed + 1e-20)


# ---------------------------------------------------------------- affect and style


@dataclass(frozen=True, eq=False)
class AffectCurve:
    """Valence and arousal in [-1, 1] per hop; value i describes [i*hop_s, (i+1)*hop_s)."""

    hop_s: float
    valence: np.ndarray
    arousal: np.ndarray
    confidence: np.ndarray  # 0..1; 0 where the picture was unknown (missing media)
    source: str = "heuristic"

    def __post_init__(self) -> None:
        n = len(self.valence)
        if len(self.arousal) != n or len(self.confidence) != n:
            raise ValueError("valence, arousal and confidence must have the same length")

    def __len__(self) -> int:
        return len(self.valence)

    @property
    def times_s(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.float64) * self.hop_s

    def at(self, t_s: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(valence, arousal) linearly interpolated at record times, hop centres as knots."""
        knots = self.times_s + 0.5 * self.hop_s
        return (
            np.interp(t_s, knots, self.valence),
            np.interp(t_s, knots, self.arousal),
        )


@dataclass(frozen=True)
class Style:
    """NarraScore's global semantic anchor: held constant for the whole piece."""

    name: str
    genre: str
    instrumentation: str
    atmosphere: str
    rhythm: str
    bpm_min: float
    bpm_max: float
    programs: Mapping[str, int]  # role -> General MIDI program (0-based)
    percussion: bool = True
    drum_kit: int = 0  # GM bank-128 preset for channel 10

    def prompt(self) -> str:
        """The text form, used verbatim as the neural backend's conditioning prompt."""
        return (
            f"Genre and style: {self.genre}. Instrumentation and timbre: {self.instrumentation}. "
            f"Emotional atmosphere: {self.atmosphere}. Rhythm and pacing: {self.rhythm}."
        )


# ---------------------------------------------------------------- music


@dataclass(frozen=True)
class Note:
    start_s: float
    end_s: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class Control:
    """A MIDI controller change on a track (11 = expression, the track's moment-to-moment
    dynamics under its fixed volume)."""

    time_s: float
    controller: int
    value: int  # 0..127


@dataclass(frozen=True)
class Track:
    """One role of the arrangement (pads, bass, melody, texture, drums)."""

    role: str
    program: int
    is_drum: bool
    notes: tuple[Note, ...]
    volume: float = 1.0  # linear gain applied at render time
    controls: tuple[Control, ...] = ()  # sorted by time
    reverb_send: int = 0  # MIDI CC91 (0..127): how much of the track goes to the room
    chorus_send: int = 0  # MIDI CC93 (0..127)


# The rooms a renderer can put an arrangement in (its reverb): "dry" has none.
ROOMS = ("dry", "room", "plate", "hall")


@dataclass(frozen=True, eq=False)
class Arrangement:
    """What the renderer plays: notes per role plus the tempo map they sit on."""

    duration_s: float
    beat_times_s: np.ndarray
    tracks: tuple[Track, ...]
    room: str = "dry"  # one of ROOMS


@dataclass(frozen=True)
class AffectMarker:
    """A marker the bridge adds to the host timeline (one per section of steady affect)."""

    start_s: float
    duration_s: float
    name: str  # e.g. "tense ↑0.7"
    note: str
    color: str  # OTIO marker colour name, e.g. "RED"
    valence: float
    arousal: float
    quadrant: str  # "excited", "tense", "calm", "sad"


# ---------------------------------------------------------------- pipeline results


@dataclass(frozen=True)
class Analysis:
    """What `analyze_timeline` returns: the picture side of the job."""

    edit: Edit
    cuts: tuple[Cut, ...]
    affect: AffectCurve
    style: Style
    markers: tuple[AffectMarker, ...]
    sound: SoundTrack  # the sound pass: affect loudness and the ducking side-chain
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreResult:
    """What `score_timeline` returns; every path exists and was written atomically."""

    analysis: Analysis
    out_dir: Path
    wav_path: Path
    midi_path: Path | None  # None when the music backend makes audio only
    otio_path: Path
    affect_csv: Path
    affect_json: Path
    affect_png: Path
    stem_paths: Mapping[str, Path] = field(default_factory=dict)
    report_path: Path | None = None
    plan_summary: Mapping[str, Any] = field(default_factory=dict)  # tempo, key, sections
    metrics: Mapping[str, float] = field(default_factory=dict)
    manifest_path: Path | None = None  # what this result wrote (bridge/outputs.py)
    version: int = 1  # 1: score.wav, stems/ ...; N: score.vN.wav, stems.vN/ ...
