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

from bridge.errors import UnreadableTimelineError, UnsupportedFormatError

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


def otio_rate(rate: Fraction) -> float:
    return float(rate)


def timecode(frames: int, *, rate: Fraction, drop_frame: bool) -> str:
    """'HH:MM:SS:FF' (';' before the frames for drop-frame) for a frame count."""
    rt = opentime.RationalTime(frames, otio_rate(rate))
    return opentime.to_timecode(rt, otio_rate(rate), drop_frame)


def frames_of_timecode(tc: str, *, rate: Fraction) -> int:
    """Frame count of a timecode; ';' or ',' marks drop-frame, as OTIO reads it."""
    return round(opentime.from_timecode(tc, otio_rate(rate)).value)


def drop_frame_possible(rate: Fraction) -> bool:
    """Drop-frame timecode exists only for 29.97 and 59.94 (multiples of 30000/1001)."""
    return rate.denominator == 1001 and rate.numerator % 30000 == 0


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


def load_timeline(path: Path, *, rate: Fraction) -> tuple[otio.schema.Timeline, Path]:
    """Read a timeline file; return it and the folder its relative media paths start from.

    ``rate`` is used by formats that carry none (EDL). Raises UnreadableTimelineError naming
    the file and what the adapter said.
    """
    suffix = suffix_of(path)
    if not path.exists():
        raise UnreadableTimelineError("file does not exist", path=path)
    adapter = ADAPTER_FOR_SUFFIX[suffix]
    base_dir = path.parent
    try:
        if suffix == ".edl":
            text = read_text(path)
            tl = otio.adapters.read_from_string(text, adapter_name=adapter, rate=otio_rate(rate))
        elif suffix in (".fcpxml", ".fcpxmld"):
            xml_path = path / "Info.fcpxml" if suffix == ".fcpxmld" else path
            tl = otio.adapters.read_from_file(str(xml_path), adapter_name=adapter)
            tl = _fcpx_true_rate(tl, xml_path)
        elif suffix == ".otioz":
            tl = otio.adapters.read_from_file(str(path), adapter_name=adapter)
            base_dir = _otioz_media_cache(path)
        elif suffix == ".otiod":
            tl = otio.adapters.read_from_file(str(path), adapter_name=adapter)
            base_dir = path
        else:
            tl = otio.adapters.read_from_file(str(path), adapter_name=adapter)
    except UnreadableTimelineError:
        raise
    except Exception as exc:  # adapters raise anything from KeyError to ParseError
        raise UnreadableTimelineError(
            f"not a readable {adapter} timeline ({type(exc).__name__}: {exc})", path=path
        ) from exc
    if not isinstance(tl, otio.schema.Timeline):
        raise UnreadableTimelineError(f"holds a {type(tl).__name__}, not a timeline", path=path)
    return tl, base_dir


def timeline_of_otio_json(text: str, *, name: str) -> otio.schema.Timeline:
    """A timeline sent as OTIO JSON text; UnreadableTimelineError naming ``name`` if not."""
    try:
        tl = otio.adapters.read_from_string(text, adapter_name="otio_json")
    except Exception as exc:  # the JSON parser and OTIO raise several types
        raise UnreadableTimelineError(
            f"not a readable OTIO JSON timeline ({type(exc).__name__}: {exc})", path=name
        ) from exc
    if not isinstance(tl, otio.schema.Timeline):
        raise UnreadableTimelineError(f"holds a {type(tl).__name__}, not a timeline", path=name)
    return tl


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Old EDLs are often Latin-1; every byte decodes, so garbage is caught by the parser.
        return data.decode("latin-1")


def _retimed(timeline: otio.schema.Timeline, change) -> otio.schema.Timeline:
    """A copy with every RationalTime replaced by ``change(value, rate) -> (value, rate)``."""

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("OTIO_SCHEMA", "")).startswith("RationalTime."):
                node["value"], node["rate"] = change(float(node["value"]), float(node["rate"]))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    data = json.loads(otio.adapters.write_to_string(timeline, adapter_name="otio_json"))
    walk(data)
    return otio.adapters.read_from_string(json.dumps(data), adapter_name="otio_json")


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


def _fcpx_true_rate(timeline: otio.schema.Timeline, xml_path: Path) -> otio.schema.Timeline:
    """Undo the fcpx_xml reader's integer rates (it reads 1001/30000s as 29 fps).

    The reader truncates seconds*int_rate to whole frames, so a time lies in
    [value, value + 1) frames at the integer rate; we take the middle and round onto the
    true grid, which lands within one frame.
    """
    try:
        root = ElementTree.parse(xml_path).getroot()
    except (ElementTree.ParseError, OSError):
        return timeline
    durations = {f.get("id"): f.get("frameDuration", "") for f in root.iter("format")}
    sequence = next(root.iter("sequence"), None)
    frame_duration = durations.get(sequence.get("format")) if sequence is not None else None
    if not frame_duration or "/" not in frame_duration:
        return timeline
    num, den = frame_duration.rstrip("s").split("/")
    true_rate = Fraction(int(den), int(num))
    if true_rate.denominator == 1:
        return timeline
    int_rate = float(int(true_rate))

    def change(value: float, rate: float) -> tuple[float, float]:
        if rate != int_rate:
            return value, rate
        frames = round((value + 0.5) * float(true_rate) / int_rate - 0.5) if value else 0
        return float(frames), float(true_rate)

    return _retimed(timeline, change)


def edl_fcm_drop_frame(edl_text: str) -> bool | None:
    """True/False from the EDL's first ``FCM:`` line, None when it has none."""
    for line in edl_text.splitlines():
        text = line.strip().upper()
        if text.startswith("FCM"):
            return "NON" not in text and "DROP" in text
    return None


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
    text = otio.adapters.write_to_string(out, adapter_name="cmx_3600", rate=otio_rate(rate))
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

_LOC = re.compile(r"^\*\s*LOC:\s*(\d\d:\d\d:\d\d[:;.,]\d\d)\s+(\w*)\s*(.*)$", re.IGNORECASE)
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
