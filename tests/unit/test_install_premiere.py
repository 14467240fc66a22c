"""`scorebridge install-premiere`: the panel folder, the .ccx, and what it never overwrites."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.errors import BridgeError
from bridge.install_premiere import INSTALL_RECORD, install_panel, write_ccx

PANEL = Path(__file__).resolve().parents[2] / "plugins_premiere_panel"


def test_installs_the_user_facing_files_only(tmp_path):
    dest = tmp_path / "panel"
    written = install_panel(dest)
    names = {p.relative_to(dest).as_posix() for p in written}
    assert {"manifest.json", "index.html", "src/main.js", "src/bridge_http.js"} <= names
    assert not any(n.startswith(("test/", "test_support/")) for n in names)
    assert (dest / "src/main.js").read_bytes() == (PANEL / "src/main.js").read_bytes()
    assert (dest / INSTALL_RECORD).read_text().split() == sorted(names)
    # an earlier install is replaced in place; a file it no longer ships is removed
    (dest / "src/old.js").write_text("// from an earlier version")
    (dest / INSTALL_RECORD).write_text((dest / INSTALL_RECORD).read_text() + "src/old.js\n")
    assert install_panel(dest) == written
    assert not (dest / "src/old.js").exists()


def test_never_writes_into_a_folder_of_someone_else(tmp_path):
    dest = tmp_path / "MyPlugin"
    dest.mkdir()
    (dest / "manifest.json").write_text('{"id": "com.someone.else"}')
    with pytest.raises(BridgeError, match="not empty"):
        install_panel(dest)
    assert json.loads((dest / "manifest.json").read_text())["id"] == "com.someone.else"


def test_ccx_is_a_zip_of_the_panel_with_its_manifest_on_top(tmp_path):
    ccx = write_ccx(tmp_path / "out" / "scorebridge.ccx")
    with zipfile.ZipFile(ccx) as package:
        names = set(package.namelist())
        manifest = json.loads(package.read("manifest.json"))
    assert manifest == json.loads((PANEL / "manifest.json").read_text())
    assert {"index.html", "src/main.js"} <= names
    assert not any(n.startswith("test") for n in names)
    assert write_ccx(ccx) == ccx  # our own package may be rewritten
    other = tmp_path / "other.ccx"
    other.write_bytes(b"not ours")
    with pytest.raises(BridgeError, match="not a Scorebridge panel package"):
        write_ccx(other)
    assert other.read_bytes() == b"not ours"
    with pytest.raises(BridgeError, match=r"must end in \.ccx"):
        write_ccx(tmp_path / "panel.zip")


def test_command_says_how_to_load_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCOREBRIDGE_CONFIG_DIR", str(tmp_path / "config"))
    dest, ccx = tmp_path / "panel", tmp_path / "scorebridge.ccx"
    assert main(["install-premiere", "--dest", str(dest), "--ccx", str(ccx)]) == 0
    out = capsys.readouterr().out
    assert f"installed the Scorebridge panel into {dest}" in out
    assert str(dest / "manifest.json") in out and str(ccx) in out
    assert str(tmp_path / "config" / "token") in out
    assert ccx.is_file()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "a.txt").write_text("x")
    assert main(["install-premiere", "--dest", str(foreign)]) == 2  # one line, no traceback
    assert "not empty" in capsys.readouterr().err
