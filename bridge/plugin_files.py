"""Where the Resolve scripts and the Premiere panel are read from, in a wheel or a checkout.

The repository's ``plugins_resolve/`` and ``plugins_premiere_panel/`` are the source of truth.
Building the wheel copies them into ``bridge/_plugins/`` (see ``setup.py``, which loads this
module by path, so it must stay standard-library only); a source checkout or an editable
install reads them where they are.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_plugins"
REPO_ROOT = Path(__file__).resolve().parent.parent

# the name inside the wheel -> the folder in the repository
PLUGIN_SOURCES = {"resolve": "plugins_resolve", "premiere": "plugins_premiere_panel"}

# development-only parts that a user never needs (tests, their fakes, node's packages)
NOT_SHIPPED = {"test", "tests", "test_support", "node_modules", "__pycache__"}


def shipped_files(source: Path) -> list[Path]:
    """The files of a plugin folder that a user installs, relative to it, in name order."""
    files = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        hidden = any(part.startswith(".") or part in NOT_SHIPPED for part in relative.parts)
        if path.is_file() and not hidden and path.suffix != ".pyc":
            files.append(relative)
    return files


def plugin_dir(name: str) -> Path:
    """The folder holding plugin ``name`` ("resolve" or "premiere") for this installation."""
    if name not in PLUGIN_SOURCES:
        raise ValueError(f"no plugin named {name!r}; one of {sorted(PLUGIN_SOURCES)}")
    for folder in (PACKAGED / name, REPO_ROOT / PLUGIN_SOURCES[name]):
        if folder.is_dir():
            return folder
    from bridge.errors import BridgeError  # not at the top: setup.py loads this file alone

    raise BridgeError(
        f"the {name} plugin files are missing from this installation; reinstall scorebridge",
        path=PACKAGED / name,
    )
