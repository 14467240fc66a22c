"""`scorebridge doctor`: check this installation and say how to fix what is missing.

Each line is ✔ or ✖ with what was found, and a fix under every ✖. Lines marked "needed to
score" decide the exit status: 0 only when the default engine (the heuristic affect sensor
and the symbolic composer rendered by FluidSynth) can score here, 1 otherwise. The other
lines (codecs, the bridge, Resolve, the neural backends) explain what a feature needs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bridge import __version__, platform_paths

MIN_PYTHON = (3, 11)
DEFAULT_PORTS = {"gRPC": 50051, "HTTP": 50052}  # what `scorebridge serve` binds by default
TOKEN_FILE = "token"  # the names bridge.server.auth uses
ENDPOINT_FILE = "bridge.json"
EXIT_CANNOT_SCORE = 1


@dataclass(frozen=True)
class Check:
    title: str
    ok: bool
    detail: str
    fix: str = ""
    needed_to_score: bool = False

    def lines(self, marks: tuple[str, str] = ("✔", "✖")) -> list[str]:
        mark = marks[0] if self.ok else marks[1]
        need = " (needed to score)" if self.needed_to_score and not self.ok else ""
        out = [f"{mark} {self.title}: {self.detail}{need}"]
        if not self.ok and self.fix:
            out.append(f"    fix: {self.fix}")
        return out


# ---------------------------------------------------------------- the checks


def check_python() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Check("Python", ok, f"{version} at {sys.executable}",
                 f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer", needed_to_score=True)


def check_package() -> Check:
    import bridge

    try:
        import bridge.pipeline  # every stage and its dependencies
    except ImportError as err:
        return Check("Scorebridge", False, f"{__version__}: cannot import {err.name or err}",
                     "pip install --force-reinstall scorebridge", needed_to_score=True)
    return Check("Scorebridge", True, f"{__version__} from {Path(bridge.__file__).parent}",
                 needed_to_score=True)


def check_fluidsynth() -> Check:
    from bridge.errors import BackendUnavailableError
    from bridge.render.soundfont import fluidsynth_version

    try:
        location, version = fluidsynth_version()
    except BackendUnavailableError as err:
        return Check("FluidSynth", False, str(err).split("; ")[0],
                     platform_paths.fluidsynth_install_hint(), needed_to_score=True)
    return Check("FluidSynth", True, f"{version} ({location})", needed_to_score=True)


def check_soundfont(explicit: Path | None) -> Check:
    from bridge.errors import BackendUnavailableError
    from bridge.render.soundfont import find_soundfont

    try:
        path = find_soundfont(explicit)
    except BackendUnavailableError as err:
        return Check("SoundFont", False, str(err).split("; ")[0],
                     platform_paths.soundfont_install_hint(), needed_to_score=True)
    size_mb = path.stat().st_size / 1e6
    return Check("SoundFont", True, f"{path} ({size_mb:.0f} MB)", needed_to_score=True)


def check_default_engine() -> list[Check]:
    """The default backends (needed to score), then each other backend and why it is missing."""
    from bridge.config import ScoreOptions
    from bridge.pipeline import list_backends

    defaults = ScoreOptions()
    wanted = {"affect": defaults.affect_backend, "music": defaults.music_backend}
    checks = []
    for kind, entries in list_backends().items():
        for entry in entries:
            is_default = entry.name == wanted.get(kind)
            title = f"{kind} backend {entry.name!r}" + (" (default)" if is_default else "")
            # the reason's fix (after "; ") is already on the FluidSynth/SoundFont lines
            detail = "can run" if entry.available else f"cannot run: {entry.reason.split('; ')[0]}"
            fix = ("fix the lines above" if is_default
                   else "only needed when you choose this backend; see `scorebridge backends`")
            checks.append(Check(title, entry.available, detail, fix, needed_to_score=is_default))
    missing = [name for kind, name in wanted.items()
               if not any(c.title.startswith(f"{kind} backend {name!r}") for c in checks)]
    if missing:
        checks.append(Check("default backends", False, f"not registered: {', '.join(missing)}",
                            "pip install --force-reinstall scorebridge", needed_to_score=True))
    return checks


def check_codecs() -> Check:
    from bridge.media.codecs import EDITING_CODECS, decodable, ffmpeg_version

    found = decodable()
    missing = [EDITING_CODECS[name] for name, ok in found.items() if not ok]
    names = ", ".join(EDITING_CODECS[name] for name, ok in found.items() if ok) or "none"
    detail = f"decodes {names} ({ffmpeg_version()})"
    if missing:
        detail += f"; cannot decode {', '.join(missing)}"
    return Check("Video codecs", not missing, detail,
                 "pip install --force-reinstall av (PyPI's wheels carry these decoders), or "
                 "transcode that media to H.264 or ProRes")


def _answers_health(http_url: str) -> bool:
    try:
        with urllib.request.urlopen(http_url.rstrip("/") + "/v1/health", timeout=1.5) as reply:
            return json.load(reply).get("status") == "SERVING"
    except (OSError, ValueError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_bridge(config: Path) -> Check:
    endpoint_file = config / ENDPOINT_FILE
    if endpoint_file.is_file():
        try:
            endpoint = json.loads(endpoint_file.read_text(encoding="utf-8"))
            http_url = str(endpoint["http"])
        except (OSError, ValueError, KeyError, TypeError):
            endpoint, http_url = {}, ""
        if http_url and _answers_health(http_url):
            return Check("Bridge", True, f"running (pid {endpoint.get('pid', '?')}), gRPC "
                         f"{endpoint.get('grpc', '?')}, HTTP {http_url}, answering health")
        return Check("Bridge", False, f"{endpoint_file} names a bridge that does not answer "
                     "(it stopped without cleaning up)",
                     "start it again with `scorebridge serve`")
    default_http = f"http://127.0.0.1:{DEFAULT_PORTS['HTTP']}"
    if _answers_health(default_http):
        return Check("Bridge", True, f"a bridge answers health at {default_http}")
    busy = [f"{port} ({name})" for name, port in DEFAULT_PORTS.items() if not _port_free(port)]
    if busy:
        return Check("Bridge", False, f"not running, and port {', '.join(busy)} is in use by "
                     "another program",
                     "stop that program, or `scorebridge serve --port N` (the Premiere panel "
                     "only talks to HTTP port 50052)")
    ports = " and ".join(f"{port} ({name})" for name, port in DEFAULT_PORTS.items())
    return Check("Bridge", True, f"not running; ports {ports} are free for `scorebridge serve`")


def check_token(config: Path) -> Check:
    path = config / TOKEN_FILE
    if not path.exists():
        return Check("Token", True, f"none yet at {path}; `scorebridge serve` creates it")
    if os.name == "nt":  # POSIX modes mean nothing there; the profile folder is private
        return Check("Token", True, f"{path}")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return Check("Token", False, f"{path} is readable by others (mode {mode:03o})",
                     f"chmod 600 '{path}'")
    return Check("Token", True, f"{path} (mode {mode:03o})")


def check_resolve() -> Check:
    from bridge.install_resolve import ENTRY_SCRIPTS, LIB_FOLDER, default_scripts_dir
    from bridge.plugin_files import plugin_dir

    edit = default_scripts_dir()
    installed_at = [p for p in platform_paths.resolve_install_paths() if p.exists()]
    if not edit.parent.is_dir() and not installed_at:
        return Check("DaVinci Resolve", False,
                     f"not found (no {edit.parent}, no "
                     f"{platform_paths.resolve_install_paths()[0]})",
                     "install DaVinci Resolve and start it once, then `scorebridge "
                     "install-resolve` (or `install-resolve --dest DIR` for another folder)")
    missing = [name for name in ENTRY_SCRIPTS if not (edit / name).is_file()]
    if missing:
        return Check("DaVinci Resolve", False, f"scripts not installed in {edit}",
                     "scorebridge install-resolve")
    shipped = plugin_dir("resolve") / "scorebridge_resolve.py"
    copy = edit / LIB_FOLDER / "scorebridge_resolve.py"
    if not copy.is_file() or copy.read_bytes() != shipped.read_bytes():
        return Check("DaVinci Resolve", False, f"scripts in {edit} are from another version",
                     "scorebridge install-resolve (restart Resolve afterwards)")
    return Check("DaVinci Resolve", True, f"scripts installed and current in {edit}")


def check_premiere() -> Check:
    from bridge.install_premiere import INSTALL_RECORD, default_panel_dir
    from bridge.plugin_files import plugin_dir, shipped_files

    folder = default_panel_dir()
    if not (folder / INSTALL_RECORD).is_file():
        return Check("Premiere panel", False, f"not installed in {folder}",
                     "scorebridge install-premiere (then load it in Premiere, as it prints)")
    source = plugin_dir("premiere")
    def current(relative: Path) -> bool:
        copy = folder / relative
        return copy.is_file() and copy.read_bytes() == (source / relative).read_bytes()

    if not all(current(relative) for relative in shipped_files(source)):
        return Check("Premiere panel", False, f"the copy in {folder} is from another version",
                     "scorebridge install-premiere, then reload the panel")
    return Check("Premiere panel", True, f"installed and current in {folder}")


def check_neural() -> Check:
    from bridge.neural_runtime import describe

    runtime = describe()
    if runtime.torch is None or runtime.transformers is None:
        absent = [n for n, v in (("torch", runtime.torch), ("transformers", runtime.transformers))
                  if v is None]
        return Check("Neural backends", False, f"{' and '.join(absent)} not installed",
                     "only for the neural backends: pip install 'scorebridge[neural]'")
    gpu = "no GPU visible, CPU only" if runtime.device == "cpu" else runtime.device
    return Check("Neural backends", True,
                 f"torch {runtime.torch}, transformers {runtime.transformers}; {gpu}")


def _guarded(title: str, check: Callable[[], Check | list[Check]], needed: bool,
             debug: bool) -> list[Check]:
    """Run one check; an unexpected failure becomes a ✖ line instead of a traceback."""
    try:
        result = check()
    except Exception as err:
        if debug:
            raise
        return [Check(title, False, f"the check failed: {type(err).__name__}: {err}",
                      "run `scorebridge --debug doctor` and report the traceback",
                      needed_to_score=needed)]
    return result if isinstance(result, list) else [result]


def run_checks(soundfont: Path | None = None, config: Path | None = None, *,
               debug: bool = False) -> list[Check]:
    config = platform_paths.config_dir(config)
    plan: list[tuple[str, Callable[[], Check | list[Check]], bool]] = [
        ("Python", check_python, True),
        ("Scorebridge", check_package, True),
        ("FluidSynth", check_fluidsynth, True),
        ("SoundFont", lambda: check_soundfont(soundfont), True),
        ("Backends", check_default_engine, True),
        ("Video codecs", check_codecs, False),
        ("Bridge", lambda: check_bridge(config), False),
        ("Token", lambda: check_token(config), False),
        ("DaVinci Resolve", check_resolve, False),
        ("Premiere panel", check_premiere, False),
        ("Neural backends", check_neural, False),
    ]
    checks: list[Check] = []
    for title, check, needed in plan:
        checks += _guarded(title, check, needed, debug)
    return checks


def can_score(checks: list[Check]) -> bool:
    return all(c.ok for c in checks if c.needed_to_score)


def marks_for(stream) -> tuple[str, str]:
    """✔/✖, or plain marks where the output cannot encode them (a Windows code page)."""
    try:
        "✔✖".encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ("ok", "XX")
    return ("✔", "✖")


def report(checks: list[Check], marks: tuple[str, str] = ("✔", "✖")) -> str:
    lines = [f"scorebridge {__version__} on {sys.platform}"]
    for check in checks:
        lines += check.lines(marks)
    lines.append("The default engine can score here." if can_score(checks) else
                 "Scoring will fail until the lines marked \"needed to score\" are fixed.")
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = run_checks(args.soundfont, args.config_dir, debug=args.debug)
    print(report(checks, marks_for(sys.stdout)))
    return 0 if can_score(checks) else EXIT_CANNOT_SCORE


def add_command(subparsers) -> argparse.ArgumentParser:
    help_text = "check this installation (FluidSynth, SoundFont, codecs, bridge, plugins)"
    parser = subparsers.add_parser("doctor", help=help_text, description=help_text)
    parser.add_argument("--soundfont", type=Path, help="check this .sf2/.sf3 instead")
    parser.add_argument("--config-dir", type=Path, metavar="DIR",
                        help=f"the bridge's config folder (default {platform_paths.config_dir()})")
    parser.set_defaults(func=cmd_doctor)
    return parser
