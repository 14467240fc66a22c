"""Versioned, all-or-nothing results: nothing Scorebridge did not write is replaced."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bridge import outputs
from bridge.errors import BridgeError
from bridge.outputs import (
    MANIFEST_NAME,
    RESULT_FILE_MODE,
    OutputExistsError,
    latest_manifest,
    next_version,
    remove_stale_staging,
    staged_outputs,
    versioned_name,
)

pytestmark = pytest.mark.timeout(30)
NAMES = ("score.wav", "affect.csv", "stems")


def write_result(folder: Path, tag: str, *, overwrite: bool = False, stems=("pad", "bass")):
    """A small result like the pipeline's: two files and a stems folder."""
    with staged_outputs(folder, NAMES, kind="score", overwrite=overwrite) as out:
        out.path("score.wav").write_bytes(f"wav {tag}".encode())
        outputs.write_text_atomic(out.path("affect.csv"), f"csv {tag}")
        out.path("stems").mkdir()
        for role in stems:
            (out.path("stems") / f"{role}.wav").write_bytes(f"{role} {tag}".encode())
    return out


def test_versioned_names():
    assert versioned_name("score.wav", 1) == "score.wav"
    assert versioned_name("score.wav", 2) == "score.v2.wav"
    assert versioned_name("stems", 3) == "stems.v3"
    assert versioned_name("stems/pad.wav", 2) == "stems.v2/pad.wav"
    assert versioned_name(MANIFEST_NAME, 2) == "scorebridge-result.v2.json"
    assert versioned_name("score.plan.json", 3) == "score.v3.plan.json"
    with pytest.raises(ValueError):
        versioned_name("score.wav", 0)


def test_user_files_survive_and_results_get_versions(tmp_path):
    (tmp_path / "stems").mkdir()
    (tmp_path / "stems" / "mine.wav").write_bytes(b"the editor's own stem")
    (tmp_path / "score.wav").write_bytes(b"the editor's own score")
    first = write_result(tmp_path, "a")
    assert first.version == 2  # the plain names were taken by the user's files
    assert (tmp_path / "stems" / "mine.wav").read_bytes() == b"the editor's own stem"
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == ["mine.wav"]
    assert (tmp_path / "score.wav").read_bytes() == b"the editor's own score"
    assert (tmp_path / "score.v2.wav").read_bytes() == b"wav a"
    assert (tmp_path / "stems.v2" / "pad.wav").read_bytes() == b"pad a"
    second = write_result(tmp_path, "b")
    assert second.version == 3 and (tmp_path / "affect.v3.csv").read_text() == "csv b"
    manifest = json.loads((tmp_path / "scorebridge-result.v3.json").read_text())
    assert {f["name"] for f in manifest["files"]} == {
        "score.v3.wav", "affect.v3.csv", "stems.v3/pad.wav", "stems.v3/bass.wav"}
    assert latest_manifest(tmp_path).version == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_overwrite_replaces_only_what_the_manifest_lists(tmp_path):
    write_result(tmp_path, "a", stems=("pad", "bass", "drums"))
    again = write_result(tmp_path, "b", overwrite=True, stems=("pad",))
    assert again.version == 1
    assert (tmp_path / "score.wav").read_bytes() == b"wav b"
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == ["pad.wav"]
    assert not list(tmp_path.glob("*.v2*"))

    # The editor drops a file of their own into stems/: overwrite must refuse, change nothing.
    (tmp_path / "stems" / "mine.wav").write_bytes(b"mine")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(OutputExistsError, match="stems"):
        write_result(tmp_path, "c", overwrite=True)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_overwrite_refuses_a_file_changed_since(tmp_path):
    write_result(tmp_path, "a")
    (tmp_path / "score.wav").write_bytes(b"re-exported by hand, longer than before")
    with pytest.raises(OutputExistsError, match=r"score\.wav"):
        write_result(tmp_path, "b", overwrite=True)
    assert (tmp_path / "affect.csv").read_text() == "csv a"


def test_a_failed_commit_puts_everything_back(tmp_path, monkeypatch):
    write_result(tmp_path, "a")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real_place, calls = outputs._place, []

    def place_then_fail(src, dst, moved):
        calls.append(dst)
        if len(calls) == 3:  # after two entries were already moved into place
            raise OSError(28, "No space left on device", str(dst))
        real_place(src, dst, moved)

    monkeypatch.setattr(outputs, "_place", place_then_fail)
    with pytest.raises(BridgeError, match="nothing was changed"):
        write_result(tmp_path, "b", overwrite=True)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_result_files_have_one_mode(tmp_path):
    write_result(tmp_path, "a")
    for name in ("score.wav", "affect.csv", MANIFEST_NAME, "stems/pad.wav"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == RESULT_FILE_MODE, name


def test_stale_staging_of_a_dead_process_is_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".scorebridge-{dead.pid}-abc123"
    (stale / "stems").mkdir(parents=True)
    (stale / "score.wav").write_bytes(b"x" * 1000)
    foreign = tmp_path / ".scorebridge-notours"  # not our naming: never touched
    foreign.mkdir()
    inside = threading.Event()
    release = threading.Event()

    def live_job():
        with staged_outputs(tmp_path, ["other.json"]) as out:
            out.path("other.json").write_text("{}")
            inside.set()
            release.wait(10)

    t = threading.Thread(target=live_job)
    t.start()
    assert inside.wait(10)
    assert not stale.exists()  # starting into the folder swept it
    live = [p for p in tmp_path.iterdir() if p.name.startswith(f".scorebridge-{os.getpid()}-")]
    (tmp_path / f".scorebridge-{dead.pid}-def456").mkdir()
    removed = remove_stale_staging(tmp_path)
    assert [p.name for p in removed] == [f".scorebridge-{dead.pid}-def456"]
    assert live[0].exists() and foreign.exists()
    release.set()
    t.join(10)
    assert (tmp_path / "other.json").exists() and not live[0].exists()


def test_next_version_only_grows(tmp_path):
    assert next_version(tmp_path, NAMES) == 1
    (tmp_path / "score.v7.wav").write_bytes(b"")
    assert next_version(tmp_path, NAMES) == 8
    (tmp_path / "stems.v9").mkdir()
    assert next_version(tmp_path, ["score.wav"]) == 8  # stems not part of this result
