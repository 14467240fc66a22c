"""The `scorebridge` command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from bridge.media.synth import SceneSpec, encode_scenes, write_not_media
from bridge.timeline.build import ShotSpec, write_timeline

RATE = Fraction(24000, 1001)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "-q", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> Path:
    # A folder name with spaces and non-ASCII characters, as editors' drives have.
    folder = tmp_path_factory.mktemp("cli") / "Projekt Müller – cut 2"
    folder.mkdir()
    media = folder / "plate ä.mp4"
    scene_cuts = encode_scenes(
        media,
        [SceneSpec(3.0, background=(20, 30, 120)), SceneSpec(4.0, background=(230, 200, 40))],
        width=160, height=96, rate=RATE,
    )
    assert len(scene_cuts) == 1
    return write_timeline(
        folder / "Schnitt ü.otio", name="Schnitt", rate=RATE, start_timecode="01:00:00:00",
        shots=[ShotSpec(media, seconds=7.0, name="one take"), ShotSpec(media, seconds=2.0)],
    )


def test_help_lists_every_command():
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("analyze", "affect", "score", "serve", "backends", "install-resolve", "eval"):
        assert command in out.stdout


def test_analyze_prints_and_writes_cuts(timeline, tmp_path):
    target = tmp_path / "summary.json"
    out = run_cli("analyze", str(timeline), "--json", str(target))
    assert out.returncode == 0, out.stderr
    summary = json.loads(target.read_text())
    assert summary["rate"] == "24000/1001"
    assert summary["start_timecode"] == "01:00:00:00"
    kinds = [(round(c["time_s"], 2), c["kind"]) for c in summary["cuts"]]
    # the scene change inside the long take is detected, the edit point comes from the edit
    assert kinds == [(3.0, "detected"), (7.01, "edit")]
    assert "detected" in out.stdout and "edit" in out.stdout


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("truncated.otio", '{"OTIO_SCHEMA": "Timeline.1", "tracks": {', "truncated.otio"),
        ("not a timeline.xml", "<html><body>hello</body></html>", "not a timeline.xml"),
        ("garbage.edl", "TITLE: x\n\x00\x01 this is not an event\n001 ??? V C\n", "garbage.edl"),
        ("notes.txt", "just words", "notes.txt"),
    ],
)
def test_bad_timeline_is_one_line_exit_2(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    out = run_cli("analyze", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert expected in lines[0] and "Traceback" not in out.stderr


def test_missing_file_and_debug_traceback(tmp_path):
    missing = tmp_path / "nowhere.otio"
    out = run_cli("analyze", str(missing))
    assert out.returncode == 2 and "nowhere.otio" in out.stderr
    debug = subprocess.run([sys.executable, "-m", "bridge", "--debug", "analyze", str(missing)],
                           capture_output=True, text=True, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_media_that_is_not_video_names_the_file(tmp_path):
    fake = tmp_path / "clip.mp4"
    write_not_media(fake)
    timeline = write_timeline(tmp_path / "t.otio", name="t", rate=RATE,
                              shots=[ShotSpec(fake, seconds=4.0, name="Fake clip")])
    out = run_cli("affect", str(timeline), "-o", str(tmp_path / "out"))
    assert out.returncode == 2
    assert "clip.mp4" in out.stderr
    assert not (tmp_path / "out" / "affect.csv").exists()


def test_bad_option_names_the_field(timeline, tmp_path):
    out = run_cli("score", str(timeline), "-o", str(tmp_path), "--duck", "500")
    assert out.returncode == 2 and "duck_db" in out.stderr
    out = run_cli("score", str(timeline), "-o", str(tmp_path), "--style", "polka")
    assert out.returncode == 2 and "style" in out.stderr and "cinematic-orchestral" in out.stderr


def test_backend_flags_choose_and_configure_the_backends(timeline, tmp_path):
    font = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    if not Path(font).is_file():
        pytest.skip(f"no {font}")
    out = run_cli("score", str(timeline), "-o", str(tmp_path / "out"), "--affect-backend",
                  "heuristic", "--music-backend", "symbolic", "--backend-opt", f"soundfont={font}")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "score.wav").stat().st_size > 0
    assert f"wrote {tmp_path / 'out' / 'score.mid'}" in out.stdout

    listed = run_cli("backends")
    assert "--backend-opt soundfont=" in listed.stdout

    for flags, named in [
        (["--backend-opt", "sound_font=/x.sf2"], "backend_options.sound_font"),
        (["--backend-opt", "soundfont"], "--backend-opt"),
        (["--backend-opt", "soundfont=/nowhere/GM.sf2"], "/nowhere/GM.sf2"),
        (["--music-backend", "orchestra-in-a-box"], "symbolic"),
    ]:
        bad = run_cli("score", str(timeline), "-o", str(tmp_path / "bad"), *flags)
        lines = bad.stderr.strip().splitlines()
        assert bad.returncode == 2 and len(lines) == 1 and named in lines[0], bad.stderr
    assert not (tmp_path / "bad").exists()


def test_affect_writes_its_outputs(timeline, tmp_path):
    out = run_cli("affect", str(timeline), "-o", str(tmp_path), "--markers", "every:2")
    assert out.returncode == 0, out.stderr
    for name in ("affect.csv", "affect.json", "affect.png", "affect.otio"):
        assert (tmp_path / name).stat().st_size > 0
    assert len(json.loads((tmp_path / "affect.json").read_text())["markers"]) == 5
    # nothing half-written is left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".scorebridge-")]


def test_one_broken_clip_is_a_warning_not_a_failure(timeline, tmp_path):
    from bridge.timeline import read_edit

    good = read_edit(timeline).shots[0].media_path
    broken = tmp_path / "broken.mp4"
    write_not_media(broken)
    mixed = write_timeline(tmp_path / "mixed.otio", name="mixed", rate=RATE, shots=[
        ShotSpec(good, seconds=5.0, name="Good take"),
        ShotSpec(broken, seconds=3.0, name="Broken take"),
    ])
    out = run_cli("affect", str(mixed), "-o", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    warning = [line for line in out.stdout.splitlines() if "warning:" in line]
    assert any("Broken take" in line and "broken.mp4" in line for line in warning), out.stdout
