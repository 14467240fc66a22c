"""Scorebridge inside DaVinci Resolve: the logic behind the Workspace > Scripts entries.

The entry scripts ("Score timeline", "Re-score timeline", "Export affect markers") are a
few lines that call :func:`main`. Everything here is deliberately thin: export the current
timeline, ask the local bridge to analyse or score it, then import the result. No analysis
happens in Resolve.

This file runs inside Resolve's own Python, so it uses the standard library only, plus the
bridge's standard-library HTTP client (``bridge/client.py`` with ``config``/``errors``, the
subset of the package that ``scorebridge install-resolve`` puts next to this file). When the
full ``bridge`` package and grpcio happen to import in Resolve's Python, the gRPC client is
used instead; both speak the same JSON-shaped events.

Only calls from Resolve's scripting README are made on the host objects. Nothing in the
timeline is changed until the bridge has answered with a finished result, so "bridge not
running", a cancel or a failed job leave the timeline exactly as it was.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from bridge.config import ScoreOptions  # installed beside this file (see install-resolve)

# removeprefix and subscripted collections.abc types; the entry scripts check this first.
MIN_PYTHON = (3, 9)
# EXPORT_OTIO, AppendToTimeline's clip-info dicts with mediaType/recordFrame and
# SetTrackEnable are all in the 18.5 scripting README; older versions fall back to FCP 7 XML.
MIN_RESOLVE = (18, 0)
OTIO_RESOLVE = (18, 5)
# Field reports: script windows need Studio since 19.1; our scripts only print to the
# console, so the free edition works, but says so up front in case a window is expected.
STUDIO_WINDOWS_SINCE = (19, 1)

# Our markers carry this prefix in customData; the editor's markers never do, so a re-run
# deletes exactly the markers an earlier run added.
MARKER_TAG = "scorebridge:"
SCORE_TRACK = "Score"
# "Score", "Score v2", "Score v3", ...: one track per result; only the newest one plays.
_SCORE_TRACK_NAME = re.compile(r"^Score(?: v(\d+))?$")
_SCORE_FILE = re.compile(r"^score(?:\.v\d+)?\.wav$", re.IGNORECASE)  # what the bridge writes
BIN_NAME = "Scorebridge"
AUDIO = 2  # AppendToTimeline mediaType: audio only
DEFAULT_HTTP_URL = "http://127.0.0.1:50052"
DEFAULT_GRPC_ADDR = "127.0.0.1:50051"
DEFAULT_TIMEOUT_S = 1800.0

# OTIO marker colours (what the bridge sends) -> Resolve's marker colour names.
# Resolve has no orange, black or white: the nearest of its own palette stands in.
RESOLVE_COLORS = {
    "RED": "Red",
    "PINK": "Pink",
    "ORANGE": "Sand",
    "YELLOW": "Yellow",
    "GREEN": "Green",
    "CYAN": "Cyan",
    "BLUE": "Blue",
    "PURPLE": "Purple",
    "MAGENTA": "Fuchsia",
    "BLACK": "Cocoa",
    "WHITE": "Cream",
}

Console = Callable[[str], None]


class PluginError(Exception):
    """A problem to show the editor in one line; nothing has been changed in Resolve."""


# ---------------------------------------------------------------- small pure helpers


def parse_frame_rate(setting: str | float | int) -> Fraction:
    """``timeline.GetSetting("timelineFrameRate")`` -> an exact rate.

    Resolve answers e.g. "24", "23.976", "29.97 DF" or "59.94"; the NTSC rates are
    really 24000/1001, 30000/1001 and 60000/1001, and the DF suffix only changes how
    timecode is counted, not the rate.
    """
    # "NDF" must go before "DF", or "29.97 NDF" leaves a stray "N" behind.
    text = re.sub(r"\s*N?DF$", "", str(setting).strip().upper()).strip()
    try:
        value = float(text)
    except ValueError as err:
        raise PluginError(f"unreadable timeline frame rate {setting!r}") from err
    if value <= 0:
        raise PluginError(f"unreadable timeline frame rate {setting!r}")
    for nominal in (24, 30, 48, 60, 120):
        ntsc = Fraction(nominal * 1000, 1001)
        if abs(value - float(ntsc)) < 0.01 and abs(value - nominal) > 0.01:
            return ntsc
    return Fraction(value).limit_denominator(1001)


def marker_custom_data(marker: dict[str, Any], *, job_id: str, style: str, seed: int) -> str:
    """The customData string of one of our markers: tag + JSON with the values.

    The start time is included so that each string is unique (DeleteMarkerByCustomData
    deletes by exact match), and style/seed so that "Re-score" can repeat the last run.
    """
    payload = {
        "start_s": round(float(marker.get("start_s", 0.0)), 6),
        "valence": round(float(marker.get("valence", 0.0)), 6),
        "arousal": round(float(marker.get("arousal", 0.0)), 6),
        "quadrant": marker.get("quadrant", ""),
        "style": style,
        "seed": seed,
        "job_id": job_id,
    }
    return MARKER_TAG + json.dumps(payload, sort_keys=True)


def parse_custom_data(custom: str) -> dict[str, Any] | None:
    """The JSON of one of our markers, or None for anyone else's marker."""
    if not isinstance(custom, str) or not custom.startswith(MARKER_TAG):
        return None
    try:
        data = json.loads(custom[len(MARKER_TAG):])
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- the bridge connection


def config_dir() -> Path:
    """Where the bridge keeps its token: the bridge's own rule, from ``bridge.local_config``."""
    from bridge.local_config import config_dir as bridge_config_dir

    return bridge_config_dir()


def _token() -> str:
    """The per-install token the bridge wrote; the HTTP gateway refuses calls without it."""
    path = config_dir() / "token"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise PluginError(
            f"no bridge token at {path}: the bridge has never run for this user. "
            "Start it with `scorebridge serve`. Nothing was changed in this timeline."
        ) from err


def _endpoint() -> dict[str, str]:
    """The addresses a running bridge wrote to bridge.json (empty when none is running)."""
    try:
        data = json.loads((config_dir() / "bridge.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def connect(transport: str | None = None) -> Bridge:
    """A client for the local bridge (not yet checked: see :meth:`Bridge.check`).

    ``transport`` "grpc", "http" or "auto" (default, or $SCOREBRIDGE_TRANSPORT): gRPC when
    grpcio and the full ``bridge`` package import in this Python (a developer install),
    else the HTTP gateway with the standard library only (Resolve's usual case).
    Addresses: $SCOREBRIDGE_GRPC_ADDR / $SCOREBRIDGE_HTTP_URL, else what the running bridge
    wrote to bridge.json in its config folder, else the default ports.
    """
    # The installer puts a standard-library subset of the bridge package next to this file
    # (client, config, errors), so this import works in Resolve's Python as well.
    from bridge.client import BridgeClient, HttpBridgeClient

    endpoint = _endpoint()
    transport = (transport or os.environ.get("SCOREBRIDGE_TRANSPORT") or "auto").lower()
    if transport in ("grpc", "auto"):
        addr = os.environ.get("SCOREBRIDGE_GRPC_ADDR") or endpoint.get("grpc") or DEFAULT_GRPC_ADDR
        try:
            # The client sends this install's token; a bridge serving TLS is pinned to the
            # fingerprint it wrote to bridge.json.
            client = BridgeClient(addr, tls_pin=endpoint.get("tls_fingerprint") or None)
            return Bridge(client, kind="gRPC", where=addr)
        except ImportError:  # no grpcio / generated code here: use the HTTP gateway
            if transport == "grpc":
                raise PluginError("gRPC asked for, but grpcio or the bridge package does not "
                                  "import in this Python") from None
    url = os.environ.get("SCOREBRIDGE_HTTP_URL") or endpoint.get("http") or DEFAULT_HTTP_URL
    return Bridge(HttpBridgeClient(url, _token()), kind="HTTP", where=url)


class Bridge:
    """The bridge client (gRPC or HTTP: both have the same methods) and where it is."""

    def __init__(self, client: Any, *, kind: str, where: str) -> None:
        self.client = client
        self.kind = kind
        self.where = where

    def check(self, timeout_s: float = 3.0) -> None:
        try:
            self.client.wait_ready(timeout_s)
        except Exception as err:  # any failure to answer means "not running" to the editor
            raise PluginError(
                f"the Scorebridge bridge is not running at {self.where} ({_why(err)}). "
                "Start it with `scorebridge serve` and run the script again. "
                "Nothing was changed in this timeline."
            ) from err


def _why(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]


# ---------------------------------------------------------------- cancelling


class CancelWatch:
    """Decides when to ask the bridge to cancel: Ctrl-C, a cancel file, or a timeout.

    Resolve's script console has no Cancel button, so creating the cancel file (its path
    is printed at the start) is the way to stop a long job from outside.
    """

    def __init__(self, cancel_file: Path | None, timeout_s: float) -> None:
        self.cancel_file = cancel_file
        self.deadline = time.monotonic() + timeout_s

    def reason(self) -> str | None:
        if self.cancel_file is not None and self.cancel_file.exists():
            return f"cancel file {self.cancel_file} found"
        if time.monotonic() > self.deadline:
            return "timed out"
        return None


def run_job(
    bridge: Bridge,
    call: Callable[..., dict[str, Any]],
    *,
    console: Console,
    watch: CancelWatch,
) -> dict[str, Any]:
    """Run ``call`` (``client.score``/``client.analyze`` with its arguments bound) to its end.

    Prints progress, asks the bridge to cancel the job when ``watch`` says so or on Ctrl-C,
    and turns every failure into a PluginError. Returns the result dict (with ``job_id``).
    """
    state = {"job_id": "", "line": "", "cancel": ""}

    def on_event(event: dict[str, Any]) -> None:
        state["job_id"] = state["job_id"] or event.get("job_id", "")
        p = event.get("progress")
        if p is not None:
            line = (f"  {p.get('stage', ''):>8} {100 * float(p.get('fraction', 0)):5.1f}%"
                    f"  {p.get('message', '')}")
            if line != state["line"]:
                console(line)
                state["line"] = line
        reason = watch.reason()
        if reason and not state["cancel"] and state["job_id"]:
            state["cancel"] = reason
            console(f"Scorebridge: cancelling ({reason})")
            bridge.client.cancel_job(state["job_id"])  # the stream then ends with CANCELLED

    try:
        return call(on_event=on_event)
    except KeyboardInterrupt:
        if state["job_id"]:
            bridge.client.cancel_job(state["job_id"])
        raise PluginError("cancelled (interrupted); nothing was changed") from None
    except Exception as err:
        code = getattr(err, "code", "")
        if code == "CANCELLED" or state["cancel"]:
            raise PluginError(f"cancelled ({state['cancel'] or 'by the bridge'}); "
                              "nothing was changed") from err
        if code == "UNAUTHENTICATED":
            raise PluginError(f"the bridge refused the token in {config_dir() / 'token'}; "
                              "restart the bridge or re-run install. Nothing was changed.") from err
        if code == "UNAVAILABLE":
            raise PluginError(f"lost the bridge at {bridge.where} ({_why(err)}); "
                              "nothing was changed") from err
        raise PluginError(f"the bridge could not do it: {code + ': ' if code else ''}"
                          f"{_why(err)}. Nothing was changed.") from err


# ---------------------------------------------------------------- the Resolve side


class ResolveSession:
    """The project and the timeline being scored, and the edits we make to them.

    The timeline is remembered by ``GetUniqueId()``: a job takes minutes, the editor may
    switch timelines meanwhile, and ``AppendToTimeline`` acts on the *current* one.
    """

    def __init__(self, resolve: Any, console: Console) -> None:
        self.resolve = resolve
        self.console = console
        project = resolve.GetProjectManager().GetCurrentProject()
        if not project:
            raise PluginError("no project is open")
        timeline = project.GetCurrentTimeline()
        if not timeline:
            raise PluginError("no timeline is open: open the cut to score on the Edit page")
        self.project = project
        self.timeline = timeline
        self.timeline_name = str(timeline.GetName() or "")
        self.timeline_id = str(timeline.GetUniqueId() or "")
        self.fps = parse_frame_rate(timeline.GetSetting("timelineFrameRate"))
        self.start_frame = int(timeline.GetStartFrame())

    # ---- which timeline is current

    def make_current(self) -> None:
        """Make the scored timeline current again, or stop: it was switched or deleted."""
        current = self.project.GetCurrentTimeline()
        if current and str(current.GetUniqueId() or "") == self.timeline_id:
            self.timeline = current
            return
        for index in range(1, int(self.project.GetTimelineCount() or 0) + 1):
            candidate = self.project.GetTimelineByIndex(index)
            if candidate and str(candidate.GetUniqueId() or "") == self.timeline_id:
                if not self.project.SetCurrentTimeline(candidate):
                    raise PluginError(f"could not switch back to timeline "
                                      f"{self.timeline_name!r} to place the score")
                self.console(f"Scorebridge: switched back to timeline {self.timeline_name!r} "
                             "(the one that was scored)")
                self.timeline = candidate
                return
        raise PluginError(f"timeline {self.timeline_name!r} is no longer in this project; "
                          "nothing was placed")

    # ---- export

    def export(self, folder: Path) -> Path:
        """Write the timeline as OTIO (Resolve 18.5+) or FCP 7 XML (older Resolve)."""
        otio_type = getattr(self.resolve, "EXPORT_OTIO", None)
        if otio_type is not None:
            path, kind = folder / "timeline.otio", otio_type
        else:
            path, kind = folder / "timeline.xml", self.resolve.EXPORT_FCP_7_XML
        ok = self.timeline.Export(str(path), kind, self.resolve.EXPORT_NONE)
        if not ok or not path.is_file():
            raise PluginError(f"Resolve could not export the timeline to {path}")
        return path

    # ---- markers

    def our_markers(self) -> dict[int, dict[str, Any]]:
        """frameId -> marker, for the markers an earlier run of ours added.

        Resolve's keys are floats (``96.0``); they are whole frames, so int() is exact.
        """
        found = {}
        for frame, info in (self.timeline.GetMarkers() or {}).items():
            if parse_custom_data((info or {}).get("customData", "")) is not None:
                found[int(frame)] = info
        return found

    def previous_run(self) -> dict[str, Any]:
        """Style and seed of the last run, read back from our markers' customData."""
        for _, info in sorted(self.our_markers().items()):
            data = parse_custom_data(info.get("customData", "")) or {}
            if "style" in data or "seed" in data:
                return {"style": data.get("style"), "seed": data.get("seed")}
        return {}

    def replace_markers(
        self, markers: Iterable[dict[str, Any]], *, job_id: str, style: str, seed: int
    ) -> int:
        """Delete our earlier markers, then add the new ones; the editor's stay untouched."""
        for info in self.our_markers().values():
            self.timeline.DeleteMarkerByCustomData(info["customData"])
        added = 0
        for m in markers:
            frame = round(float(m.get("start_s", 0.0)) * self.fps)
            duration = max(1, round(float(m.get("duration_s", 0.0)) * self.fps))
            color = RESOLVE_COLORS.get(str(m.get("color", "")).upper(), "Blue")
            custom = marker_custom_data(m, job_id=job_id, style=style, seed=seed)
            if self.timeline.AddMarker(
                frame, color, m.get("name", ""), m.get("note", ""), duration, custom
            ):
                added += 1
            else:  # Resolve allows one marker per frame: the editor's one wins
                self.console(f"  marker {m.get('name', '')!r} at frame {frame} not added "
                             "(another marker is already there)")
        return added

    # ---- the soundtrack, one track per version

    def score_tracks(self) -> list[tuple[int, int]]:
        """(audio track index, version) of every "Score"/"Score vN" track, oldest first.

        Only empty ones or ones holding a score WAV of the bridge's: an editor's own track
        called "Score" is never disabled or counted.
        """
        found = []
        for index in range(1, int(self.timeline.GetTrackCount("audio")) + 1):
            match = _SCORE_TRACK_NAME.match(str(self.timeline.GetTrackName("audio", index) or ""))
            items = self.timeline.GetItemListInTrack("audio", index) if match else []
            if match and (not items or self._score_file(items)):
                found.append((index, int(match.group(1) or 1)))
        return sorted(found, key=lambda pair: pair[1])

    @staticmethod
    def _score_file(items: Iterable[Any]) -> Path | None:
        """The first of ``items`` whose media is a result WAV (score.wav, score.v2.wav ...)."""
        for item in items or []:
            media = item.GetMediaPoolItem()
            path = str(media.GetClipProperty("File Path") or "") if media else ""
            if _SCORE_FILE.match(Path(path).name):
                return Path(path)
        return None

    def previous_score(self) -> Path | None:
        """The media file on the newest Score track, for a continuity re-score."""
        for index, _ in reversed(self.score_tracks()):
            found = self._score_file(self.timeline.GetItemListInTrack("audio", index))
            if found:
                return found
        return None

    def import_score(self, wav: Path, n_frames: int) -> tuple[int, str]:
        """Import the WAV into the "Scorebridge" bin and lay it on the next Score track.

        Returns (audio track index, track name). Earlier Score tracks are disabled (never
        deleted). Undoes its own import/track when the append fails, so a failure leaves
        no half-done edit.
        """
        media_pool = self.project.GetMediaPool()
        self._use_bin(media_pool)
        items = media_pool.ImportMedia([str(wav)])
        if not items:
            raise PluginError(f"Resolve could not import {wav}")
        item = items[0]
        track, name, created = self._next_score_track()
        appended = media_pool.AppendToTimeline([{
            "mediaPoolItem": item,
            "startFrame": 0,
            "endFrame": n_frames,  # exclusive, as measured on Resolve 21.0
            "mediaType": AUDIO,
            "trackIndex": track,
            "recordFrame": self.start_frame,
        }])
        if not appended:
            if created:
                self.timeline.DeleteTrack("audio", track)
            media_pool.DeleteClips([item])
            raise PluginError(
                f"Resolve could not place {wav.name} on audio track {track}; "
                "the import was undone. Is the track locked?"
            )
        for index, _ in self.score_tracks():
            if index != track and self.timeline.GetIsTrackEnabled("audio", index):
                self.timeline.SetTrackEnable("audio", index, False)
        return track, name

    def _use_bin(self, media_pool: Any) -> None:
        root = media_pool.GetRootFolder()
        for folder in root.GetSubFolderList() or []:
            if folder.GetName() == BIN_NAME:
                media_pool.SetCurrentFolder(folder)
                return
        folder = media_pool.AddSubFolder(root, BIN_NAME)
        if folder:
            media_pool.SetCurrentFolder(folder)

    def _next_score_track(self) -> tuple[int, str, bool]:
        """The newest Score track if it is still empty, else a new "Score vN" track."""
        tracks = self.score_tracks()
        if tracks:
            index, version = tracks[-1]
            if not self.timeline.GetItemListInTrack("audio", index):
                self.timeline.SetTrackEnable("audio", index, True)
                return index, str(self.timeline.GetTrackName("audio", index)), False
        version = tracks[-1][1] + 1 if tracks else 1
        name = SCORE_TRACK if version == 1 else f"{SCORE_TRACK} v{version}"
        if not self.timeline.AddTrack("audio", "stereo"):
            raise PluginError("Resolve could not add an audio track")
        index = int(self.timeline.GetTrackCount("audio"))
        self.timeline.SetTrackName("audio", index, name)
        return index, name, True


# ---------------------------------------------------------------- the three commands


def score(
    resolve: Any,
    *,
    mode: str = "score",
    bridge: Bridge | None = None,
    style: str | None = None,
    seed: int | None = None,
    markers: str | None = None,
    console: Console = print,
    cancel_file: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    work_dir: Path | None = None,
) -> dict[str, Any] | None:
    """Run one command; print what happened; return the bridge's result, or None on failure.

    ``mode``: "score" (soundtrack + markers), "rescore" (the same, keeping the last run's
    style and seed unless ``style``/``seed`` are given) or "markers" (affect markers only).
    ``markers`` is the bridge's marker density ("sections", "peaks", "every:N").
    """
    try:
        return _score(resolve, mode=mode, bridge=bridge, style=style, seed=seed,
                      markers=markers, console=console, cancel_file=cancel_file,
                      timeout_s=timeout_s, work_dir=work_dir)
    except PluginError as err:
        console(f"Scorebridge: {err}")
        return None


def _score(resolve, *, mode, bridge, style, seed, markers, console, cancel_file, timeout_s,
           work_dir):
    if mode not in ("score", "rescore", "markers"):
        raise ValueError(f"unknown mode {mode!r}")
    check_host(resolve, console)
    session = ResolveSession(resolve, console)
    previous_wav = None
    if mode == "rescore":
        previous = session.previous_run()
        if not previous:
            console("Scorebridge: no earlier run found on this timeline; scoring afresh")
        style = style if style is not None else previous.get("style")
        seed = seed if seed is not None else previous.get("seed")
        previous_wav = session.previous_score()
    seed = int(seed or 0)

    bridge = bridge or connect()
    bridge.check()  # before anything else: a missing bridge must leave no trace

    options = ScoreOptions(style=style or None, seed=seed)
    if markers:
        options = options.with_(markers=markers)
    folder = Path(work_dir) if work_dir else None
    if previous_wav is not None:
        if supports_previous_result():
            # The bridge keeps the music of unchanged sections and writes the next
            # version (score.v2.wav ...) beside the previous one, never over it.
            options = options.with_(previous_result=str(previous_wav))
            folder = folder or previous_wav.parent
            console(f"Scorebridge: re-scoring from {previous_wav.name}, "
                    "keeping the music of what did not change")
        else:
            console("Scorebridge: this bridge has no continuity re-score yet; scoring again "
                    "with the same style and seed")
    folder = folder or run_folder(session)
    folder.mkdir(parents=True, exist_ok=True)
    exported = session.export(folder)
    method = "AnalyzeTimeline" if mode == "markers" else "ScoreTimeline"
    cancel_file = cancel_file or folder / "CANCEL"
    console(f"Scorebridge: {method} via {bridge.kind} {bridge.where}; "
            f"to cancel, create {cancel_file}")
    if method == "ScoreTimeline":
        call = partial(bridge.client.score, str(exported), str(folder), options)
    else:
        call = partial(bridge.client.analyze, str(exported), options)
    result = run_job(bridge, call, console=console, watch=CancelWatch(cancel_file, timeout_s))
    job_id = str(result.get("job_id", ""))

    analysis = result.get("analysis", result) if method == "ScoreTimeline" else result
    used_style = (analysis.get("style") or {}).get("name") or style or ""
    affect_markers = analysis.get("markers") or []

    session.make_current()  # the editor may have switched timelines while the job ran
    if method == "ScoreTimeline":
        wav = Path(result.get("wav_path", ""))
        if not wav.is_file():
            raise PluginError(f"the bridge reported a soundtrack at {wav} but it is not there")
        n_frames = int(analysis.get("duration_frames") or 0)
        if n_frames <= 0:
            n_frames = round(float(analysis.get("duration_s", 0.0)) * session.fps)
        track, name = session.import_score(wav, n_frames)
        console(f"Scorebridge: {wav.name} placed on audio track {track} ({name!r}); "
                "earlier Score tracks are disabled, not deleted")
    added = session.replace_markers(affect_markers, job_id=job_id, style=used_style, seed=seed)
    console(f"Scorebridge: {added} affect markers added (style {used_style}, seed {seed})")
    return result


def supports_previous_result() -> bool:
    """Whether this bridge's ScoreOptions can carry the previous result (issue 14's re-score)."""
    from dataclasses import fields

    return any(f.name == "previous_result" for f in fields(ScoreOptions))


def _version(resolve: Any) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in list(resolve.GetVersion() or [])[:2])
    except (TypeError, ValueError):  # an unexpected answer: carry on, say "unknown"
        return ()


def check_host(resolve: Any, console: Console) -> None:
    """Say up front what this Resolve can do; stop below the oldest supported version."""
    version = _version(resolve)
    product = str(resolve.GetProductName() or "")
    shown = ".".join(map(str, version)) or "unknown version"
    if version and version < MIN_RESOLVE:
        raise PluginError(f"{product or 'DaVinci Resolve'} {shown} is too old: Scorebridge "
                          f"needs {'.'.join(map(str, MIN_RESOLVE))} or later")
    notes = []
    if version and version < OTIO_RESOLVE:
        notes.append("no OpenTimelineIO export before 18.5: the cut goes out as FCP 7 XML")
    if version >= STUDIO_WINDOWS_SINCE and "studio" not in product.lower():
        notes.append("free edition: script windows are Studio-only, so all output is here "
                     "in the console")
    console(f"Scorebridge: {product or 'DaVinci Resolve'} {shown}"
            + (f" ({'; '.join(notes)})" if notes else ""))


def run_folder(session: ResolveSession) -> Path:
    """A lasting folder for this run's files: the media pool keeps pointing at the WAV.

    $SCOREBRIDGE_OUTPUT_DIR, else ~/Scorebridge; then <project>/<timeline>-<time>.
    """
    root = Path(os.environ.get("SCOREBRIDGE_OUTPUT_DIR") or Path.home() / "Scorebridge")
    base = root / _safe(session.project.GetName())
    name = f"{_safe(session.timeline.GetName())}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, n = base / name, 1
    while folder.exists():  # two runs within one second
        n += 1
        folder = base / f"{name}-{n}"
    return folder


def _safe(name: Any) -> str:
    """A file-name-safe version of a project or timeline name."""
    text = "".join(c if c.isalnum() or c in " -_." else "_" for c in str(name or "untitled"))
    return text.strip(" .") or "untitled"


def find_resolve(host_globals: dict[str, Any] | None = None) -> Any:
    """The host object, the ways Resolve hands it to scripts.

    A Workspace > Scripts entry gets a global ``resolve``; scripts started from Fusion or
    the console get ``app`` (``app.GetResolve()``) or ``bmd`` (``bmd.scriptapp("Resolve")``);
    outside Resolve (Studio only) ``DaVinciResolveScript.scriptapp("Resolve")``.
    """
    main_module = sys.modules.get("__main__")
    scopes = [host_globals or {}, vars(main_module) if main_module else {}]
    for scope in scopes:
        if scope.get("resolve") is not None:
            return scope["resolve"]
    for scope in scopes:
        for name, get in (("app", lambda o: o.GetResolve()),
                          ("fu", lambda o: o.GetResolve()),
                          ("bmd", lambda o: o.scriptapp("Resolve"))):
            if scope.get(name) is not None:
                try:
                    found = get(scope[name])
                except Exception:  # an object without that call: try the next way
                    found = None
                if found is not None:
                    return found
    try:
        import DaVinciResolveScript  # Resolve's own module, on its script path
    except ImportError as err:
        raise PluginError(
            "run this from DaVinci Resolve (Workspace > Scripts); no `resolve`, `app` or "
            "`bmd` object here and DaVinciResolveScript is not importable"
        ) from err
    found = DaVinciResolveScript.scriptapp("Resolve")
    if found is None:
        raise PluginError("DaVinciResolveScript found no running Resolve (external scripting "
                          "needs Resolve Studio with Preferences > General > External "
                          "scripting set to Local)")
    return found


def main(mode: str, resolve: Any = None, host_globals: dict[str, Any] | None = None) -> int:
    """What the entry scripts call; returns 0 on success, 1 on a reported failure."""
    if sys.version_info < MIN_PYTHON:  # the entry script checks too, before importing us
        print(f"Scorebridge: needs Python {'.'.join(map(str, MIN_PYTHON))} or later; "
              f"this Resolve uses {sys.version.split()[0]}")
        return 1
    try:
        host = resolve if resolve is not None else find_resolve(host_globals)
    except PluginError as err:
        print(f"Scorebridge: {err}")
        return 1
    return 0 if score(host, mode=mode) is not None else 1
