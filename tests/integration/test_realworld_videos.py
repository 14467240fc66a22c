"""Cut detection on real videos (../shared/realworld/videos) against their *.truth.json.
Skipped when that folder is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.analysis.cuts import find_cuts
from bridge.analysis.picture import observe_picture
from bridge.eval.metrics import cut_f1
from bridge.media import probe
from bridge.timeline import ShotSpec, read_edit, write_timeline
from bridge.timeline.formats import rate_fraction

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "realworld" / "videos"
pytestmark = pytest.mark.skipif(not VIDEOS.is_dir(), reason=f"no real-world videos at {VIDEOS}")


def _videos() -> list[str]:
    if not VIDEOS.is_dir():
        return []
    return sorted(p.name for p in VIDEOS.glob("psd__*") if p.suffix in (".mp4", ".mkv"))


def _cuts(name: str, tmp_path: Path):
    video = VIDEOS / name
    info = probe(video)
    rate = rate_fraction(info.fps)
    timeline = write_timeline(
        tmp_path / "one.otio", name=video.stem, rate=rate,
        shots=[ShotSpec(video, frames=int(info.duration_s * rate),
                        media_duration_s=info.duration_s)],
    )
    edit = read_edit(timeline)
    return find_cuts(edit, picture=observe_picture(edit)), rate


@pytest.mark.parametrize("name", _videos())
def test_real_video_cuts_against_the_truth(name, tmp_path):
    cuts, rate = _cuts(name, tmp_path)  # no traceback on any of them (10 fps included)
    truth_path = VIDEOS / f"{name}.truth.json"
    if not truth_path.exists():
        return
    truth = json.loads(truth_path.read_text())["cuts_s"]
    frame_s = 1 / float(rate)
    hard = [c.time_s for c in cuts if not c.is_gradual]
    soft = [c for c in cuts if c.is_gradual]
    if name == "psd__testvideo.mp4":
        # Its three hard cuts, except that 13.1465 s is where a fade up from black begins
        # (luma rises linearly from there); that one is found as the fade's start.
        assert cut_f1(hard, truth, tol_s=frame_s + 1e-6)["f1"] >= 0.8
        boundaries = hard + [c.start_s for c in soft] + [c.end_s for c in soft]
        assert all(any(abs(b - t) <= frame_s + 1e-6 for b in boundaries) for t in truth)
        assert {c.kind for c in soft} == {"fade", "dissolve"}
    else:
        assert cut_f1(hard, truth, tol_s=frame_s + 1e-6)["f1"] == 1.0, hard
    if name == "psd__fades.mp4":
        assert hard == [] and len(soft) >= 4 and {c.kind for c in soft} == {"fade"}
    if name == "psd__counter.mp4":
        assert cuts == ()
