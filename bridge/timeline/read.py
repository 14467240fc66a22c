"""Read a timeline file into an ``Edit``: visible shots, audio clips, transitions, markers.

Record times are exact ``Fraction`` seconds from the timeline's first frame until the
``Edit`` is built. Where video tracks overlap, the top-most enabled track wins; nested
stacks are flattened; a transition moves the cut to its centre.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio
from opentimelineio import opentime

from bridge.errors import NothingToScoreError, UnreadableTimelineError
from bridge.timeline import edl, formats
from bridge.types import Clip, Edit, TimelineMarker, Transition

Seconds = Fraction


def read_edit(
    path: str | Path,
    *,
    rate: Fraction | None = None,
    drop_frame: bool | None = None,
    timeline_name: str | None = None,
    media_rate_of: Callable[[Path], float | None] | None = None,
) -> Edit:
    """Read a .otio/.otioz/.otiod/.xml/.fcpxml/.fcpxmld/.edl timeline.

    An EDL carries no rate: without ``rate`` it is inferred from the EDL's text (see
    ``bridge.timeline.edl``) and the reason given in the warnings; for other formats
    ``rate`` overrides the rate found in the file. ``drop_frame`` overrides what the file
    says (False when it says nothing). ``timeline_name`` picks a project from an FCPXML
    library or event that holds several. ``media_rate_of(path)`` gives a media file's frame
    rate (None when it cannot tell); with it, an EDL rate that the timecodes leave open is
    taken from the first picture file the EDL names. (Reading media is a later stage's
    business, so the caller lends it.)
    """
    path = Path(path)
    suffix = formats.suffix_of(path)
    if not path.exists():
        raise UnreadableTimelineError("file does not exist", path=path)
    if rate is not None:
        rate = formats.checked_rate(rate, path=path)
    warnings: list[str] = []
    edl_text = formats.read_text(path) if suffix == ".edl" else None
    rate_guessed = False
    if edl_text is not None:
        if rate is None:
            rate, inferred_df, why, certain = edl.infer_rate(edl_text)
            rate_guessed = not certain
            warnings.append(f"EDL frame rate: {why}")
        else:
            inferred_df = bool(edl.fcm_drop_frame(edl_text))
            warnings.append(f"EDL frame rate: {float(rate):.3f} fps as given")
        if drop_frame is None:
            drop_frame = inferred_df
    timeline, base_dir = formats.load_timeline(
        path, rate=rate, timeline_name=timeline_name, warnings=warnings
    )
    if rate_guessed and media_rate_of is not None:
        found = _edl_media_rate(timeline, base_dir, media_rate_of)
        if found is not None and found[0] != rate:
            media_rate, media_path = found
            retry: list[str] = [f"EDL frame rate: {float(media_rate):.3f} fps, the rate of "
                                f"its media {media_path.name} (the timecodes allow it)"]
            try:
                timeline, base_dir = formats.load_timeline(
                    path, rate=media_rate, timeline_name=timeline_name, warnings=retry
                )
            except UnreadableTimelineError:
                pass  # the timecodes do not fit the media's rate: keep the first reading
            else:
                rate, warnings = media_rate, retry
    try:
        return _edit_of(
            timeline,
            source_path=path,
            base_dir=base_dir,
            rate=rate,
            drop_frame=drop_frame,
            edl_text=edl_text,
            warnings=warnings,
        )
    except UnreadableTimelineError as err:
        if err.path is None:  # name the file when the failing piece could not
            err.path = str(path)
        raise


def read_edit_from_otio_json(
    text: str, *, name: str = "timeline", base_dir: Path | None = None
) -> Edit:
    """Read a timeline sent as OTIO JSON text; relative media paths start at ``base_dir``."""
    warnings: list[str] = []
    return _edit_of(
        formats.timeline_of_otio_json(text, name=name, warnings=warnings),
        source_path=Path(name),
        base_dir=base_dir or Path.cwd(),
        rate=None,
        drop_frame=None,
        edl_text=None,
        warnings=warnings,
    )


# ---------------------------------------------------------------- pieces in record time


@dataclass(frozen=True)
class _Piece:
    """One enabled clip placed in record time, before overlaps are resolved."""

    clip: otio.schema.Clip
    start: Seconds
    end: Seconds
    source_start: Seconds  # media time (as the clip states it) shown at ``start``
    speed: Fraction
    layer: tuple[int, ...]  # track indices from the top stack down; larger = on top
    track_name: str


def _seconds(rt: opentime.RationalTime) -> Seconds:
    value, rate = float(rt.value), float(rt.rate)
    # A rate of 0 or a NaN/infinite value would otherwise surface as a bare arithmetic error.
    if not (math.isfinite(value) and math.isfinite(rate) and rate > 0):
        raise UnreadableTimelineError(f"a time in the timeline is not valid ({value:g} frames "
                                      f"at {rate:g} fps); a rate must be positive", field="rate")
    return Fraction(rt.value) / formats.rate_fraction(rt.rate)


def _speed(clip: otio.schema.Clip) -> Fraction:
    speed = Fraction(1)
    for effect in clip.effects:
        if isinstance(effect, otio.schema.LinearTimeWarp):
            speed *= Fraction(effect.time_scalar).limit_denominator(100_000)
    return speed


def _walk_track(
    track: otio.schema.Track,
    *,
    offset: Seconds,
    window: tuple[Seconds, Seconds] | None,
    layer: tuple[int, ...],
    pieces: list[_Piece],
    transitions: list[tuple[Seconds, Seconds, Transition]],
) -> None:
    """Place a track's enabled clips at record time ``offset + t`` (t = track time)."""
    for i, item in enumerate(track):
        if not getattr(item, "enabled", True):  # transitions have no enabled flag
            continue
        rng = track.range_of_child_at_index(i)
        start, end = offset + _seconds(rng.start_time), offset + _seconds(rng.end_time_exclusive())
        if isinstance(item, otio.schema.Transition):
            name = item.name or item.transition_type
            transitions.append((start, end, Transition(name, float(start), float(end))))
            continue
        if window is not None:
            start, end = max(start, window[0]), min(end, window[1])
        if end <= start:
            continue
        local = start - offset - _seconds(rng.start_time)  # how far into the item we start
        if isinstance(item, otio.schema.Clip):
            trimmed = item.trimmed_range()
            speed = _speed(item)
            pieces.append(
                _Piece(
                    item,
                    start,
                    end,
                    _seconds(trimmed.start_time) + local * speed,
                    speed,
                    layer,
                    track.name,
                )
            )
        elif isinstance(item, otio.schema.Stack):
            # A nested stack: its own time runs from its trimmed start.
            inner = offset + _seconds(rng.start_time) - _seconds(item.trimmed_range().start_time)
            for j, sub in enumerate(item):
                if isinstance(sub, otio.schema.Track) and sub.enabled:
                    _walk_track_in_stack(
                        sub,
                        offset=inner,
                        window=(start, end),
                        layer=(*layer, j),
                        pieces=pieces,
                        transitions=transitions,
                    )
        elif isinstance(item, otio.schema.Track):
            inner = offset + _seconds(rng.start_time)
            _walk_track_in_stack(
                item,
                offset=inner,
                window=(start, end),
                layer=(*layer, 0),
                pieces=pieces,
                transitions=transitions,
            )


def _walk_track_in_stack(track, *, offset, window, layer, pieces, transitions) -> None:
    """A track inside a stack, honouring the track's own trim (source_range)."""
    trim = track.trimmed_range()
    shift = offset - _seconds(trim.start_time)
    clip_window = (offset, offset + _seconds(trim.duration))
    if window is not None:
        clip_window = (max(clip_window[0], window[0]), min(clip_window[1], window[1]))
    _walk_track(
        track, offset=shift, window=clip_window, layer=layer, pieces=pieces, transitions=transitions
    )


def _visible(pieces: list[_Piece]) -> list[_Piece]:
    """The top-most piece over every instant; gaps left empty; neighbours merged."""
    bounds = sorted({p.start for p in pieces} | {p.end for p in pieces})
    out: list[_Piece] = []
    for a, b in itertools.pairwise(bounds):
        over = [p for p in pieces if p.start <= a and b <= p.end]
        if not over:
            continue
        top = max(over, key=lambda p: p.layer)
        if out and out[-1].clip is top.clip and out[-1].end == a and out[-1].layer == top.layer:
            prev = out[-1]
            out[-1] = _Piece(
                prev.clip, prev.start, b, prev.source_start, prev.speed, prev.layer, prev.track_name
            )
        else:
            src = top.source_start + (a - top.start) * top.speed
            out.append(_Piece(top.clip, a, b, src, top.speed, top.layer, top.track_name))
    return out


def _cut_at_transition_centres(
    shots: list[_Piece], transitions: list[tuple[Seconds, Seconds, Transition]]
) -> list[_Piece]:
    """Move each cut that a transition straddles to the transition's centre."""
    shots = list(shots)
    for t_start, t_end, _ in transitions:
        centre = (t_start + t_end) / 2
        for k in range(len(shots) - 1):
            a, b = shots[k], shots[k + 1]
            cut = a.end
            if a.end != b.start or not t_start <= cut <= t_end:
                continue
            if cut == centre or not (a.start < centre < b.end):
                break
            shots[k] = _Piece(
                a.clip, a.start, centre, a.source_start, a.speed, a.layer, a.track_name
            )
            shots[k + 1] = _Piece(
                b.clip,
                centre,
                b.end,
                b.source_start + (centre - cut) * b.speed,
                b.speed,
                b.layer,
                b.track_name,
            )
            break
    return shots


# ---------------------------------------------------------------- media paths


def _media(clip: otio.schema.Clip, *, base_dir: Path) -> tuple[Path | None, Seconds, str | None]:
    """(path, media timecode start, why it is missing or None)."""
    ref = clip.media_reference
    available = getattr(ref, "available_range", None)
    tc_start = _seconds(available.start_time) if available is not None else Fraction(0)
    if ref is None or isinstance(ref, otio.schema.MissingReference):
        original = ref.metadata.get("original_target_url") if ref is not None else None
        if original:  # a bundle writer turned an absent file into a MissingReference
            return _path_of_url(str(original), base_dir=base_dir), tc_start, "media offline"
        return None, tc_start, "no media reference (offline)"
    url = getattr(ref, "target_url", None)
    if not url:
        return None, tc_start, f"unsupported media reference {type(ref).__name__}"
    path = _path_of_url(url, base_dir=base_dir)
    if path is None:
        return None, tc_start, f"media URL {url!r} is not a local file"
    if not path.exists():
        return path, tc_start, f"media file not found: {path}"
    return path, tc_start, None


def _edl_media_rate(
    timeline: otio.schema.Timeline, base_dir: Path, media_rate_of: Callable[[Path], float | None]
) -> tuple[Fraction, Path] | None:
    """(frame rate, file) of the first picture file an EDL names that exists and tells one."""
    for clip in timeline.find_clips():
        path, _, why = _media(clip, base_dir=base_dir)
        if path is None or why is not None:
            continue
        fps = media_rate_of(path)
        if fps:
            return formats.rate_fraction(fps), path
    return None


def _path_of_url(url: str, *, base_dir: Path) -> Path | None:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        # file://localhost/x and file:///x both name /x; %20 and UTF-8 escapes decoded.
        path = Path(urllib.parse.unquote(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:
        return None  # http:, s3: ... ; one letter is a Windows drive
    else:
        path = Path(url)
        if not path.exists() and "%" in url:
            path = Path(urllib.parse.unquote(url))
    if not path.is_absolute():
        path = base_dir / path
    return Path(os.path.normpath(path))


# ---------------------------------------------------------------- the Edit


def _plain(value: Any) -> Any:
    """OTIO's AnyDictionary/AnyVector as plain dicts and lists."""
    return json.loads(
        json.dumps(value, default=lambda o: dict(o) if hasattr(o, "items") else list(o))
    )


def _edit_of(
    timeline: otio.schema.Timeline,
    *,
    source_path: Path,
    base_dir: Path,
    rate: Fraction | None,
    drop_frame: bool | None,
    edl_text: str | None,
    warnings: list[str],
) -> Edit:
    rate = Fraction(rate) if rate is not None else formats.timeline_rate(timeline)
    if drop_frame is None:
        drop_frame = bool(formats.drop_frame_in_metadata(timeline))
    drop_frame = drop_frame and formats.drop_frame_possible(rate)

    if rate <= 0:
        raise UnreadableTimelineError(f"frame rate {rate} is not positive", path=source_path,
                                      field="rate")
    _zero_length_clips_warned(timeline, warnings)
    stack = timeline.tracks
    top_tracks = [t for t in stack if isinstance(t, otio.schema.Track) and t.enabled]
    # The cmx reader stores each track's first record timecode as a negative trim start;
    # OTIO files converted from EDLs carry the same layout.
    edl_layout = edl_text is not None or any(
        t.source_range is not None and t.source_range.start_time.value < 0 for t in top_tracks
    )
    if edl_layout:
        shifts = {
            id(t): -_seconds(t.source_range.start_time) if t.source_range else Fraction(0)
            for t in top_tracks
        }
        origin = min(shifts.values(), default=Fraction(0))
        start_frame = round(origin * rate)
    else:
        origin = Fraction(0)
        gst = timeline.global_start_time
        start_frame = round(_seconds(gst) * rate) if gst is not None else 0

    video_pieces: list[_Piece] = []
    audio_pieces: list[_Piece] = []
    transitions: list[tuple[Seconds, Seconds, Transition]] = []
    end = Fraction(0)
    n_video = n_audio = 0
    for index, track in enumerate(stack):
        if not isinstance(track, otio.schema.Track) or not track.enabled:
            continue
        is_video = track.kind == otio.schema.TrackKind.Video
        pieces = video_pieces if is_video else audio_pieces
        own_index = n_video if is_video else n_audio
        before = len(pieces)
        if edl_layout:
            offset = shifts[id(track)] - origin
            _walk_track(
                track,
                offset=offset,
                window=None,
                layer=(index,),
                pieces=pieces,
                transitions=transitions if is_video else [],
            )
            end = max(end, offset + _seconds(track.available_range().duration))
        else:
            _walk_track_in_stack(
                track,
                offset=Fraction(0),
                window=None,
                layer=(index,),
                pieces=pieces,
                transitions=transitions if is_video else [],
            )
            end = max(end, _seconds(track.trimmed_range().duration))
        default_name = f"{'V' if is_video else 'A'}{own_index + 1}"
        for k in range(before, len(pieces)):
            if not pieces[k].track_name:
                pieces[k] = dataclasses.replace(pieces[k], track_name=default_name)
        if is_video:
            n_video += 1
        else:
            n_audio += 1

    duration_frames = round(end * rate)
    if duration_frames <= 0:
        raise NothingToScoreError(
            "nothing to score: the timeline is empty (zero length, no clips or gaps)",
            path=source_path,
        )

    if edl_text is not None:
        _fix_edl_dissolve_media(video_pieces, edl_text)

    transitions.sort(key=lambda t: t[0])
    visible = _cut_at_transition_centres(_visible(video_pieces), transitions)

    track_order = _track_numbers(stack)
    missing_warned: set[str] = set()

    def to_clip(p: _Piece, kind: str) -> Clip:
        path, tc_start, why = _media(p.clip, base_dir=base_dir)
        if why and p.clip.name not in missing_warned:
            missing_warned.add(p.clip.name)
            warnings.append(f"clip {p.clip.name!r}: {why}")
        return Clip(
            name=p.clip.name,
            kind=kind,
            record_start_s=float(p.start),
            record_end_s=float(p.end),
            media_path=path,
            media_start_s=float(p.source_start - tc_start),
            media_missing=why is not None,
            track_index=track_order.get(p.layer[0], 0),
            track_name=p.track_name,
            speed=float(p.speed),
        )

    shots = tuple(to_clip(p, "video") for p in visible)
    if not shots:
        what = "audio only" if audio_pieces else "gaps only"
        warnings.append(f"no picture: the timeline holds {what}; it can be analysed but "
                        "not scored")
    audio_clips = tuple(
        to_clip(p, "audio") for p in sorted(audio_pieces, key=lambda p: (p.start, p.layer))
    )
    markers = _markers(
        timeline, video_pieces + audio_pieces, edl_text=edl_text, rate=rate, origin=origin
    )
    return Edit(
        name=timeline.name or source_path.stem,
        source_path=source_path,
        rate=rate,
        drop_frame=drop_frame,
        start_timecode=formats.timecode(start_frame, rate=rate, drop_frame=drop_frame),
        start_frame=start_frame,
        duration_frames=duration_frames,
        shots=shots,
        audio_clips=audio_clips,
        transitions=tuple(t for _, _, t in transitions),
        markers=markers,
        warnings=tuple(warnings),
    )


def _zero_length_clips_warned(timeline: otio.schema.Timeline, warnings: list[str]) -> None:
    """A clip of zero or negative length takes no time: warn, and let it take none."""
    for clip in timeline.find_clips():
        rng = clip.source_range
        if rng is None or rng.duration.value > 0:
            continue
        track = clip.parent()
        where = f" on track {track.name!r}" if track is not None and track.name else ""
        if rng.duration.value < 0:
            warnings.append(f"clip {clip.name!r}{where}: negative length "
                            f"({rng.duration.value:g} frames); it takes no time")
            clip.source_range = opentime.TimeRange(
                rng.start_time, opentime.RationalTime(0, rng.duration.rate)
            )
        else:
            warnings.append(f"clip {clip.name!r}{where}: zero length; skipped")


def _track_numbers(stack: otio.schema.Stack) -> dict[int, int]:
    """Stack index -> index among enabled tracks of the same kind (0 = bottom)."""
    counts: dict[str, int] = {}
    numbers = {}
    for index, track in enumerate(stack):
        if isinstance(track, otio.schema.Track) and track.enabled:
            numbers[index] = counts.get(track.kind, 0)
            counts[track.kind] = numbers[index] + 1
    return numbers


def _fix_edl_dissolve_media(pieces: list[_Piece], edl_text: str) -> None:
    """Give dissolve B-sides the media their ``* TO CLIP:`` line names (adapter bug)."""
    targets = iter(formats.edl_dissolve_targets(edl_text))
    for piece in pieces:
        track = piece.clip.parent()
        if track is None:
            continue
        idx = track.index(piece.clip)
        if idx > 0 and isinstance(track[idx - 1], otio.schema.Transition):
            url = next(targets, None)
            ref = piece.clip.media_reference
            if url and isinstance(ref, otio.schema.ExternalReference):
                ref.target_url = url


def _markers(
    timeline: otio.schema.Timeline,
    pieces: list[_Piece],
    *,
    edl_text: str | None,
    rate: Fraction,
    origin: Seconds,
) -> tuple[TimelineMarker, ...]:
    found: list[TimelineMarker] = []

    def add(marker: otio.schema.Marker, start: Seconds) -> None:
        found.append(
            TimelineMarker(
                name=marker.name,
                note=marker.comment or "",
                start_s=float(start),
                duration_s=float(_seconds(marker.marked_range.duration)),
                color=str(marker.color or ""),
                metadata=_plain(marker.metadata),
            )
        )

    for marker in timeline.tracks.markers:
        add(marker, _seconds(marker.marked_range.start_time))
    if edl_text is not None:
        # Locators are absolute record timecode; the adapter drops drop-frame ones, so we read
        # them from the text and skip its clip markers.
        for tc, colour, name in formats.edl_locators(edl_text):
            at = Fraction(formats.frames_of_timecode(tc, rate=rate)) / rate - origin
            found.append(
                TimelineMarker(name=name, note="", start_s=float(at), duration_s=0.0, color=colour)
            )
    else:
        for track in timeline.tracks:
            if isinstance(track, otio.schema.Track) and track.enabled:
                for marker in track.markers:
                    add(
                        marker,
                        _seconds(marker.marked_range.start_time)
                        - _seconds(track.trimmed_range().start_time),
                    )
        seen: set[int] = set()
        for p in pieces:
            if id(p.clip) in seen:
                continue
            seen.add(id(p.clip))
            for marker in p.clip.markers:
                # Clip markers are in the clip's media time.
                at = p.start + (_seconds(marker.marked_range.start_time) - p.source_start) / p.speed
                add(marker, at)
    # Markers of disabled or fully hidden clips and duplicates are of no use downstream.
    unique = {(m.name, round(m.start_s, 6), m.color): m for m in found}
    return tuple(sorted(unique.values(), key=lambda m: (m.start_s, m.name)))
