"""Per-OS rules of bridge.platform_paths, each OS tested here by substituting the platform,
the environment, the home folder and the filesystem root (real files under tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge import platform_paths as pp


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    return path


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home" / "ed"


# ---------------------------------------------------------------- own folders


def test_config_cache_jobs_and_data_per_os(home):
    where = {"env": {}, "home": home}
    assert pp.config_dir(platform="linux", **where) == home / ".config/scorebridge"
    assert pp.cache_dir(platform="linux", **where) == home / ".cache/scorebridge"
    assert pp.jobs_dir(platform="linux", **where) == home / ".cache/scorebridge/jobs"
    assert pp.data_dir(platform="linux", **where) == home / ".local/share/scorebridge"

    support = home / "Library/Application Support/Scorebridge"
    assert pp.config_dir(platform="darwin", **where) == support
    assert pp.cache_dir(platform="darwin", **where) == home / "Library/Caches/Scorebridge"
    assert pp.jobs_dir(platform="darwin", **where) == home / "Library/Caches/Scorebridge/jobs"
    assert pp.data_dir(platform="darwin", **where) == support

    env = {"APPDATA": "/p/Roaming", "LOCALAPPDATA": "/p/Local"}
    assert pp.config_dir(platform="win32", env=env, home=home) == Path("/p/Roaming/Scorebridge")
    assert pp.cache_dir(platform="win32", env=env, home=home) == Path(
        "/p/Local/Scorebridge/Cache")
    assert pp.data_dir(platform="win32", env=env, home=home) == Path("/p/Local/Scorebridge")
    # a profile without the variables gets Windows' defaults under the home folder
    assert pp.config_dir(platform="win32", env={}, home=home) == (
        home / "AppData/Roaming/Scorebridge")


def test_overrides_win_on_every_os(home):
    env = {"SCOREBRIDGE_CONFIG_DIR": "/c", "SCOREBRIDGE_CACHE_DIR": "/k",
           "XDG_CONFIG_HOME": "/xdg", "APPDATA": "/a"}
    for platform in ("linux", "darwin", "win32"):
        assert pp.config_dir(platform=platform, env=env, home=home) == Path("/c")
        assert pp.jobs_dir(platform=platform, env=env, home=home) == Path("/k/jobs")
        assert pp.jobs_dir(platform=platform, env={"SCOREBRIDGE_JOBS_DIR": "/j"},
                           home=home) == Path("/j")
        assert pp.config_dir("/given", platform=platform, env=env, home=home) == Path("/given")
    # XDG applies on Linux only
    xdg = {"XDG_CONFIG_HOME": "/xdg", "XDG_CACHE_HOME": "/xc"}
    assert pp.config_dir(platform="linux", env=xdg, home=home) == Path("/xdg/scorebridge")
    assert pp.cache_dir(platform="linux", env=xdg, home=home) == Path("/xc/scorebridge")
    assert pp.config_dir(platform="darwin", env=xdg, home=home).is_relative_to(home)


def test_resolve_script_folders_per_os(home, tmp_path):
    root = tmp_path / "root"
    where = {"env": {"APPDATA": "/p/Roaming", "PROGRAMDATA": "/p/Data"}, "home": home,
             "root": root}
    mac = "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts"
    assert pp.resolve_scripts_dir("Edit", platform="darwin", **where) == home / mac / "Edit"
    assert pp.resolve_scripts_dir("Utility", "system", platform="darwin", **where) == (
        root / mac / "Utility")
    assert pp.resolve_scripts_dir("Edit", platform="win32", **where) == Path(
        "/p/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Edit")
    assert pp.resolve_scripts_dir("Utility", "system", platform="win32", **where) == Path(
        "/p/Data/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility")
    assert pp.resolve_scripts_dir("Edit", platform="linux", **where) == (
        home / ".local/share/DaVinciResolve/Fusion/Scripts/Edit")
    assert pp.resolve_scripts_dir("Utility", "system", platform="linux", **where) == (
        root / "opt/resolve/Fusion/Scripts/Utility")
    assert pp.resolve_install_paths(platform="linux", **where) == [root / "opt/resolve/bin/resolve"]
    with pytest.raises(ValueError, match="Resolve has no 'Scripts' scripts folder"):
        pp.resolve_scripts_dir("Scripts", platform="linux", **where)


# ---------------------------------------------------------------- SoundFonts


def test_debian_prefers_the_user_folder_then_musescore_then_fluidr3(tmp_path, home):
    root = tmp_path / "root"
    fluid = touch(root / "usr/share/sounds/sf2/FluidR3_GM.sf2")
    where = {"platform": "linux", "env": {}, "home": home, "root": root}
    assert pp.soundfont_candidates(**where) == [fluid]
    full = touch(root / "usr/share/sounds/sf3/MuseScore_General_Full.sf3")
    general = touch(root / "usr/share/sounds/sf3/MuseScore_General.sf3")
    assert pp.soundfont_candidates(**where) == [general, full, fluid]
    mine = touch(home / ".local/share/scorebridge/soundfonts/Mine.sf2")
    touch(home / ".local/share/scorebridge/soundfonts/notes.txt")  # not a SoundFont
    assert pp.soundfont_candidates(**where) == [mine, general, full, fluid]


def test_macos_banks_homebrew_and_musescore(tmp_path, home):
    root = tmp_path / "root"
    where = {"platform": "darwin", "home": home, "root": root}
    assert pp.soundfont_candidates(env={}, **where) == []
    musescore = touch(root / "Applications/MuseScore 4.app/Contents/Resources/sound/MS Basic.sf3")
    brew = touch(root / "opt/homebrew/share/soundfonts/default.sf2")
    custom_brew = touch(tmp_path / "brew/share/soundfonts/gm.sf2")
    bank = touch(home / "Library/Audio/Sounds/Banks/GeneralUser GS.sf2")
    env = {"HOMEBREW_PREFIX": str(tmp_path / "brew")}
    assert pp.soundfont_candidates(env=env, **where) == [bank, custom_brew, brew, musescore]


def test_windows_user_folder_drive_folder_and_musescore(tmp_path, home):
    env = {"LOCALAPPDATA": str(tmp_path / "Local"), "SystemDrive": str(tmp_path / "C"),
           "ProgramFiles": str(tmp_path / "C/Program Files")}
    where = {"platform": "win32", "env": env, "home": home, "root": tmp_path / "unused"}
    assert pp.soundfont_candidates(**where) == []
    musescore = touch(tmp_path / "C/Program Files/MuseScore 4/sound/MS Basic.sf3")
    drive = touch(tmp_path / "C/soundfonts/FluidR3_GM.sf2")
    mine = touch(tmp_path / "Local/Scorebridge/soundfonts/gm.sf2")
    assert pp.soundfont_candidates(**where) == [mine, drive, musescore]


def test_install_hints_name_each_os_and_the_overrides():
    assert "apt-get install fluid-soundfont-gm" in pp.soundfont_install_hint("linux")
    assert "~/Library/Audio/Sounds/Banks" in pp.soundfont_install_hint("darwin")
    assert "%LOCALAPPDATA%\\Scorebridge\\soundfonts" in pp.soundfont_install_hint("win32")
    for platform in ("linux", "darwin", "win32"):
        assert "SCOREBRIDGE_SOUNDFONT" in pp.soundfont_install_hint(platform)
        assert "SCOREBRIDGE_FLUIDSYNTH" in pp.fluidsynth_install_hint(platform)
    assert "brew install fluid-synth" in pp.fluidsynth_install_hint("darwin")
    assert "PATH" in pp.fluidsynth_install_hint("win32")


# ---------------------------------------------------------------- FluidSynth's library


@pytest.fixture
def no_loader(monkeypatch):
    """The system loader knows no FluidSynth (as on a machine without it installed)."""
    monkeypatch.setattr(pp, "find_library", lambda name: None)


def test_fluidsynth_from_the_environment_first(tmp_path, home, no_loader):
    lib = touch(tmp_path / "fs/libfluidsynth-3.dll")
    for value in (lib, lib.parent):  # the file, or the folder holding it
        env = {"SCOREBRIDGE_FLUIDSYNTH": str(value)}
        assert pp.find_fluidsynth_library(platform="win32", env=env, home=home) == str(lib)
    env = {"SCOREBRIDGE_FLUIDSYNTH": str(tmp_path / "gone.so")}
    with pytest.raises(pp.FluidSynthNotFound, match=r"SCOREBRIDGE_FLUIDSYNTH=.*gone\.so"):
        pp.find_fluidsynth_library(platform="linux", env=env, home=home)


def test_fluidsynth_in_each_os_folders(tmp_path, home, no_loader):
    root = tmp_path / "root"
    where = {"home": home, "root": root}
    for platform in ("linux", "darwin", "win32"):
        with pytest.raises(pp.FluidSynthNotFound, match="not found"):
            pp.find_fluidsynth_library(platform=platform, env={}, **where)
    linux = touch(root / "usr/lib/x86_64-linux-gnu/libfluidsynth.so.3")
    assert pp.find_fluidsynth_library(platform="linux", env={}, **where) == str(linux)
    brew = touch(root / "opt/homebrew/lib/libfluidsynth.dylib")
    assert pp.find_fluidsynth_library(platform="darwin", env={}, **where) == str(brew)
    windows_bin = tmp_path / "FluidSynth 2.4/bin"
    dll = touch(windows_bin / "libfluidsynth-3.dll")
    env = {"PATH": f"{tmp_path / 'other'};{windows_bin}"}
    assert pp.find_fluidsynth_library(platform="win32", env=env, **where) == str(dll)


def test_the_loader_is_asked_on_this_os_only(monkeypatch, tmp_path, home):
    monkeypatch.setattr(pp, "find_library", lambda name: "libfluidsynth.so.3")
    monkeypatch.setattr(pp.sys, "platform", "linux")
    where = {"env": {}, "home": home, "root": tmp_path}
    assert pp.find_fluidsynth_library(platform="linux", **where) == "libfluidsynth.so.3"
    with pytest.raises(pp.FluidSynthNotFound):  # Linux's loader says nothing about a Mac
        pp.find_fluidsynth_library(platform="darwin", **where)


def test_the_resolve_plugin_uses_the_bridge_rule(monkeypatch, tmp_path):
    """The plugin (shipped with platform_paths) reads the token where the bridge writes it."""
    import importlib
    import sys

    from bridge.server import auth

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "plugins_resolve"))
    plugin = importlib.import_module("scorebridge_resolve")
    monkeypatch.delenv("SCOREBRIDGE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert plugin.config_dir() == tmp_path / "xdg/scorebridge"
    assert plugin.config_dir() == auth.config_dir() == pp.config_dir()
    monkeypatch.setenv("SCOREBRIDGE_CONFIG_DIR", str(tmp_path / "c"))
    assert plugin.config_dir() == auth.config_dir() == tmp_path / "c"
