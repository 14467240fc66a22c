"""What `scorebridge batch` scores and how it reports it (no Ray here: see test_cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.batch import (
    BatchSummary,
    TimelineOutcome,
    collect_timelines,
    output_folders,
    summary_table,
)
from bridge.errors import InvalidOptionError, UnreadableTimelineError


def test_folders_lists_and_single_timelines(tmp_path):
    season = tmp_path / "season"
    season.mkdir()
    for name in ("ep2.otio", "ep1.xml", "ep3.edl", "notes.txt", ".hidden.otio"):
        (season / name).write_text("x")
    (season / "bundle.otiod").mkdir()  # a folder timeline is a timeline, not a source folder
    extra = tmp_path / "extra" / "special.fcpxml"
    extra.parent.mkdir()
    extra.write_text("x")
    listing = tmp_path / "todo.list"
    listing.write_text("# comment\n\nextra/special.fcpxml\n  season/ep1.xml  \n")
    found = collect_timelines([season, listing, extra])
    names = [p.name for p in found]
    # folder entries sorted by name; a timeline named twice is scored once
    assert names == ["bundle.otiod", "ep1.xml", "ep2.otio", "ep3.edl", "special.fcpxml"]
    assert all(p.is_absolute() for p in found)


def test_bad_sources_name_the_path(tmp_path):
    with pytest.raises(UnreadableTimelineError, match="no such folder or list file") as err:
        collect_timelines([tmp_path / "missing"])
    assert err.value.path == str(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidOptionError, match="no timelines found"):
        collect_timelines([tmp_path / "empty"])
    binary = tmp_path / "list.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UnreadableTimelineError, match="cannot read the list"):
        collect_timelines([binary])


def test_output_folders_keep_names_apart(tmp_path):
    timelines = [Path("/a/reel.otio"), Path("/b/reel.xml"), Path("/c/other.otio"),
                 Path("/d/reel.edl")]
    assert [f.name for f in output_folders(timelines, tmp_path)] == [
        "reel", "reel-2", "other", "reel-3"]


def test_summary_table_and_json():
    done = TimelineOutcome("/s/ep1.otio", "/o/ep1", status="done", duration_s=60.0, cuts=12,
                           cut_beat_hit_rate=0.9, cuts_counted=10, integrated_lufs=-16.02,
                           wall_s=7.25, wav="/o/ep1/score.v2.wav", version=2)
    failed = TimelineOutcome("/s/broken.otio", "/o/broken", status="failed",
                             error="/s/broken.otio: not a timeline", wall_s=0.1)
    summary = BatchSummary([done, failed], wall_s=9.5, engine="ray (2 CPUs)")
    lines = summary_table(summary).splitlines()
    assert lines[0].split()[:3] == ["timeline", "status", "length"]
    assert "ep1.otio" in lines[1] and "90% of 10" in lines[1] and "-16.0 LUFS" in lines[1]
    assert lines[1].endswith("/o/ep1/score.v2.wav")
    assert "failed" in lines[2] and lines[2].endswith("/s/broken.otio: not a timeline")
    assert lines[-1] == "1 of 2 scored in 9.5 s (ray (2 CPUs))"
    data = summary.to_json()
    assert data["done"] == 1 and data["failed"] == 1
    assert data["timelines"][1]["error"] == "/s/broken.otio: not a timeline"
