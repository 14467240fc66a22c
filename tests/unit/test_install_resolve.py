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


def test_install_writes_menu_entries_and_a_hidden_library(tmp_path):
    written = install_resolve(tmp_path / "Edit")
    names = {p.relative_to(tmp_path / "Edit").as_posix() for p in written}
    assert {"Score timeline.py", "Re-score timeline.py", "Export affect markers.py"} <= names
    assert {".scorebridge/scorebridge_resolve.py", ".scorebridge/bridge/client.py"} <= names
    # only the three entries are visible at the top of the Edit folder
    visible = sorted(p.name for p in (tmp_path / "Edit").iterdir() if not p.name.startswith("."))
    assert visible == ["Export affect markers.py", "Re-score timeline.py", "Score timeline.py"]
    assert install_resolve(tmp_path / "Edit") == written  # re-running overwrites in place
    # each menu entry is a valid script that runs its own action
    for name, action in [("Score timeline.py", "score"), ("Re-score timeline.py", "rescore"),
                         ("Export affect markers.py", "markers")]:
        source = (tmp_path / "Edit" / name).read_text()
        compile(source, name, "exec")
        assert f'scorebridge_resolve.main("{action}",' in source


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
