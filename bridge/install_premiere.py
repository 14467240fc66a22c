"""`scorebridge install-premiere`: put the Premiere panel where a user can load it.

Premiere Pro loads UXP plugins two ways: a plugin folder added in Adobe's UXP Developer Tool
(UDT), or a ``.ccx`` package (a zip of the plugin folder with ``manifest.json`` at its top)
that Creative Cloud installs on a double-click or that Adobe's Unified Plugin Installer Agent
installs from the command line. This command writes the folder (default: the panel folder
in Scorebridge's per-user data folder) and, with ``--ccx``, the package.

It never overwrites what it did not write: a destination folder must be empty, new, or an
earlier install (it lists its files in ``.scorebridge-panel``); a ``--ccx`` file that exists
must be an earlier Scorebridge package.
"""

from __future__ import annotations

import argparse
import json
import shutil
import zipfile
from pathlib import Path

from bridge import platform_paths
from bridge.errors import BridgeError
from bridge.outputs import atomic_write, write_text_atomic
from bridge.plugin_files import plugin_dir, shipped_files

INSTALL_RECORD = ".scorebridge-panel"  # the files an install wrote, one per line


def default_panel_dir(**where) -> Path:
    """Where the panel folder goes unless ``--dest`` says otherwise."""
    return platform_paths.data_dir(**where) / "premiere-panel"


def panel_id(folder: Path) -> str:
    """The plugin id in the panel's manifest (what a .ccx is recognised by)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["id"])


def install_panel(dest: Path | None = None) -> list[Path]:
    """Copy the panel into ``dest`` and return the paths written."""
    source = plugin_dir("premiere")
    dest = Path(dest) if dest is not None else default_panel_dir()
    record = dest / INSTALL_RECORD
    earlier: list[str] = []
    if record.is_file():
        earlier = record.read_text(encoding="utf-8").split()
    elif dest.is_dir() and any(dest.iterdir()):
        raise BridgeError("this folder is not empty and holds no earlier Scorebridge panel; "
                          "choose an empty or new folder with --dest", path=dest)
    files = shipped_files(source)
    written = []
    for relative in files:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(Path(shutil.copyfile(source / relative, target)))
    current = {f.as_posix() for f in files}
    for stale in earlier:  # files an earlier version installed and this one no longer ships
        if stale not in current:
            (dest / stale).unlink(missing_ok=True)
    write_text_atomic(record, "".join(f"{name}\n" for name in sorted(current)))
    return written


def write_ccx(path: Path) -> Path:
    """Package the panel as a .ccx (a zip with the manifest at the top) at ``path``."""
    source = plugin_dir("premiere")
    path = Path(path)
    if path.suffix.lower() != ".ccx":
        raise BridgeError("a UXP package must end in .ccx", path=path)
    if path.exists() and not _is_our_package(path, panel_id(source)):
        raise BridgeError("a file that is not a Scorebridge panel package is already here; "
                          "choose another --ccx path", path=path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as package:
            for relative in shipped_files(source):
                package.write(source / relative, relative.as_posix())

    return atomic_write(path, write)


def _is_our_package(path: Path, expected_id: str) -> bool:
    try:
        with zipfile.ZipFile(path) as package:
            return json.loads(package.read("manifest.json")).get("id") == expected_id
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


def how_to_load(folder: Path, ccx: Path | None) -> str:
    lines = [
        "To load it in Premiere Pro 25.6 or newer, either:",
        "  - UXP Developer Tool (from Creative Cloud): Add Plugin > choose "
        f"{folder / 'manifest.json'} > Load; the panel is under Window > UXP Plugins",
    ]
    if ccx is not None:
        lines.append(f"  - double-click {ccx} (Creative Cloud installs it), or run Adobe's "
                     f"UnifiedPluginInstallerAgent --install {ccx}")
    else:
        lines.append("  - or add --ccx FILE.ccx for a package that Creative Cloud installs")
    lines.append("Start the bridge with `scorebridge serve` and paste the token from "
                 f"{platform_paths.config_dir() / 'token'} into the panel's Settings.")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    written = install_panel(args.dest)
    folder = Path(args.dest) if args.dest is not None else default_panel_dir()
    print(f"installed the Scorebridge panel into {folder} ({len(written)} files)")
    ccx = write_ccx(args.ccx) if args.ccx is not None else None
    if ccx is not None:
        print(f"packaged it as {ccx}")
    print(how_to_load(folder, ccx))
    return 0


def add_command(subparsers) -> argparse.ArgumentParser:
    """Register ``install-premiere`` on the CLI's subparsers."""
    help_text = "copy the Premiere Pro panel into a folder (and optionally a .ccx package)"
    parser = subparsers.add_parser("install-premiere", help=help_text, description=help_text)
    parser.add_argument("--dest", type=Path, default=None,
                        help=f"folder for the panel (default: {default_panel_dir()})")
    parser.add_argument("--ccx", type=Path, default=None, metavar="FILE.ccx",
                        help="also write the panel as a .ccx package here")
    parser.set_defaults(func=_run)
    return parser
