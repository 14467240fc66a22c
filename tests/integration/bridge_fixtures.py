"""Helpers the bridge server tests share (gRPC, HTTP gateway, `bridge serve` lifecycle).

Not a test module: the test files import it (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

from fixture_timelines import shots_timeline

from bridge.config import ScoreOptions
from bridge.media.synth import SceneSpec

STAGES = ["queued", "timeline", "picture", "sound", "cuts", "affect", "style", "compose", "render",
          "export"]
# Picture samples per second for the jobs that must still be running when the test acts:
# at 30 Hz the affect stage of the 15 s timeline takes a couple of seconds here.
SLOW = ScoreOptions(analysis_rate_hz=30)

_COLOURS = [(200, 30, 30), (20, 20, 200), (20, 180, 40), (230, 200, 40)]


def make_timeline(folder: Path, *, shot_s: float, shots: int) -> Path:
    """`shots` solid scenes of `shot_s` seconds each, moving shapes, cut together as OTIO."""
    folder.mkdir(parents=True, exist_ok=True)
    return shots_timeline(
        folder, [i * shot_s for i in range(shots + 1)],
        lambda i, seconds: SceneSpec(seconds, background=_COLOURS[i % 4], shapes=2,
                                     speed_px_s=40 * (i + 1),
                                     audio="tone" if i % 2 else "noise"),
        name="cut",
    )


def check_event_order(events: list[dict]) -> None:
    """Stages in pipeline order, fractions non-decreasing within a stage, result last."""
    progress = [e["progress"] for e in events if "progress" in e]
    assert progress[0]["stage"] == "queued"
    ranks = [STAGES.index(p["stage"]) for p in progress]  # ValueError on an unknown stage
    assert ranks == sorted(ranks), [p["stage"] for p in progress]
    for a, b in itertools.pairwise(progress):
        if a["stage"] == b["stage"]:
            assert b["fraction"] >= a["fraction"], (a, b)
        assert 0.0 <= b["fraction"] <= 1.0
    assert all("progress" in e for e in events[:-1])
    assert "analysis" in events[-1] or "score" in events[-1]
    assert len({e["job_id"] for e in events}) == 1


def run_in_thread(fn, *args, **kwargs):
    """Start fn in a thread; return a dict that receives "result" or "error"."""
    box: dict = {}

    def target():
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # the test inspects it
            box["error"] = exc

    box["thread"] = threading.Thread(target=target, daemon=True)
    box["thread"].start()
    return box


def first_event(stage: str):
    """An on_event callback and an Event set (with the job id) at the first `stage` event."""
    seen = threading.Event()
    ids: list[str] = []

    def on_event(event: dict) -> None:
        ids.append(event["job_id"])
        if event.get("progress", {}).get("stage") == stage:
            seen.set()

    return on_event, seen, ids
