"""Build small timelines over known media, for tests, the demo and benchmarks.

Example::

    write_timeline(
        tmp / "cut.otio", name="cut", rate=Fraction(24),
        shots=[ShotSpec("a.mp4", frames=48), ShotSpec("b.mp4", seconds=1.5, media_start_s=2.0)],
        dissolves={1: 12},  # a 12-frame cross-dissolve centred on the cut into shots[1]
    )

Each track is laid out in order: a shot starts where the previous shot on its track ended
(plus ``gap_before_frames``). Any supported extension works (.otio .otioz .otiod .xml
.fcpxml .fcpxmld .edl); EDL keeps one video track (see ``bridge.timeline.formats``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
from opentimelineio import opentime

from bridge.errors import InvalidOptionError
from bridge.timeline.formats import (
    SCOREBRIDGE_KEY,
    frames_of_timecode,
    otio_rate,
    save_timeline,
)
from bridge.types import TimelineMarker


@dataclass(frozen=True)
class ShotSpec:
    """One clip to place on a track; give ``frames`` or ``seconds``."""

    media: str | Path | None  # None -> an offline clip (MissingReference)
    frames: int | None = None  # duration in timeline frames
    seconds: float | None = None  # ... or in seconds, rounded to whole frames
    media_start_s: float = 0.0  # seconds into the media where the clip starts
    name: str = ""  # default: the media file's stem, or "offline N"
    track: int = 0  # 0 = bottom track of its kind
    gap_before_frames: int = 0  # empty frames before this clip on its track
    media_timecode_s: float = 0.0  # the media's own start timecode, e.g. 3600.0 for 01:00:00:00
    media_duration_s: float | None = None  # available length; default: just what the clip uses
    enabled: bool = True

    def duration_frames(self, rate: Fraction) -> int:
        if (self.frames is None) == (self.seconds is None):
            raise InvalidOptionError(
                "give exactly one of frames or seconds", clip=self.name or None, field="frames"
            )
        n = self.frames if self.frames is not None else round(self.seconds * rate)
        if n <= 0:
            raise InvalidOptionError(
                f"duration must be at least one frame, got {n}",
                clip=self.name or None,
                field="frames",
            )
        return n


def write_timeline(
    path: str | Path,
    *,
    name: str,
    rate: Fraction,
    shots: Sequence[ShotSpec],
    audio: Sequence[ShotSpec] = (),
    markers: Sequence[TimelineMarker] = (),
    start_timecode: str = "00:00:00:00",
    drop_frame: bool = False,
    dissolves: Mapping[int, int] | None = None,
) -> Path:
    """Write a timeline file; return its path.

    ``dissolves`` maps an index into ``shots`` to the length in frames of a cross-dissolve
    centred on the cut into that shot (from the previous clip on its track). ``markers`` go on
    the timeline's top-level stack at their record times. ``drop_frame`` is recorded in the
    timeline metadata (and as ``FCM: DROP FRAME`` in an EDL).
    """
    path = Path(path)
    timeline = build_timeline(
        name=name,
        rate=rate,
        shots=shots,
        audio=audio,
        markers=markers,
        start_timecode=start_timecode,
        drop_frame=drop_frame,
        dissolves=dissolves,
    )
    save_timeline(timeline, path, rate=rate, drop_frame=drop_frame)
    return path


def build_timeline(
    *,
    name: str,
    rate: Fraction,
    shots: Sequence[ShotSpec],
    audio: Sequence[ShotSpec] = (),
    markers: Sequence[TimelineMarker] = (),
    start_timecode: str = "00:00:00:00",
    drop_frame: bool = False,
    dissolves: Mapping[int, int] | None = None,
) -> otio.schema.Timeline:
    """The in-memory OTIO timeline that ``write_timeline`` writes."""
    r = otio_rate(rate)
    start = frames_of_timecode(start_timecode, rate=rate)
    timeline = otio.schema.Timeline(
        name=name,
        global_start_time=opentime.RationalTime(start, r),
        metadata={SCOREBRIDGE_KEY: {"drop_frame": bool(drop_frame)}},
    )
    video = _tracks(shots, kind=otio.schema.TrackKind.Video, rate=rate, dissolves=dissolves or {})
    sound = _tracks(audio, kind=otio.schema.TrackKind.Audio, rate=rate, dissolves={})
    timeline.tracks.extend(video + sound)
    for m in markers:
        timeline.tracks.markers.append(
            otio.schema.Marker(
                name=m.name,
                marked_range=opentime.TimeRange(
                    opentime.RationalTime(round(m.start_s * rate), r),
                    opentime.RationalTime(round(m.duration_s * rate), r),
                ),
                color=m.color or otio.schema.MarkerColor.RED,
                metadata=dict(m.metadata),
                comment=m.note,
            )
        )
    return timeline


def _tracks(
    specs: Sequence[ShotSpec], *, kind: str, rate: Fraction, dissolves: Mapping[int, int]
) -> list[otio.schema.Track]:
    if not specs:
        return []
    r = otio_rate(rate)
    prefix = "V" if kind == otio.schema.TrackKind.Video else "A"
    n_tracks = max(s.track for s in specs) + 1
    tracks = [otio.schema.Track(name=f"{prefix}{i + 1}", kind=kind) for i in range(n_tracks)]
    for index, spec in enumerate(specs):
        track = tracks[spec.track]
        if spec.gap_before_frames:
            track.append(otio.schema.Gap(duration=opentime.RationalTime(spec.gap_before_frames, r)))
        if index in dissolves:
            half = dissolves[index] / 2
            track.append(
                otio.schema.Transition(
                    name="Cross Dissolve",
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=opentime.RationalTime(half, r),
                    out_offset=opentime.RationalTime(half, r),
                )
            )
        track.append(_clip(spec, rate=rate, number=index + 1))
    return tracks


def _clip(spec: ShotSpec, *, rate: Fraction, number: int) -> otio.schema.Clip:
    r = otio_rate(rate)
    frames = spec.duration_frames(rate)
    media_tc = round(spec.media_timecode_s * rate)
    source_start = media_tc + round(spec.media_start_s * rate)
    media_len = (
        round(spec.media_duration_s * rate)
        if spec.media_duration_s is not None
        else source_start - media_tc + frames
    )
    available = opentime.TimeRange(
        opentime.RationalTime(media_tc, r), opentime.RationalTime(media_len, r)
    )
    if spec.media is None:
        name = spec.name or f"offline {number}"
        ref = otio.schema.MissingReference(name=name, available_range=available)
    else:
        media = Path(spec.media)
        name = spec.name or media.stem
        # Absolute file URLs, as editing applications export them: a caller's path is
        # relative to its working folder, which the timeline's reader cannot know.
        url = media.resolve().as_uri()
        ref = otio.schema.ExternalReference(target_url=url, available_range=available)
    clip = otio.schema.Clip(
        name=name,
        media_reference=ref,
        source_range=opentime.TimeRange(
            opentime.RationalTime(source_start, r), opentime.RationalTime(frames, r)
        ),
    )
    clip.enabled = spec.enabled
    return clip
