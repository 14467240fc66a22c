"""`scorebridge install-resolve`: put the Resolve scripts where Resolve lists them.

Resolve shows the Python/Lua files in ``Fusion/Scripts/Edit`` under Workspace > Scripts on
the Edit page and those in ``Fusion/Scripts/Utility`` on every page, each by its file name.
The per-user roots (from Resolve's scripting README):

* macOS:   ~/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts
* Windows: %APPDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Fusion\\Scripts
* Linux:   ~/.local/share/DaVinciResolve/Fusion/Scripts

The three entry scripts go into ``Edit`` and ``Utility`` under the names the menu should
show, each also as a Lua entry (free Resolve 21.1+ is reported to list Lua scripts only; the
Lua entry starts the Python one). The shared module and a standard-library subset of the
``bridge`` package (the client, the two modules it imports, and ``local_config`` with
``platform_paths`` for the config folder and token) go once into
``Edit/.scorebridge`` so that they do not appear as menu entries of their own. Nothing else
(no grpcio, no numpy) is needed in Resolve's Python, which must be 3.9 or later.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from bridge import platform_paths
from bridge.plugin_files import plugin_dir

PACKAGE_DIR = Path(__file__).resolve().parent
LIB_FOLDER = ".scorebridge"
ENTRY_TEMPLATE = "entry_script.py.in"
LUA_TEMPLATE = "entry_script.lua.in"
LUA_SUFFIX = " (Lua).lua"

# the name Resolve shows in Workspace > Scripts -> (action for scorebridge_resolve.main, summary)
ENTRY_SCRIPTS = {
    "Score timeline.py": (
        "score",
        'export the cut, score it, then import the soundtrack on a "Score" track and the '
        "affect curve as markers.",
    ),
    "Re-score timeline.py": ("rescore", "score again, keeping the last run's style and seed."),
    "Export affect markers.py": ("markers", "the affect curve as markers only, no music."),
}


def default_scripts_dir(platform: str | None = None, env: dict[str, str] | None = None,
                        home: Path | None = None) -> Path:
    """The per-user ``Fusion/Scripts/Edit`` folder for this operating system."""
    return platform_paths.resolve_scripts_dir("Edit", platform=platform, env=env, home=home)


def _library_sources() -> dict[Path, str]:
    """What the entry scripts import, and where each goes inside the library folder.

    ``bridge/__init__.py`` imports only config and errors (the pipeline loads lazily), and
    ``bridge/client.py`` imports grpc only inside the gRPC client, so these files make a
    working ``bridge.client.HttpBridgeClient`` with the standard library alone;
    ``local_config`` (with ``platform_paths``, the per-OS folders it delegates to) gives the
    plugin the bridge's own rule for the token and bridge.json. They come from this
    installed package (a wheel or a checkout alike).
    """
    return {
        plugin_dir("resolve") / "scorebridge_resolve.py": "scorebridge_resolve.py",
        **{PACKAGE_DIR / name: f"bridge/{name}"
           for name in ("__init__.py", "client.py", "config.py", "errors.py",
                        "local_config.py", "platform_paths.py")},
    }


def install_resolve(dest: Path | None = None, utility: Path | None = None) -> list[Path]:
    """Copy the scripts into ``dest`` (default: this user's Resolve Edit scripts folder).

    The entries are also written to ``utility`` (default: the ``Utility`` folder beside an
    ``Edit`` destination; none for any other destination). Returns the paths written.
    Re-running overwrites an earlier install.
    """
    dest = Path(dest) if dest is not None else default_scripts_dir()
    if utility is None and dest.name == "Edit":
        utility = dest.parent / "Utility"
    lib = dest / LIB_FOLDER
    lib.mkdir(parents=True, exist_ok=True)
    written = []
    # The entry scripts differ only in their action, so they are written from one template.
    template = (plugin_dir("resolve") / ENTRY_TEMPLATE).read_text(encoding="utf-8")
    lua_template = (plugin_dir("resolve") / LUA_TEMPLATE).read_text(encoding="utf-8")
    for folder in [dest] + ([Path(utility)] if utility is not None else []):
        folder.mkdir(parents=True, exist_ok=True)
        for name, (action, summary) in ENTRY_SCRIPTS.items():
            title = name.removesuffix(".py")
            script = template.format(title=title, summary=summary, action=action)
            (folder / name).write_text(script, encoding="utf-8")
            lua = lua_template.format(title=title, summary=summary, python_name=name)
            (folder / f"{title}{LUA_SUFFIX}").write_text(lua, encoding="utf-8")
            written += [folder / name, folder / f"{title}{LUA_SUFFIX}"]
    for source, name in _library_sources().items():
        if not source.is_file():
            raise FileNotFoundError(f"missing {source}: reinstall scorebridge")
        target = lib / name
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(Path(shutil.copyfile(source, target)))
    return written


def _run(args: argparse.Namespace) -> int:
    written = install_resolve(args.dest)
    folder = written[0].parent
    print(f"installed the Scorebridge scripts into {folder}")
    for path in written:
        print(f"  {path}")
    print("In Resolve: Workspace > Scripts > Score timeline (Edit page; every page from "
          "Utility); restart Resolve if the entries do not show yet. Where Python scripts "
          "are not listed (free 21.1+), use 'Score timeline (Lua)'. Resolve's Python must "
          "be 3.9 or later. Start the bridge first with `scorebridge serve`.")
    return 0


def add_command(subparsers) -> argparse.ArgumentParser:
    """Register ``install-resolve`` on the CLI's subparsers."""
    help_text = "copy the Score timeline scripts into DaVinci Resolve's Scripts folder"
    parser = subparsers.add_parser("install-resolve", help=help_text, description=help_text)
    parser.add_argument("--dest", type=Path, default=None,
                        help=f"folder to install into (default: {default_scripts_dir()})")
    parser.set_defaults(func=_run)
    return parser
