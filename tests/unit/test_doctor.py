"""`scorebridge doctor` on this machine, and with FluidSynth or the SoundFont taken away.

"Taken away" substitutes what the lookups see (the system loader, the filesystem root and
the home folder), so the doctor runs its real checks against a machine without them.
"""

from __future__ import annotations

import os
import sys

import pytest

from bridge import platform_paths
from bridge.cli import main
from bridge.doctor import check_bridge, check_token, run_checks
from bridge.render import soundfont_available

pytestmark = pytest.mark.skipif(soundfont_available() != "",
                                reason=f"FluidSynth/SoundFont missing: {soundfont_available()}")


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """A private config folder and home, and no SoundFont/FluidSynth settings."""
    for name in ("SCOREBRIDGE_SOUNDFONT", "SCOREBRIDGE_FLUIDSYNTH", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCOREBRIDGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def lines_of(out: str, title: str) -> list[str]:
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line[2:].startswith(title):
            return lines[i:i + 2]
    raise AssertionError(f"no {title} line in:\n{out}")


def test_this_machine_can_score(isolated, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert lines_of(out, "FluidSynth")[0].startswith("✔ FluidSynth: 2.")
    assert lines_of(out, "SoundFont")[0].startswith("✔ SoundFont: /")
    assert lines_of(out, "music backend 'symbolic' (default)")[0].startswith("✔")
    assert "✔ Video codecs: decodes H.264, HEVC, ProRes, DNxHD/DNxHR" in out
    assert out.rstrip().endswith("The default engine can score here.")


def test_no_soundfont_anywhere_fails_with_the_fix(isolated, monkeypatch, capsys):
    monkeypatch.setattr(platform_paths, "SYSTEM_ROOT", isolated / "empty-root")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    problem, fix = lines_of(out, "SoundFont")
    assert problem.startswith("✖ SoundFont: no General MIDI SoundFont found")
    assert problem.endswith("(needed to score)")
    assert fix.strip().startswith("fix: ") and "SCOREBRIDGE_SOUNDFONT" in fix
    if sys.platform.startswith("linux"):
        assert "apt-get install fluid-soundfont-gm" in fix
    assert lines_of(out, "music backend 'symbolic' (default)")[0].startswith("✖")
    assert "Scoring will fail" in out


def test_a_soundfont_setting_that_points_at_nothing_fails(isolated, monkeypatch, capsys):
    monkeypatch.setenv("SCOREBRIDGE_SOUNDFONT", str(isolated / "gone.sf2"))
    assert main(["doctor"]) == 1
    problem, fix = lines_of(capsys.readouterr().out, "SoundFont")
    assert "gone.sf2" in problem and "SCOREBRIDGE_SOUNDFONT" in problem
    assert fix.strip().startswith("fix: ")


def test_no_fluidsynth_library_fails_with_the_fix(isolated, monkeypatch, capsys):
    monkeypatch.setattr(platform_paths, "find_library", lambda name: None)
    monkeypatch.setattr(platform_paths, "SYSTEM_ROOT", isolated / "empty-root")
    monkeypatch.delitem(sys.modules, "fluidsynth", raising=False)  # as in a fresh process
    monkeypatch.setenv("PATH", str(isolated / "bin"))
    checks = run_checks()
    fluid = next(c for c in checks if c.title == "FluidSynth")
    assert not fluid.ok and fluid.needed_to_score
    assert "FluidSynth's library was not found" in fluid.detail
    assert fluid.fix == platform_paths.fluidsynth_install_hint()
    assert "fluidsynth" not in sys.modules  # nothing was loaded behind the doctor's back
    assert main(["doctor"]) == 1
    problem, fix = lines_of(capsys.readouterr().out, "FluidSynth")
    assert problem.startswith("✖") and fix.strip().startswith("fix: ")


def test_token_readable_by_others_is_flagged(tmp_path):
    config = tmp_path / "config"
    assert check_token(config).ok  # none yet: serve creates it
    config.mkdir()
    (config / "token").write_text("x" * 43)
    os.chmod(config / "token", 0o644)
    check = check_token(config)
    if os.name != "nt":
        assert not check.ok and "mode 644" in check.detail
        assert check.fix == f"chmod 600 '{config / 'token'}'"
        os.chmod(config / "token", 0o600)
        assert check_token(config).ok


def test_a_stale_endpoint_file_is_flagged(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    # a port nothing listens on: bind one, note it, close it
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (config / "bridge.json").write_text(
        f'{{"grpc": "127.0.0.1:1", "http": "http://127.0.0.1:{port}", "pid": 1}}')
    check = check_bridge(config)
    assert not check.ok and "does not answer" in check.detail
    assert "scorebridge serve" in check.fix


def test_premiere_panel_installed_current_or_stale(isolated, monkeypatch):
    from bridge.doctor import check_premiere
    from bridge.install_premiere import default_panel_dir, install_panel

    monkeypatch.setenv("XDG_DATA_HOME", str(isolated / "data"))
    assert not check_premiere().ok
    install_panel()
    check = check_premiere()
    assert check.ok and str(default_panel_dir()) in check.detail
    (default_panel_dir() / "src" / "main.js").write_text("// older")
    check = check_premiere()
    assert not check.ok and "another version" in check.detail
    assert check.fix.startswith("scorebridge install-premiere")


def test_plain_marks_where_the_console_cannot_show_them():
    import io

    from bridge.doctor import Check, marks_for, report

    cp1252 = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    assert marks_for(cp1252) == ("ok", "XX")
    assert marks_for(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")) == ("✔", "✖")
    text = report([Check("SoundFont", False, "none", "install one", needed_to_score=True)],
                  marks_for(cp1252))
    text.encode("cp1252")  # printable there
    assert "XX SoundFont: none (needed to score)\n    fix: install one" in text
