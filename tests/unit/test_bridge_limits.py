"""Limits that keep one request from costing unbounded memory, time or disk."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bridge.affect.markers import MAX_MARKERS, affect_markers
from bridge.config import ScoreOptions
from bridge.errors import InvalidOptionError, UnreadableTimelineError
from bridge.jobs import MAX_RESULT_BYTES, JobManager, JobState
from bridge.pipeline import MAX_TIMELINE_S, analyze_timeline
from bridge.timeline.build import ShotSpec, write_timeline
from bridge.types import AffectCurve

pytestmark = pytest.mark.timeout(30)


def curve(seconds: int) -> AffectCurve:
    zeros = np.zeros(seconds)
    return AffectCurve(1.0, zeros, zeros, np.ones(seconds))


def test_marker_count_is_bounded():
    assert len(affect_markers(curve(100), density="every:0.1")) == 1000
    with pytest.raises(InvalidOptionError, match=f"at most {MAX_MARKERS}") as err:
        affect_markers(curve(300), density="every:0.1")
    assert err.value.field == "markers"
    # Finer than 0.1 s is refused by the options alone, before any job is queued.
    with pytest.raises(InvalidOptionError, match="at least"):
        ScoreOptions(markers="every:0.001").validated()


def test_timeline_length_is_bounded(tmp_path):
    # An offline clip: the length is refused right after reading, before any decoding.
    hours = MAX_TIMELINE_S / 3600 + 1
    path = write_timeline(tmp_path / "long.otio", name="long", rate=Fraction(24),
                          shots=[ShotSpec(None, seconds=hours * 3600, name="offline")])
    with pytest.raises(UnreadableTimelineError, match="at most 12 h") as err:
        analyze_timeline(path)
    assert err.value.path == str(path)


def test_result_size_is_bounded(tmp_path):
    jobs = JobManager(tmp_path / "jobs")
    try:
        big = jobs.submit("analyze", lambda p, c, w: {"blob": "x" * (MAX_RESULT_BYTES + 1)})
        events = list(big.events(poll_s=0.05))
        assert big.state is JobState.FAILED and "MB" in events[-1].error.message
        assert events[-1].error.kind == "ResultTooLargeError"
        small = jobs.submit("analyze", lambda p, c, w: {"n": 1})
        list(small.events(poll_s=0.05))
        assert small.state is JobState.SUCCEEDED
    finally:
        jobs.shutdown()
