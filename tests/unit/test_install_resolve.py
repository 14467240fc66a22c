"""`scorebridge install-resolve`: where the scripts go and that the copy stands alone."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bridge.install_resolve import add_command, default_scripts_dir, install_resolve


def test_per_os_folders():
    home = Path("/home/ed")
    assert default_scripts_dir("darwin", {}, home) == home / (
        "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Edit")
    win = default_scripts_dir("win32", {"APPDATA": "/appdata"}, home)  # %APPDATA%
    assert win == Path("/appdata/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Edit")
    assert default_scripts_dir("linux", {}, home) == home / (
        ".local/share/DaVinciResolve/Fusion/Scripts/Edit")


ENTRIES = {"Score timeline": "score", "Re-score timeline": "rescore",
           "Export affect markers": "markers"}


def test_install_writes_menu_entries_and_a_hidden_library(tmp_path):
    edit, utility = tmp_path / "Scripts" / "Edit", tmp_path / "Scripts" / "Utility"
    written = install_resolve(edit)
    names = {p.relative_to(tmp_path / "Scripts").as_posix() for p in written}
    assert {"Edit/.scorebridge/scorebridge_resolve.py",
            "Edit/.scorebridge/bridge/client.py"} <= names
    # Edit (Edit page) and Utility (every page) list the same entries, Python and Lua;
    # the library is there once, hidden
    want = sorted([f"{t}.py" for t in ENTRIES] + [f"{t} (Lua).lua" for t in ENTRIES])
    for folder in (edit, utility):
        visible = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        assert visible == want
    assert not (utility / ".scorebridge").exists()
    assert install_resolve(edit) == written  # re-running overwrites in place
    for folder in (edit, utility):
        for title, action in ENTRIES.items():
            # each Python entry is a valid script that runs its own action
            source = (folder / f"{title}.py").read_text()
            compile(source, title, "exec")
            assert f'scorebridge_resolve.main("{action}",' in source
            # each Lua entry starts the Python entry beside it
            lua = (folder / f"{title} (Lua).lua").read_text()
            assert f'local script = folder .. "{title}.py"' in lua
            assert "app:RunScript(script)" in lua and "{" not in lua


def test_a_destination_other_than_edit_gets_no_utility_copy(tmp_path):
    install_resolve(tmp_path / "scripts")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scripts"]


def test_installed_library_imports_without_site_packages(tmp_path):
    install_resolve(tmp_path)
    lib = tmp_path / ".scorebridge"
    code = (
        f"import sys; sys.path.insert(0, {str(lib)!r})\n"
        "import scorebridge_resolve\n"
        "from bridge.client import HttpBridgeClient\n"
        "bad = sorted(m for m in ('grpc', 'numpy', 'opentimelineio') if m in sys.modules)\n"
        "assert not bad, bad\n"
        "print(HttpBridgeClient.__module__, sys.modules['bridge'].__file__)\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert str(lib / "bridge") in done.stdout


def test_command_is_registered(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["install-resolve", "--dest", str(tmp_path)])
    assert args.func(args) == 0
    assert str(tmp_path) in capsys.readouterr().out
    assert (tmp_path / "Score timeline.py").is_file()
