"""The watch folder, with the real pipeline: settled exports are scored once, bad ones
reported, and watching goes on."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest

from bridge import ScoreOptions, score_timeline
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.timeline.build import ShotSpec, write_timeline
from bridge.watch import FolderWatcher

pytestmark = pytest.mark.timeout(300)
RATE = Fraction(25)
OPTIONS = ScoreOptions(style="synthwave")


@pytest.fixture(scope="module")
def export_text(tmp_path_factory) -> str:
    """The OTIO text of a 6 s two-shot cut, as an NLE would export it."""
    folder = tmp_path_factory.mktemp("watch-media")
    shots = []
    for i, colour in enumerate([(200, 40, 40), (40, 80, 200)]):
        media = folder / f"m{i}.mp4"
        encode_scenes(media, [SceneSpec(4.0, background=colour)], width=160, height=96,
                      rate=RATE, audio=False)
        shots.append(ShotSpec(media, seconds=3.0, name=f"m{i}"))
    return write_timeline(folder / "cut.otio", name="cut", rate=RATE, shots=shots).read_text()


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.cond = threading.Condition()

    def __call__(self, event: str, path: Path, message: str) -> None:
        with self.cond:
            self.seen.append((event, path.name, message))
            self.cond.notify_all()

    def wait_for(self, count: int, event: str, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while sum(e == event for e, *_ in self.seen) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {count} {event}: {self.seen}"
                self.cond.wait(left)


def scorer(timeline: Path, out: Path):
    return score_timeline(timeline, out, OPTIONS)


def test_export_written_in_chunks_is_scored_once_when_stable(tmp_path, export_text):
    events = Events()
    with FolderWatcher(tmp_path, scorer, events, settle_s=1.0):
        target = tmp_path / "reel1.otio"
        third = len(export_text) // 3
        with open(target, "w") as f:  # three chunks, as an NLE export arrives
            for k in range(3):
                f.write(export_text[k * third:(k + 1) * third if k < 2 else None])
                f.flush()
                time.sleep(0.4)
        events.wait_for(1, "scored")
        time.sleep(1.5)  # nothing more happens for a file that did not change again
    assert [e for e, *_ in events.seen] == ["scoring", "scored"]
    out = FolderWatcher.out_dir_for(target)
    assert (out / "score.wav").is_file() and (out / "scored.otio").is_file()


def test_bad_export_is_reported_and_watching_goes_on(tmp_path, export_text):
    events = Events()
    with FolderWatcher(tmp_path, scorer, events, settle_s=0.5) as watcher:
        (tmp_path / "broken.edl").write_text("TITLE: broken\nthis is not an EDL event\n")
        events.wait_for(1, "failed")
        (tmp_path / "notes.txt").write_text("not a timeline")  # ignored
        (tmp_path / "good.otio").write_text(export_text)
        events.wait_for(1, "scored")
        states = {f.path.name: (f.state, f.message) for f in watcher.snapshot()}
    failed = next(e for e in events.seen if e[0] == "failed")
    assert failed[1] == "broken.edl" and failed[2] and "\n" not in failed[2]
    assert states["broken.edl"][0] == "failed" and states["good.otio"] == ("scored", "")
    assert "notes.txt" not in states


def test_a_changed_export_is_scored_again(tmp_path, export_text):
    events = Events()
    target = tmp_path / "reel.otio"
    target.write_text(export_text)  # there before watching starts
    with FolderWatcher(tmp_path, scorer, events, settle_s=0.5):
        events.wait_for(1, "scored")
        target.write_text(export_text.replace('"cut"', '"cut v2"', 1))
        events.wait_for(2, "scored")
    assert [e for e, *_ in events.seen].count("scored") == 2
    out = FolderWatcher.out_dir_for(target)
    # the second export is the next version beside the first, never over it
    assert (out / "score.wav").is_file() and (out / "score.v2.wav").is_file()


def test_not_a_folder_is_refused(tmp_path):
    from bridge.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="not a folder"):
        FolderWatcher(tmp_path / "missing", scorer)
