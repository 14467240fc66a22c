"""Batch scoring and the bridge on a real local Ray (2 CPUs, started once for this module)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest
from bridge_fixtures import make_timeline

from bridge.batch import collect_timelines, run_batch
from bridge.cli import main
from bridge.config import ScoreOptions
from bridge.errors import CancelledError
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.outputs import MANIFEST_NAME, STAGING_PREFIX
from bridge.progress import CancelToken
from bridge.timeline.build import ShotSpec, write_timeline

pytest.importorskip("ray", reason="the cluster extra (ray) is not installed")

from bridge import cluster  # after the skip: it needs ray at call time

pytestmark = pytest.mark.timeout(240)

TOKEN = "r" * 43
RATE = Fraction(25)
_SCENES = [
    SceneSpec(10.0, background=(20, 30, 60), shapes=1, speed_px_s=20, audio="tone"),
    SceneSpec(10.0, background=(40, 140, 150), shapes=3, speed_px_s=80, audio="noise"),
    SceneSpec(10.0, background=(200, 40, 20), shapes=6, speed_px_s=220, audio="noise"),
    SceneSpec(10.0, background=(220, 180, 60), shapes=2, speed_px_s=30, audio="tone"),
    SceneSpec(10.0, background=(90, 20, 110), shapes=4, speed_px_s=140, audio="noise"),
    SceneSpec(10.0, background=(30, 90, 40), shapes=2, speed_px_s=50, audio="tone"),
]


@pytest.fixture(scope="module")
def ray_local():
    # One local Ray for the whole module: it takes seconds and hundreds of MB to start.
    with cluster.ray_session(num_cpus=2) as resources:
        yield resources


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """One 60 s source of six scenes that every timeline cuts from."""
    path = tmp_path_factory.mktemp("media") / "source.mp4"
    encode_scenes(path, _SCENES, width=160, height=96, rate=RATE)
    return path


def one_minute_timeline(folder: Path, source: Path, index: int, seconds: int = 60) -> Path:
    """Shots of 4-9 s taken from the source at an offset that differs per timeline."""
    lengths = [4 + (index + i) % 6 for i in range(20)]
    shots, total, offset = [], 0, (7 * index) % 20
    for length in lengths:
        length = min(length, seconds - total)
        if length <= 0:
            break
        start = (offset + total) % (60 - length)
        shots.append(ShotSpec(source, seconds=length, media_start_s=float(start),
                              media_duration_s=60.0))
        total += length
    return write_timeline(folder / f"reel{index}.otio", name=f"reel {index}", rate=RATE,
                          shots=shots)


def staging_left(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(f"{STAGING_PREFIX}*")]


# ---------------------------------------------------------------- batch


def test_batch_of_six_with_one_malformed(ray_local, source, tmp_path, capsys):
    reels = tmp_path / "reels"
    reels.mkdir()
    for i in range(6):
        one_minute_timeline(reels, source, i)
    (reels / "broken.otio").write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": ')
    (reels / "notes.txt").write_text("not a timeline; a folder source skips it")
    out = tmp_path / "out"
    # Something already in reel2's folder that Scorebridge did not write: its result is v2.
    (out / "reel2").mkdir(parents=True)
    (out / "reel2" / "score.wav").write_bytes(b"an editor's own file")

    assert len(collect_timelines([reels])) == 7
    code = main(["-q", "batch", str(reels), "-o", str(out), "--json", str(tmp_path / "b.json"),
                 "--sample-rate", "22050"])  # half the rendering, same checks
    assert code == 1  # one timeline failed; the table says which
    printed = capsys.readouterr().out
    summary = json.loads((out / "batch.json").read_text())
    assert summary == json.loads((tmp_path / "b.json").read_text())
    assert summary["done"] == 6 and summary["failed"] == 1
    assert summary["engine"] == "ray (2 CPUs)"
    rows = {Path(r["timeline"]).stem: r for r in summary["timelines"]}
    broken = rows.pop("broken")
    assert broken["status"] == "failed" and "broken.otio" in broken["error"]
    assert "broken.otio" in printed and "failed" in printed
    assert not (out / "broken").exists() or not any((out / "broken").iterdir())
    pids = set()
    for name, row in rows.items():
        assert row["status"] == "done", row
        assert row["duration_s"] == pytest.approx(60.0)
        assert row["cuts"] >= 6
        assert row["cut_beat_hit_rate"] >= 0.8, row
        assert row["integrated_lufs"] == pytest.approx(-16.0, abs=0.6)
        expected_wav = "score.v2.wav" if name == "reel2" else "score.wav"
        assert Path(row["wav"]) == out / name / expected_wav
        assert row["version"] == (2 if name == "reel2" else 1)
        manifest = json.loads(Path(row["manifest"]).read_text())
        assert manifest["version"] == row["version"]
        for listed in manifest["files"]:
            assert (out / name / listed["name"]).stat().st_size == listed["size"]
        assert name in printed
        pids.add(row["worker"])
    assert len(pids) >= 2  # the two CPUs' workers both took timelines
    assert (out / "reel2" / "score.wav").read_bytes() == b"an editor's own file"
    assert not staging_left(out)


def test_list_file_and_versioned_rerun(ray_local, source, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    first = one_minute_timeline(folder, source, 1, seconds=20)
    listing = tmp_path / "todo.txt"
    listing.write_text(f"# one relative, one absolute\nt/{first.name}\n\n{first}\n")
    assert collect_timelines([listing]) == [first.resolve()]
    out = tmp_path / "out"
    options = ScoreOptions(seed=1, sample_rate=22050)
    runs = [run_batch([first], out, options, runner=cluster.run_on_ray, parallel=1,
                      engine="ray") for _ in range(2)]
    assert [r.outcomes[0].version for r in runs] == [1, 2]
    assert (out / "reel1" / "score.wav").is_file() and (out / "reel1" / "score.v2.wav").is_file()
    assert (out / "batch.json").is_file() and (out / "batch.v2.json").is_file()


def test_worker_killed_mid_render_is_retried_without_partial_files(ray_local, source, tmp_path):
    timeline = one_minute_timeline(tmp_path, source, 3)
    out = tmp_path / "out"
    options = ScoreOptions(sample_rate=22050)
    killed: dict = {}
    workers: list[int] = []

    def progress(stage: str, fraction: float, message: str = "") -> None:
        if stage == "render" and fraction > 0 and not killed:
            killed["staging"] = staging_left(out)  # what the attempt was writing
            os.kill(workers[0], signal.SIGKILL)
            killed["pid"] = workers[0]

    from bridge.batch import score_one

    work = lambda p, c, w: score_one(str(timeline), str(out), options, p, c, w)  # noqa: E731
    result = cluster.run_on_ray(work, progress, CancelToken(), tmp_path, max_retries=2,
                                on_worker=lambda host, pid: workers.append(pid))
    assert killed["staging"], "the kill did not land while the result was staged"
    assert str(killed["pid"]) not in result["worker"]  # a second worker finished it
    assert result["version"] == 1  # the lost attempt committed nothing
    assert not staging_left(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == {f["name"] for f in manifest["files"]} | {MANIFEST_NAME}


def test_cancel_through_ray_removes_staging(ray_local, source, tmp_path):
    timeline = one_minute_timeline(tmp_path, source, 4)
    out = tmp_path / "out"
    cancel = CancelToken()

    def progress(stage: str, fraction: float, message: str = "") -> None:
        if stage == "render" and fraction > 0:
            cancel.cancel()

    from bridge.batch import score_one

    work = lambda p, c, w: score_one(str(timeline), str(out), ScoreOptions(), p, c, w)  # noqa: E731
    t0 = time.monotonic()
    with pytest.raises(CancelledError):
        cluster.run_on_ray(work, progress, cancel, tmp_path)
    assert time.monotonic() - t0 < 60
    assert not staging_left(out) and not any(out.rglob("*"))


# ---------------------------------------------------------------- the bridge on Ray


def test_bridge_on_ray_scores_and_cancels(ray_local, tmp_path):
    from bridge.client import BridgeClient, RemoteError
    from bridge.jobs import JobManager
    from bridge.server.app import start_bridge

    short = make_timeline(tmp_path / "short", shot_s=2.0, shots=3)
    longer = make_timeline(tmp_path / "long", shot_s=10.0, shots=4)
    jobs = JobManager(tmp_path / "jobs", workers=2, max_queue=2, runner=cluster.RayRunner())
    bridge = start_bridge(jobs=jobs, token=TOKEN)
    try:
        with BridgeClient(bridge.grpc_address, token=TOKEN) as client:
            client.wait_ready(10)
            stages: list[str] = []
            result = client.score(short, tmp_path / "scored",
                                  on_event=lambda e: stages.append(
                                      e.get("progress", {}).get("stage", "")))
            assert Path(result["wav_path"]).is_file()
            assert "worker" in stages and "render" in stages  # progress came from the task
            assert client.get_job(result["job_id"])["state"] == "JOB_STATE_SUCCEEDED"

            seen = threading.Event()
            ids: list[str] = []

            def on_event(event: dict) -> None:
                ids.append(event["job_id"])
                if event.get("progress", {}).get("stage") in ("affect", "compose", "render"):
                    seen.set()

            box: dict = {}

            def run() -> None:
                try:
                    box["result"] = client.score(longer, tmp_path / "cancelled",
                                                 on_event=on_event)
                except RemoteError as err:
                    box["error"] = err

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            assert seen.wait(60)
            client.cancel_job(ids[0])
            thread.join(60)
            assert box["error"].code == "CANCELLED", box
            assert client.get_job(ids[0])["state"] == "JOB_STATE_CANCELLED"
            out = tmp_path / "cancelled"
            assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))
    finally:
        bridge.stop(grace_s=10)


def test_bad_sources_are_one_line(tmp_path, capsys):
    assert main(["-q", "batch", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"scorebridge: error: {tmp_path / 'nowhere'}: no such folder or list file"]
    (tmp_path / "empty").mkdir()
    assert main(["-q", "batch", str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    assert "no timelines found" in capsys.readouterr().err
