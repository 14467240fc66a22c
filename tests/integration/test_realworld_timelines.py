"""Every real third-party timeline in ../shared/realworld/timelines is read, or refused with
exit 2 and one line naming what is missing. Skipped when that folder is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import EXIT_BAD_INPUT, main
from bridge.errors import BridgeError
from bridge.timeline import read_edit

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "realworld"
TIMELINES = REALWORLD / "timelines"
pytestmark = pytest.mark.skipif(
    not TIMELINES.is_dir(), reason=f"no real-world timelines at {TIMELINES}"
)

# The files that must be refused, each with what its one-line refusal must say.
EXPECTED_REFUSALS = {
    "fcp7__premiere_example_filter.xml": "holds no <sequence>",  # a <filter> fragment
    "fcp7__sample_just_track.xml": "nothing to score",  # one empty track
    "fcpx__fcpx_clips.fcpxml": "event clips but no project (timeline): nothing to score",
    # Libraries and events with two projects: the refusal lists them.
    "fcpx__fcpx_event.fcpxml": "'OpenTimeline_Project', 'OpenTimeline_Project 1'",
    "fcpx__fcpx_example.fcpxml": "'OpenTimeline_Project', 'OpenTimeline_Project 1'",
    "fcpx__fcpx_library.fcpxml": "'OpenTimeline_Project', 'OpenTimeline_Project 1'",
}
# Files whose reading must report something particular.
EXPECTED_WARNINGS = {
    "cmx__25fps.edl": "25 fps inferred",
    "cmx__timecode_mismatch.edl": "25 fps inferred",
    "cmx__dissolve_test_fail.edl": "EDL event 001: skipped, zero length",
    "otio__premiere_example.otio": "newer OTIO (Marker.3)",
    "otio015__gaps.otio": "no picture",
    "cmx__multi_audio.edl": "no picture",
}


def _files() -> list[str]:
    return sorted(p.name for p in TIMELINES.iterdir()) if TIMELINES.is_dir() else []


@pytest.mark.parametrize("name", _files())
def test_each_real_timeline_is_read_or_rightly_refused(name, capsys):
    path = TIMELINES / name
    if name in EXPECTED_REFUSALS:
        with pytest.raises(BridgeError) as refused:
            read_edit(path)
        assert name in str(refused.value) and EXPECTED_REFUSALS[name] in str(refused.value)
    else:
        edit = read_edit(path)
        if name in EXPECTED_WARNINGS:
            assert any(EXPECTED_WARNINGS[name] in w for w in edit.warnings), edit.warnings
    # The command line reads it too: exit 0, or exit 2 with one line naming the file (the
    # reader's refusal, or, since these files' media are not here, that no picture could be
    # read); never a traceback.
    code = main(["-q", "analyze", "--no-detect", str(path)])
    err = capsys.readouterr().err
    assert code in (0, EXIT_BAD_INPUT), err
    if code == EXIT_BAD_INPUT:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], err
        if name in EXPECTED_REFUSALS:
            assert EXPECTED_REFUSALS[name] in lines[0]
        else:
            assert "no picture could be read" in lines[0], lines[0]
    else:
        assert err == "" and name not in EXPECTED_REFUSALS


def test_a_project_is_chosen_from_a_real_fcpx_library(capsys):
    path = TIMELINES / "fcpx__fcpx_library.fcpxml"
    edit = read_edit(path, timeline_name="OpenTimeline_Project 1")
    assert edit.name == "OpenTimeline_Project 1" and edit.shots
    with pytest.raises(BridgeError, match="no timeline named 'nope'"):
        read_edit(path, timeline_name="nope")
    assert main(["-q", "analyze", "--no-detect", "--timeline", "nope", str(path)]) == 2
    assert "no timeline named 'nope'" in capsys.readouterr().err


def test_the_25fps_edl_lands_on_its_own_frames(capsys):
    # Record out of the last event is 00:00:19:21 at 25 fps: 496 frames.
    edit = read_edit(TIMELINES / "cmx__25fps.edl")
    assert edit.rate == 25 and edit.duration_frames == 496
    # Forcing 24 fps is refused on the first timecode that cannot exist at 24.
    assert main(["-q", "analyze", "--rate", "24", str(TIMELINES / "cmx__25fps.edl")]) == 2
    assert "beyond 23" in capsys.readouterr().err
