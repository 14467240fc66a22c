"""Loading and saving OTIO timelines in every supported file format.

The adapters differ in what they carry; the differences are handled here once:

- ``.edl`` (cmx_3600) has no frame rate: the caller passes one. It has one video track and at
  most two audio tracks, record timecode is absolute and only clip markers ("* LOC:") exist,
  also in absolute record timecode. The writer ignores ``global_start_time`` and writes no
  ``FCM`` line, so we shift the tracks to the start timecode and add ``FCM:`` ourselves.
- ``.otioz`` / ``.otiod`` bundle their media under ``media/``; an ``.otioz`` is unpacked once
  into a cache folder so its media can be found.
- ``.fcpxmld`` is a folder holding ``Info.fcpxml``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree

import opentimelineio as otio
from opentimelineio import opentime

from bridge.errors import (
    InvalidOptionError,
    NothingToScoreError,
    UnreadableTimelineError,
    UnsupportedFormatError,
)
from bridge.timeline import edl as _edl
from bridge.timeline import fcpx as _fcpx
from bridge.timeline import timecode as _tc

ADAPTER_FOR_SUFFIX = {
    ".otio": "otio_json",
    ".otioz": "otioz",
    ".otiod": "otiod",
    ".xml": "fcp_xml",
    ".fcpxml": "fcpx_xml",
    ".fcpxmld": "fcpx_xml",
    ".edl": "cmx_3600",
}
SUPPORTED_SUFFIXES = tuple(ADAPTER_FOR_SUFFIX)
EDL_DEFAULT_RATE = Fraction(24)
SCOREBRIDGE_KEY = "scorebridge"


def suffix_of(path: str | Path, *, what: str = "timeline") -> str:
    """Lower-case suffix of ``path``, or UnsupportedFormatError naming it and the choices."""
    suffix = Path(path).suffix.lower()
    if suffix not in ADAPTER_FOR_SUFFIX:
        raise UnsupportedFormatError(
            f"{what} format {suffix or '(no extension)'!r} is not supported; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}",
            path=path,
        )
    return suffix


def rate_fraction(rate: float | Fraction | int) -> Fraction:
    """Exact frame rate: 23.976 -> 24000/1001, 29.97 -> 30000/1001, 25.0 -> 25."""
    value = float(rate)
    nearest = round(value)
    if abs(value - nearest) < 1e-6:
        return Fraction(nearest)
    ntsc_base = round(value * 1001 / 1000)
    # Adapters store NTSC rates as floats rounded anywhere from 2 to 15 decimals.
    if ntsc_base > 0 and abs(value - ntsc_base * 1000 / 1001) < 5e-3:
        return Fraction(ntsc_base * 1000, 1001)
    return Fraction(value).limit_denominator(1001)


def checked_rate(rate, *, path=None) -> Fraction:
    """A frame rate given by a user or a file, as an exact positive Fraction."""
    try:
        value = Fraction(str(rate)) if isinstance(rate, str) else Fraction(rate)
    except (ValueError, ZeroDivisionError, TypeError):
        raise InvalidOptionError(f"{rate!r} is not a frame rate", path=path,
                                 field="rate") from None
    if not 0 < value <= 1000:
        raise InvalidOptionError(f"frame rate {rate} is outside (0, 1000] fps", path=path,
                                 field="rate")
    return rate_fraction(value) if value.denominator != 1 else value


def otio_rate(rate: Fraction) -> float:
    return float(rate)


def timecode(frames: int, *, rate: Fraction, drop_frame: bool) -> str:
    """'HH:MM:SS:FF' (';' before the frames for drop-frame) for a frame count, at any rate."""
    return _tc.timecode(frames, rate=Fraction(rate), drop_frame=drop_frame)


def frames_of_timecode(tc: str, *, rate: Fraction) -> int:
    """Frame count of a timecode; ';' or ',' marks drop-frame."""
    return _tc.frames_of_timecode(tc, rate=Fraction(rate))


drop_frame_possible = _tc.drop_frame_possible


def timeline_rate(timeline: otio.schema.Timeline) -> Fraction:
    """The frame rate of the record timeline: its start time's, else its first clip's."""
    if timeline.global_start_time is not None:
        return rate_fraction(timeline.global_start_time.rate)
    for clip in timeline.find_clips():
        return rate_fraction(clip.trimmed_range().duration.rate)
    return rate_fraction(timeline.tracks.duration().rate or 24)


def drop_frame_in_metadata(timeline: otio.schema.Timeline) -> bool | None:
    """Drop-frame as our builder or the fcp_xml reader recorded it; None when unknown."""
    ours = timeline.metadata.get(SCOREBRIDGE_KEY, {})
    if "drop_frame" in ours:
        return bool(ours["drop_frame"])
    fcp = timeline.metadata.get("fcp_xml", {})
    fmt = fcp.get("timecode", {}).get("displayformat") if hasattr(fcp, "get") else None
    if fmt:
        return str(fmt).upper() == "DF"
    return None


# ---------------------------------------------------------------- reading


def _otioz_media_cache(path: Path) -> Path:
    """Unpack an .otioz once per file version into a cache folder; return that folder."""
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    folder = Path(tempfile.gettempdir()) / "scorebridge-otioz" / key[:16]
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=folder.parent))
        with zipfile.ZipFile(path) as zf:
            zf.extractall(staging)
        try:
            os.replace(staging, folder)
        except OSError:  # another process unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_timeline(
    path: Path,
    *,
    rate: Fraction | None = None,
    timeline_name: str | None = None,
    warnings: list[str] | None = None,
) -> tuple[otio.schema.Timeline, Path]:
    """Read a timeline file; return it and the folder its relative media paths start from.

    ``rate`` is used by formats that carry none (EDL; inferred from its text when None).
    ``timeline_name`` picks one of several projects in an FCPXML library or event. What was
    assumed or skipped is appended to ``warnings``. Raises UnreadableTimelineError naming
    the file and what the adapter said.
    """
    suffix = suffix_of(path)
    if not path.exists():
        raise UnreadableTimelineError("file does not exist", path=path)
    warnings = warnings if warnings is not None else []
    adapter = ADAPTER_FOR_SUFFIX[suffix]
    base_dir = path.parent
    try:
        if suffix == ".edl":
            text = read_text(path)
            if rate is None:
                rate, _, why, _ = _edl.infer_rate(text)
                warnings.append(f"EDL frame rate: {why}")
            tl = _edl.read_edl(text, rate=Fraction(rate), path=path, warnings=warnings)
        elif suffix in (".fcpxml", ".fcpxmld"):
            xml_path = path / "Info.fcpxml" if suffix == ".fcpxmld" else path
            if not xml_path.is_file():
                raise UnreadableTimelineError("bundle holds no Info.fcpxml", path=path)
            tl = _read_fcpx(xml_path, warnings)
        elif suffix == ".otioz":
            tl = otio.adapters.read_from_file(str(path), adapter_name=adapter)
            base_dir = _otioz_media_cache(path)
        elif suffix == ".otiod":
            tl = otio.adapters.read_from_file(str(path), adapter_name=adapter)
            base_dir = path
        elif suffix == ".otio":
            tl = _otio_json(read_text(path), path=path, warnings=warnings)
        else:
            tl = otio.adapters.read_from_file(str(path), adapter_name=adapter)
    except UnreadableTimelineError:
        raise
    except ValueError as exc:
        if "No top-level sequences" not in str(exc):
            raise UnreadableTimelineError(
                f"not a readable {adapter} timeline (ValueError: {_first_line(exc)})", path=path
            ) from exc
        root = _xml_root_name(path)
        raise UnreadableTimelineError(
            f"holds no <sequence> (its root is <{root}>), nothing to score", path=path
        ) from exc
        raise
    except Exception as exc:  # adapters raise anything from KeyError to ParseError
        raise UnreadableTimelineError(
            f"not a readable {adapter} timeline ({type(exc).__name__}: {_first_line(exc)})",
            path=path,
        ) from exc
    return _one_timeline(tl, path=path, name=timeline_name), base_dir


def _xml_root_name(path: Path) -> str:
    try:
        return ElementTree.parse(path).getroot().tag
    except (ElementTree.ParseError, OSError):
        return "?"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "no details"


def _timelines_in(node) -> list[otio.schema.Timeline]:
    if isinstance(node, otio.schema.Timeline):
        return [node]
    if isinstance(node, otio.schema.SerializableCollection):
        return [t for child in node for t in _timelines_in(child)]
    return []


def _one_timeline(node, *, path: Path, name: str | None) -> otio.schema.Timeline:
    """The timeline a file holds; from a library or event, the only or the named project."""
    found = _timelines_in(node)
    names = [t.name for t in found]
    if not found:
        if isinstance(node, otio.schema.SerializableCollection):
            raise NothingToScoreError(
                "holds event clips but no project (timeline): nothing to score; "
                "export a project instead", path=path)
        raise UnreadableTimelineError(f"holds a {type(node).__name__}, not a timeline",
                                      path=path)
    if len(found) == 1:
        return found[0]
    if name is None:
        raise UnreadableTimelineError(
            f"holds {len(found)} timelines ({', '.join(map(repr, names))}); "
            "choose one with --timeline NAME (timeline_name over the bridge)",
            path=path,
        )
    chosen = [t for t in found if t.name == name]
    if not chosen:
        raise UnreadableTimelineError(
            f"holds no timeline named {name!r}; it holds {', '.join(map(repr, names))}",
            path=path, field="timeline_name",
        )
    return chosen[0]


def _otio_json(text: str, *, path, warnings: list[str]):
    """OTIO JSON; schema versions newer than this OTIO knows are read as the newest it knows.

    Newer versions add or reshape fields (Marker.3 holds its colour as a Color object); the
    fields we use keep their meaning, and OTIO keeps unknown ones as dynamic fields.
    """
    try:
        return otio.adapters.read_from_string(text, adapter_name="otio_json")
    except otio.exceptions.UnsupportedSchemaError:
        known = otio.core.type_version_map()
        newer: set[str] = set()

        def walk(node):
            if isinstance(node, dict):
                schema, _, version = str(node.get("OTIO_SCHEMA", "")).rpartition(".")
                if schema in known and version.isdigit() and int(version) > known[schema]:
                    newer.add(f"{schema}.{version}")
                    node["OTIO_SCHEMA"] = f"{schema}.{known[schema]}"
                    colour = node.get("color")
                    if isinstance(colour, dict):  # Color.1 object -> the colour's name
                        node["color"] = str(colour.get("name") or "RED").upper()
                for child in node.values():
                    walk(child)
            elif isinstance(node, list):
                for child in node:
                    walk(child)

        data = json.loads(text)
        walk(data)
        if not newer:
            raise
        tl = otio.adapters.read_from_string(json.dumps(data), adapter_name="otio_json")
        warnings.append(f"{Path(str(path)).name}: written by a newer OTIO "
                        f"({', '.join(sorted(newer))}); read with this version's schemas")
        return tl


def timeline_of_otio_json(
    text: str, *, name: str, warnings: list[str] | None = None
) -> otio.schema.Timeline:
    """A timeline sent as OTIO JSON text; UnreadableTimelineError naming ``name`` if not."""
    try:
        tl = _otio_json(text, path=name, warnings=warnings if warnings is not None else [])
    except Exception as exc:  # the JSON parser and OTIO raise several types
        raise UnreadableTimelineError(
            f"not a readable OTIO JSON timeline ({type(exc).__name__}: {_first_line(exc)})",
            path=name,
        ) from exc
    return _one_timeline(tl, path=Path(name), name=None)


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Old EDLs are often Latin-1; every byte decodes, so garbage is caught by the parser.
        return data.decode("latin-1")


_retimed = _tc.retimed


# The fcpx_xml adapter knows rates only by these keys (int(rate) first, then float(rate)).
_FCPX_RATE_KEYS = {
    Fraction(24000, 1001): 23.98,
    Fraction(30000, 1001): 29.97,
    Fraction(60000, 1001): 59.94,
}


def _fcpx_table_rate(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """Relabel NTSC rates with the adapter's table keys, keeping every time in seconds."""

    def change(value: float, rate: float) -> tuple[float, float]:
        key = _FCPX_RATE_KEYS.get(rate_fraction(rate))
        return (value * key / rate, key) if key else (value, rate)

    return _retimed(timeline, change)


_FCPX_TIME_ATTR = re.compile(
    r'\b(offset|duration|start|tcStart|audioStart|audioDuration)="(-?\d+)(?:/(\d+))?s"'
)
_FCPX_FRAME_DURATION = re.compile(r'frameDuration="(\d+)/(\d+)s"')


def _fcpx_integer_clock(text: str) -> tuple[str, dict[Fraction, Fraction]]:
    """FCPXML text the fcpx_xml reader counts exactly, and the rates to relabel afterwards.

    The reader knows only whole rates: it takes int(30000/1001) = 29 fps and truncates
    seconds * rate to frames, so a 900-frame 29.97 project reads as 870 frames at 29 fps
    (30.0 s instead of 30.03 s). Here each NTSC format becomes its whole rate (1/30s) and
    every time is scaled by 1000/1001, so seconds * 30 is exactly the frame count at
    29.97; a quarter frame is added so the reader's truncation cannot fall one short.
    Returns the text and {whole rate: true rate}.
    """
    relabel: dict[Fraction, Fraction] = {}
    for m in _FCPX_FRAME_DURATION.finditer(text):
        true = Fraction(int(m.group(2)), int(m.group(1)))
        if true.denominator != 1 and true.numerator % 1000 == 0 and true.denominator == 1001:
            relabel[Fraction(round(true))] = true
    if len(relabel) != 1:  # none, or NTSC rates mixed (one scale cannot serve both)
        return text, {}
    (whole, true), = relabel.items()
    scale = Fraction(1000, 1001)

    def frame_duration(m: re.Match) -> str:
        rate = Fraction(int(m.group(2)), int(m.group(1)))
        return f'frameDuration="1/{whole}s"' if rate == true else m.group(0)

    def time(m: re.Match) -> str:
        seconds = Fraction(int(m.group(2)), int(m.group(3) or 1))
        if seconds == 0:
            return m.group(0)
        nudge = Fraction(1, 4 * whole) if seconds > 0 else -Fraction(1, 4 * whole)
        t = seconds * scale + nudge
        return f'{m.group(1)}="{t.numerator}/{t.denominator}s"'

    text = _FCPX_FRAME_DURATION.sub(frame_duration, text)
    return _FCPX_TIME_ATTR.sub(time, text), {whole: true}


def _read_fcpx(xml_path: Path, warnings: list[str]):
    """The fcpx_xml reader's result, with NTSC rates counted exactly (see above) and what
    the reader does not know rewritten first (``bridge.timeline.fcpx``)."""
    text, notes = _fcpx.prepared(read_text(xml_path))
    warnings.extend(notes)
    text, relabel = _fcpx_integer_clock(text)
    result = otio.adapters.read_from_string(text, adapter_name="fcpx_xml")
    if not relabel:
        return result
    (whole, true), = relabel.items()
    if isinstance(result, otio.schema.Timeline):
        return _tc.relabel_rate(result, old=whole, new=true)
    # A library: relabel each timeline (the collection itself holds no times we use).
    timelines = _timelines_in(result)
    out = otio.schema.SerializableCollection(name=result.name)
    for tl in timelines:
        out.append(_tc.relabel_rate(tl, old=whole, new=true))
    return out


edl_fcm_drop_frame = _edl.fcm_drop_frame


# ---------------------------------------------------------------- writing


def save_timeline(
    timeline: otio.schema.Timeline, path: Path, *, rate: Fraction, drop_frame: bool
) -> None:
    """Write ``timeline`` in the format named by the suffix, atomically.

    The output goes to a temporary sibling and is renamed into place, so a failure
    leaves no partial file (and an existing file untouched).
    """
    suffix = suffix_of(path, what="output")
    path = Path(path)
    if not path.parent.is_dir():
        raise UnreadableTimelineError("output folder does not exist", path=path)
    adapter = ADAPTER_FOR_SUFFIX[suffix]
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp = tmp_dir / path.name
    try:
        if suffix == ".edl":
            tmp.write_text(_edl_text(timeline, rate=rate, drop_frame=drop_frame), "utf-8")
        elif suffix in (".otioz", ".otiod"):
            otio.adapters.write_to_file(
                timeline,
                str(tmp),
                adapter_name=adapter,
                # Offline clips stay in the bundle as missing references.
                media_policy=otio.adapters.file_bundle_utils.MediaReferencePolicy.MissingIfNotFile,
            )
        elif suffix in (".fcpxml", ".fcpxmld"):
            xml_path = tmp
            if suffix == ".fcpxmld":
                tmp.mkdir()
                xml_path = tmp / "Info.fcpxml"
            otio.adapters.write_to_file(
                _fcpx_table_rate(timeline), str(xml_path), adapter_name=adapter
            )
            text = xml_path.read_text("utf-8")
            if 'frameDuration=""' in text:  # the writer knows the broadcast rates only
                step = 1 / Fraction(rate)
                text = text.replace('frameDuration=""',
                                    f'frameDuration="{step.numerator}/{step.denominator}s"')
                xml_path.write_text(text, "utf-8")
        else:
            otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter)
            if suffix == ".xml" and drop_frame:
                tmp.write_text(_fcp_xml_drop_frame(tmp.read_text("utf-8"), rate=rate), "utf-8")
        if tmp.is_dir() and path.is_dir():
            # A folder cannot replace a folder in one step: move the old one aside first.
            old = tmp_dir / (path.name + ".old")
            os.replace(path, old)
        os.replace(tmp, path)
    except (OSError, UnsupportedFormatError):
        raise
    except Exception as exc:  # adapters raise anything from KeyError to NotSupportedError
        raise UnsupportedFormatError(
            f"the {adapter} writer cannot write this timeline ({type(exc).__name__}: {exc})",
            path=path,
        ) from exc
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _fcp_xml_drop_frame(text: str, *, rate: Fraction) -> str:
    """Mark NTSC timecodes as drop-frame: the fcp_xml writer always says NDF.

    The reader takes timecodes from <frame>, so only <string> and <displayformat> change.
    """

    def fix(block: re.Match) -> str:
        tc = block.group(0)
        if "<ntsc>TRUE</ntsc>" not in tc:
            return tc
        frame = re.search(r"<frame>(-?\d+)</frame>", tc)
        if frame:
            df = timecode(int(frame.group(1)), rate=rate, drop_frame=True)
            tc = re.sub(r"<string>[^<]*</string>", f"<string>{df}</string>", tc)
        return tc.replace("<displayformat>NDF</displayformat>", "<displayformat>DF</displayformat>")

    return re.sub(r"<timecode>.*?</timecode>", fix, text, flags=re.DOTALL)


def _edl_text(timeline: otio.schema.Timeline, *, rate: Fraction, drop_frame: bool) -> str:
    """CMX 3600 text: the visible video flattened to one track, up to two audio tracks.

    What EDL cannot carry is dropped: extra audio tracks (the "Score" track is kept first),
    disabled tracks, marker colours other than the EDL's names, marker durations and
    metadata. Timeline markers become "* LOC:" lines on the clip under them.
    """
    tl = copy.deepcopy(timeline)
    video = [t for t in tl.video_tracks() if t.enabled]
    audio = [t for t in tl.audio_tracks() if t.enabled]
    audio.sort(key=lambda t: t.name != "Score")
    tracks = otio.schema.Stack()
    if video:
        flat = otio.algorithms.flatten_stack(video) if len(video) > 1 else video[0]
        tracks.append(copy.deepcopy(flat))
    else:
        tracks.append(otio.schema.Track(kind=otio.schema.TrackKind.Video))
    for track in audio[:2]:
        tracks.append(copy.deepcopy(track))
    start = tl.global_start_time or opentime.RationalTime(0, otio_rate(rate))
    _attach_markers_as_locators(tl.tracks.markers, tracks[0], start=start)
    # The writer takes record times from each track's range in the stack: shift by the start.
    for track in tracks:
        track.source_range = opentime.TimeRange(-start, track.duration())
    out = otio.schema.Timeline(name=tl.name)
    out.tracks = tracks
    if _edl.adapter_parses(rate):
        text = otio.adapters.write_to_string(out, adapter_name="cmx_3600", rate=otio_rate(rate))
    else:  # written as frame counts at a rate the writer knows, then re-stamped
        carried = _tc.relabel_rate(out, old=rate, new=_edl.CARRIER_RATE)
        text = otio.adapters.write_to_string(
            carried, adapter_name="cmx_3600", rate=otio_rate(_edl.CARRIER_RATE)
        )
        text = _edl.from_carrier(text, rate=rate)
    fcm = "FCM: DROP FRAME" if drop_frame else "FCM: NON-DROP FRAME"
    head, sep, body = text.partition("\n\n")
    if not sep:
        return f"{fcm}\n\n{text}"
    return f"{head}\n{fcm}\n\n{body}"


def _attach_markers_as_locators(
    markers, video: otio.schema.Track, *, start: opentime.RationalTime
) -> None:
    """EDL locators sit on clips, at absolute record timecode (as the cmx reader expects)."""
    for marker in markers:
        at = marker.marked_range.start_time
        for i, item in enumerate(video):
            if not isinstance(item, otio.schema.Clip):
                continue
            rng = video.range_of_child_at_index(i)
            if rng.start_time <= at < rng.end_time_exclusive():
                loc = copy.deepcopy(marker)
                loc.marked_range = opentime.TimeRange(
                    at.rescaled_to(start) + start, opentime.RationalTime(0, start.rate)
                )
                if loc.color not in _EDL_COLOURS:
                    loc.color = otio.schema.MarkerColor.RED
                item.markers.append(loc)
                break


# OTIO's marker colours (otio.schema.MarkerColor), the ones every adapter understands.
MARKER_COLOURS = (
    "PINK", "RED", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA", "BLACK",
    "WHITE",
)
_EDL_COLOURS = {getattr(otio.schema.MarkerColor, name) for name in MARKER_COLOURS}


# ---------------------------------------------------------------- EDL text the adapter misreads

_LOC = re.compile(r"^\*\s*LOC:\s*(\d\d:\d\d:\d\d[:;.,]\d{2,3})\s+(\w*)\s*(.*)$", re.IGNORECASE)
_TO_URL = re.compile(r"^\*\s*TO (?:CLIP|FILE):\s*(.+)$", re.IGNORECASE)


def edl_locators(text: str) -> list[tuple[str, str, str]]:
    """(timecode, colour, name) of every ``* LOC:`` line.

    The cmx_3600 reader skips drop-frame (';') locators, so EDL markers are read here.
    """
    found = []
    for line in text.splitlines():
        m = _LOC.match(line.strip())
        if m:
            found.append((m.group(1), m.group(2).upper(), m.group(3).strip()))
    return found


def edl_dissolve_targets(text: str) -> list[str]:
    """Media URLs of dissolve B-sides (``* TO CLIP:``), in event order.

    The cmx_3600 reader gives a dissolve's B-side the A-side's ``FROM CLIP`` media.
    """
    return [m.group(1).strip() for line in text.splitlines() if (m := _TO_URL.match(line.strip()))]
