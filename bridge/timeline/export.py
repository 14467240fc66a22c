"""Write the scored timeline: the original edit plus a "Score" audio track and affect markers.

Everything already in the timeline is kept. On a re-score the previous "Score" audio track and
the markers whose metadata holds ``"scorebridge"`` are replaced; the editor's markers are not
touched. What each output format can carry:

- ``.otio`` / ``.otioz`` / ``.otiod``: everything.
- ``.xml`` (Premiere / FCP7): the Score track and marker names and times; marker colours,
  comments and our metadata are dropped by the fcp_xml writer.
- ``.edl``: picture only (one video track, the visible one) with markers as ``* LOC:``
  lines (name upper-cased, no duration, note or metadata); the cmx_3600 writer writes no
  audio events, so the Score track is dropped: import the WAV at the timeline start instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio
from opentimelineio import opentime

from bridge.errors import InvalidOptionError
from bridge.timeline import formats
from bridge.types import AffectMarker

SCORE_TRACK_NAME = "Score"
MARKER_COLOURS = formats.MARKER_COLOURS


def write_scored_timeline(
    source: Path | str | None,
    out_path: Path | str,
    *,
    audio_path: Path,
    audio_duration_s: float,
    markers: Sequence[AffectMarker],
    source_otio_json: str | None = None,
    rate: Fraction | None = None,
    timeline_name: str | None = None,
    score_metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``source`` (a timeline file, or ``source_otio_json`` text) with the score added.

    The "Score" track holds one clip at the timeline's start referencing ``audio_path``, whose
    available range is the audio's full length at the timeline rate. ``rate`` is needed only
    for an EDL source. ``score_metadata`` joins the track's ``scorebridge`` metadata (a
    re-score says there which stretches were kept, shifted or composed again). Returns
    ``out_path``.
    """
    if audio_duration_s <= 0:
        raise InvalidOptionError(
            f"audio length must be positive, got {audio_duration_s} s",
            path=audio_path,
            field="audio_duration_s",
        )
    return _write(
        source,
        out_path,
        markers=markers,
        source_otio_json=source_otio_json,
        rate=rate,
        audio=(Path(audio_path), audio_duration_s, dict(score_metadata or {})),
        timeline_name=timeline_name,
    )


def write_marked_timeline(
    source: Path | str | None,
    out_path: Path | str,
    *,
    markers: Sequence[AffectMarker],
    source_otio_json: str | None = None,
    rate: Fraction | None = None,
    timeline_name: str | None = None,
) -> Path:
    """Like ``write_scored_timeline`` but markers only (a previous Score track is kept)."""
    return _write(
        source, out_path, markers=markers, source_otio_json=source_otio_json, rate=rate, audio=None,
        timeline_name=timeline_name,
    )


def otio_json_of(path: Path | str, *, rate: Fraction | None = None) -> str:
    """A timeline file of any supported format as OTIO JSON text (for the wire)."""
    timeline, _ = formats.load_timeline(Path(path), rate=rate)
    return otio.adapters.write_to_string(timeline, adapter_name="otio_json")


def _load_source(source, source_otio_json, rate, timeline_name=None) -> otio.schema.Timeline:
    if source_otio_json is not None:
        name = str(source) if source is not None else "timeline"
        return formats.timeline_of_otio_json(source_otio_json, name=name)
    if source is None:
        raise InvalidOptionError("give a timeline path or OTIO JSON text", field="source")
    timeline, _ = formats.load_timeline(Path(source), rate=rate, timeline_name=timeline_name)
    return timeline


def _write(source, out_path, *, markers, source_otio_json, rate, audio,
           timeline_name=None) -> Path:
    out_path = Path(out_path)
    formats.suffix_of(out_path, what="output")  # fail before any work on a bad extension
    timeline = _load_source(source, source_otio_json, rate, timeline_name)
    rate = Fraction(rate) if rate is not None else formats.timeline_rate(timeline)
    stack = timeline.tracks

    ours = [m for m in stack.markers if formats.SCOREBRIDGE_KEY in m.metadata]
    for m in ours:
        stack.markers.remove(m)
    for m in markers:
        stack.markers.append(_marker(m, rate=rate))

    if audio is not None:
        for track in [t for t in stack if _is_score_track(t)]:
            stack.remove(track)
        stack.append(_score_track(audio[0], duration_s=audio[1], rate=rate,
                                  metadata=audio[2]))

    drop_frame = bool(formats.drop_frame_in_metadata(timeline)) and formats.drop_frame_possible(
        rate
    )
    formats.save_timeline(timeline, out_path, rate=rate, drop_frame=drop_frame)
    return out_path


def _is_score_track(item) -> bool:
    return (
        isinstance(item, otio.schema.Track)
        and item.kind == otio.schema.TrackKind.Audio
        and item.name == SCORE_TRACK_NAME
    )


def _marker(m: AffectMarker, *, rate: Fraction) -> otio.schema.Marker:
    colour = m.color.upper()
    if colour not in MARKER_COLOURS:
        raise InvalidOptionError(
            f"marker colour {m.color!r} is not one of {', '.join(MARKER_COLOURS)}",
            clip=m.name,
            field="color",
        )
    r = formats.otio_rate(rate)
    return otio.schema.Marker(
        name=m.name,
        marked_range=opentime.TimeRange(
            opentime.RationalTime(round(m.start_s * rate), r),
            opentime.RationalTime(round(m.duration_s * rate), r),
        ),
        color=colour,
        metadata={
            formats.SCOREBRIDGE_KEY: {
                "valence": float(m.valence),
                "arousal": float(m.arousal),
                "quadrant": m.quadrant,
                "note": m.note,
            }
        },
        comment=m.note,
    )


def _score_track(audio_path: Path, *, duration_s: float, rate: Fraction,
                 metadata: Mapping[str, Any]) -> otio.schema.Track:
    r = formats.otio_rate(rate)
    full = opentime.TimeRange(
        opentime.RationalTime(0, r), opentime.RationalTime(round(duration_s * rate), r)
    )
    clip = otio.schema.Clip(
        name=audio_path.name,
        media_reference=otio.schema.ExternalReference(
            target_url=audio_path.resolve().as_uri(), available_range=full
        ),
        source_range=full,
    )
    track = otio.schema.Track(
        name=SCORE_TRACK_NAME,
        kind=otio.schema.TrackKind.Audio,
        metadata={formats.SCOREBRIDGE_KEY: {"generated": True, **metadata}},
    )
    track.append(clip)
    return track
