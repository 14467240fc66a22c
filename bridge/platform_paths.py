"""Where Scorebridge's files, Resolve's script folders, SoundFonts and FluidSynth live, per OS.

Standard library only: the Resolve scripts run in Resolve's own Python and ship this module
beside the HTTP client (see ``install_resolve``), so they find the token by the same rule as
the bridge. Every function takes the platform (``sys.platform`` spelling), the environment
and the home folder as arguments, and fixed system folders are joined onto ``root``, so the
rules for macOS and Windows are testable on Linux.

Per-user folders follow each OS's convention (what ``platformdirs`` would give):

* Linux:   config $XDG_CONFIG_HOME/scorebridge (~/.config/scorebridge), cache
  $XDG_CACHE_HOME/scorebridge (~/.cache/scorebridge), data ~/.local/share/scorebridge
* macOS:   config and data ~/Library/Application Support/Scorebridge, cache
  ~/Library/Caches/Scorebridge
* Windows: config %APPDATA%\\Scorebridge, data %LOCALAPPDATA%\\Scorebridge, cache
  %LOCALAPPDATA%\\Scorebridge\\Cache

The config folder holds the bridge's token and ``bridge.json``, the cache its jobs, the data
folder the installed Premiere panel and the user's own SoundFonts (``soundfonts``).
``$SCOREBRIDGE_CONFIG_DIR``, ``$SCOREBRIDGE_CACHE_DIR`` and ``$SCOREBRIDGE_JOBS_DIR`` override
them on every OS.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from ctypes.util import find_library
from pathlib import Path

APP = "scorebridge"
APP_TITLE = "Scorebridge"  # macOS and Windows folders are conventionally capitalised

CONFIG_ENV = "SCOREBRIDGE_CONFIG_DIR"
CACHE_ENV = "SCOREBRIDGE_CACHE_DIR"
JOBS_ENV = "SCOREBRIDGE_JOBS_DIR"
SOUNDFONT_ENV = "SCOREBRIDGE_SOUNDFONT"
FLUIDSYNTH_ENV = "SCOREBRIDGE_FLUIDSYNTH"  # the library file, or the folder that holds it

SOUNDFONT_SUFFIXES = (".sf2", ".sf3")

# Substituted by tests; every fixed system folder (/usr/share, /Applications, ...) hangs off it.
SYSTEM_ROOT = Path("/")


def _os(platform: str | None) -> str:
    """'darwin', 'win32' or 'linux' (any other Unix follows the Linux rules)."""
    platform = platform or sys.platform
    if platform == "darwin":
        return "darwin"
    if platform.startswith(("win", "cygwin")):
        return "win32"
    return "linux"


def _context(platform, env, home, root):
    env = os.environ if env is None else env
    home = Path(home) if home is not None else Path(env.get("HOME") or Path.home())
    return _os(platform), env, home, Path(root) if root is not None else SYSTEM_ROOT


def _env_path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value).expanduser() if value else None


def _windows_folder(env: Mapping[str, str], name: str, home: Path, fallback: str) -> Path:
    """%APPDATA%-style folders, with the default a fresh profile has when the variable is unset."""
    return _env_path(env, name) or home / fallback


# ---------------------------------------------------------------- Scorebridge's own folders


def config_dir(explicit: str | Path | None = None, *, platform: str | None = None,
               env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """Where the token and ``bridge.json`` live (``explicit``, then $SCOREBRIDGE_CONFIG_DIR)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    system, env, home, _ = _context(platform, env, home, None)
    if _env_path(env, CONFIG_ENV):
        return _env_path(env, CONFIG_ENV)
    if system == "darwin":
        return home / "Library" / "Application Support" / APP_TITLE
    if system == "win32":
        return _windows_folder(env, "APPDATA", home, "AppData/Roaming") / APP_TITLE
    return (_env_path(env, "XDG_CONFIG_HOME") or home / ".config") / APP


def cache_dir(*, platform: str | None = None, env: Mapping[str, str] | None = None,
              home: Path | None = None) -> Path:
    """Where the bridge keeps what it can rebuild (job records and their outputs)."""
    system, env, home, _ = _context(platform, env, home, None)
    if _env_path(env, CACHE_ENV):
        return _env_path(env, CACHE_ENV)
    if system == "darwin":
        return home / "Library" / "Caches" / APP_TITLE
    if system == "win32":
        return _windows_folder(env, "LOCALAPPDATA", home, "AppData/Local") / APP_TITLE / "Cache"
    return (_env_path(env, "XDG_CACHE_HOME") or home / ".cache") / APP


def jobs_dir(*, platform: str | None = None, env: Mapping[str, str] | None = None,
             home: Path | None = None) -> Path:
    """The bridge's job folder: $SCOREBRIDGE_JOBS_DIR, else ``jobs`` in the cache folder."""
    env = os.environ if env is None else env
    return _env_path(env, JOBS_ENV) or cache_dir(platform=platform, env=env, home=home) / "jobs"


def data_dir(*, platform: str | None = None, env: Mapping[str, str] | None = None,
             home: Path | None = None) -> Path:
    """Per-user data: the installed Premiere panel and the user's own SoundFonts."""
    system, env, home, _ = _context(platform, env, home, None)
    if system == "darwin":
        return home / "Library" / "Application Support" / APP_TITLE
    if system == "win32":
        return _windows_folder(env, "LOCALAPPDATA", home, "AppData/Local") / APP_TITLE
    return (_env_path(env, "XDG_DATA_HOME") or home / ".local" / "share") / APP


def user_soundfont_dir(**where) -> Path:
    """The folder Scorebridge searches first for a SoundFont the user put there."""
    return data_dir(**where) / "soundfonts"


# ---------------------------------------------------------------- DaVinci Resolve

RESOLVE_SCRIPT_KINDS = ("Edit", "Utility", "Color", "Deliver", "Comp", "Tool")


def resolve_scripts_root(scope: str = "user", *, platform: str | None = None,
                         env: Mapping[str, str] | None = None, home: Path | None = None,
                         root: Path | None = None) -> Path:
    """Resolve's ``Fusion/Scripts`` folder for this user (``scope="user"``) or all users.

    From Resolve's scripting README: the per-user folders are under Application Support
    (macOS), %APPDATA% (Windows) and ~/.local/share (Linux); the all-users folders under
    /Library, %PROGRAMDATA% and /opt/resolve.
    """
    if scope not in ("user", "system"):
        raise ValueError(f"scope must be 'user' or 'system', not {scope!r}")
    system, env, home, root = _context(platform, env, home, root)
    if system == "darwin":
        base = home if scope == "user" else root
        fusion = base / "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion"
    elif system == "win32":
        if scope == "user":
            appdata = _windows_folder(env, "APPDATA", home, "AppData/Roaming")
            fusion = appdata / "Blackmagic Design/DaVinci Resolve/Support/Fusion"
        else:
            programdata = _env_path(env, "PROGRAMDATA") or _system_drive(env) / "ProgramData"
            fusion = programdata / "Blackmagic Design/DaVinci Resolve/Fusion"
    else:
        fusion = (home / ".local/share/DaVinciResolve/Fusion" if scope == "user"
                  else root / "opt/resolve/Fusion")
    return fusion / "Scripts"


def resolve_scripts_dir(kind: str = "Edit", scope: str = "user", **where) -> Path:
    """One of Resolve's script menus: ``Edit`` (Edit page) or ``Utility`` (every page)."""
    if kind not in RESOLVE_SCRIPT_KINDS:
        raise ValueError(f"Resolve has no {kind!r} scripts folder; one of {RESOLVE_SCRIPT_KINDS}")
    return resolve_scripts_root(scope, **where) / kind


def resolve_install_paths(*, platform: str | None = None, env: Mapping[str, str] | None = None,
                          home: Path | None = None, root: Path | None = None) -> list[Path]:
    """Where a Resolve installation's program usually is (the first that exists = installed)."""
    system, env, home, root = _context(platform, env, home, root)
    if system == "darwin":
        return [root / "Applications/DaVinci Resolve/DaVinci Resolve.app"]
    if system == "win32":
        program_files = _env_path(env, "ProgramFiles") or _system_drive(env) / "Program Files"
        return [program_files / "Blackmagic Design/DaVinci Resolve/Resolve.exe"]
    return [root / "opt/resolve/bin/resolve"]


# ---------------------------------------------------------------- SoundFonts


def _system_drive(env: Mapping[str, str]) -> Path:
    return Path((env.get("SystemDrive") or "C:") + "/")


def _fonts_in(folder: Path, pattern: str = "*") -> list[Path]:
    """SoundFonts in ``folder`` matching ``pattern``, in name order (missing folder: none)."""
    try:
        found = sorted(folder.glob(pattern))
    except OSError:
        return []
    return [p for p in found if p.suffix.lower() in SOUNDFONT_SUFFIXES]


def soundfont_candidates(*, platform: str | None = None, env: Mapping[str, str] | None = None,
                         home: Path | None = None, root: Path | None = None) -> list[Path]:
    """Where a General MIDI SoundFont is looked for, best first, as paths that exist now.

    The user's own folder comes first on every OS. On Debian, MuseScore General
    (``musescore-general-soundfont``) is preferred to FluidR3 when both are installed.
    """
    system, env, home, root = _context(platform, env, home, root)
    user = user_soundfont_dir(platform=system, env=env, home=home)
    found = _fonts_in(user)
    if system == "darwin":
        brew = _env_path(env, "HOMEBREW_PREFIX")
        for folder in [
            home / "Library/Audio/Sounds/Banks",  # where macOS audio apps keep banks
            root / "Library/Audio/Sounds/Banks",
            *([brew / "share/soundfonts"] if brew else []),
            root / "opt/homebrew/share/soundfonts",
            root / "usr/local/share/soundfonts",
        ]:
            found += _fonts_in(folder)
        # MuseScore's app bundle carries a General MIDI SoundFont.
        found += _fonts_in(root / "Applications", "MuseScore*.app/Contents/Resources/sound/*")
    elif system == "win32":
        program_files = _env_path(env, "ProgramFiles") or _system_drive(env) / "Program Files"
        found += _fonts_in(home / "soundfonts")
        found += _fonts_in(_system_drive(env) / "soundfonts")
        found += _fonts_in(program_files, "MuseScore*/sound/*")
    else:
        share = root / "usr/share"
        found += _fonts_in(share / "sounds/sf3", "MuseScore_General*")
        found += [path for path in [
            share / "sounds/sf2/FluidR3_GM.sf2",
            share / "sounds/sf2/default-GM.sf2",
            share / "sounds/sf3/default-GM.sf3",
            share / "sounds/sf3/FluidR3_GM.sf3",
            share / "soundfonts/FluidR3_GM.sf2",
            share / "soundfonts/default.sf2",
            share / "soundfonts/default-GM.sf2",
            root / "usr/local/share/soundfonts/default.sf2",
        ] if path.is_file()]
        found += _fonts_in(home / ".local/share/soundfonts")
    return list(dict.fromkeys(p for p in found if p.is_file()))


def soundfont_install_hint(platform: str | None = None) -> str:
    """How to get a General MIDI SoundFont on this OS."""
    system = _os(platform)
    user = {"darwin": "~/Library/Application Support/Scorebridge/soundfonts",
            "win32": "%LOCALAPPDATA%\\Scorebridge\\soundfonts",
            "linux": "~/.local/share/scorebridge/soundfonts"}[system]
    how = {
        "linux": "sudo apt-get install fluid-soundfont-gm (or musescore-general-soundfont)",
        "darwin": "put a General MIDI .sf2/.sf3 (e.g. FluidR3_GM.sf2 or GeneralUser GS) "
                  "into ~/Library/Audio/Sounds/Banks, or install MuseScore",
        "win32": "install MuseScore, or download a General MIDI .sf2 (e.g. FluidR3_GM.sf2)",
    }[system]
    return f"{how}; or put one into {user}, set {SOUNDFONT_ENV}, or pass --soundfont FILE"


# ---------------------------------------------------------------- FluidSynth's library

# Names ctypes.util.find_library knows it by: Linux/macOS "fluidsynth"; the Windows
# releases name the DLL libfluidsynth-3.dll (fluidsynth-3.dll from 2.4.5 on).
FLUIDSYNTH_NAMES = ("fluidsynth", "libfluidsynth-3", "fluidsynth-3", "libfluidsynth-2",
                    "libfluidsynth")
_LIBRARY_FILES = {
    "linux": ("libfluidsynth.so.3", "libfluidsynth.so.2", "libfluidsynth.so"),
    "darwin": ("libfluidsynth.dylib", "libfluidsynth.3.dylib"),
    "win32": ("libfluidsynth-3.dll", "fluidsynth-3.dll", "libfluidsynth-2.dll",
              "libfluidsynth.dll"),
}


def fluidsynth_search_folders(*, platform: str | None = None,
                              env: Mapping[str, str] | None = None, home: Path | None = None,
                              root: Path | None = None) -> list[Path]:
    """Folders searched for the library after the loader's own search fails."""
    system, env, home, root = _context(platform, env, home, root)
    if system == "darwin":
        brew = _env_path(env, "HOMEBREW_PREFIX")
        return [*([brew / "lib"] if brew else []), root / "opt/homebrew/lib",
                root / "opt/homebrew/opt/fluid-synth/lib", root / "usr/local/lib",
                root / "usr/local/opt/fluid-synth/lib", root / "opt/local/lib"]
    if system == "win32":
        program_files = _env_path(env, "ProgramFiles") or _system_drive(env) / "Program Files"
        path_entries = [Path(p) for p in env.get("PATH", "").split(";") if p.strip()]
        return [*path_entries, data_dir(platform=system, env=env, home=home) / "fluidsynth/bin",
                program_files / "FluidSynth/bin", _system_drive(env) / "tools/fluidsynth/bin"]
    return [root / "usr/lib/x86_64-linux-gnu", root / "usr/lib/aarch64-linux-gnu",
            root / "usr/lib64", root / "usr/lib", root / "usr/local/lib"]


class FluidSynthNotFound(LookupError):
    """The FluidSynth library is not where it was said to be, or nowhere it was looked for."""


def find_fluidsynth_library(*, platform: str | None = None,
                            env: Mapping[str, str] | None = None, home: Path | None = None,
                            root: Path | None = None) -> str:
    """The FluidSynth shared library to load: a path, or a name the loader resolves.

    Order: $SCOREBRIDGE_FLUIDSYNTH (a file, or a folder holding it; an explicit setting that
    points at nothing is an error, not silently replaced), the system loader's search
    (``ctypes.util.find_library``), then the usual install folders of this OS.
    """
    system, env, home, root = _context(platform, env, home, root)
    names = _LIBRARY_FILES[system]
    explicit = _env_path(env, FLUIDSYNTH_ENV)
    if explicit is not None:
        if explicit.is_file():
            return str(explicit)
        for name in names if explicit.is_dir() else ():
            if (explicit / name).is_file():
                return str(explicit / name)
        raise FluidSynthNotFound(f"{FLUIDSYNTH_ENV}={explicit}: no FluidSynth library there")
    # The loader's own search applies only to the OS this process runs on.
    if system == _os(sys.platform):
        for name in FLUIDSYNTH_NAMES:
            found = find_library(name)
            if found:
                return found
    folders = fluidsynth_search_folders(platform=system, env=env, home=home, root=root)
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return str(folder / name)
    raise FluidSynthNotFound(
        "FluidSynth's library was not found (looked with the system loader and in "
        f"{', '.join(str(f) for f in folders[:4])}, ...)")


def fluidsynth_install_hint(platform: str | None = None) -> str:
    """How to install FluidSynth's library on this OS."""
    return {
        "linux": "sudo apt-get install libfluidsynth3 (Debian/Ubuntu; fluidsynth-libs on Fedora)",
        "darwin": "brew install fluid-synth",
        "win32": "download a FluidSynth release for Windows (github.com/FluidSynth/fluidsynth/"
                 "releases), unzip it and add its bin folder to PATH",
    }[_os(platform)] + f"; or set {FLUIDSYNTH_ENV} to the library file"
