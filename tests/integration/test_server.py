"""The bridge over gRPC: a real server on 127.0.0.1:0, real clients, the real pipeline."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import pytest
from bridge_fixtures import SLOW, check_event_order, first_event, make_timeline, run_in_thread
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bridge.client import BridgeClient, RemoteError
from bridge.config import ScoreOptions
from bridge.jobs import JobManager
from bridge.server.app import build_server, set_serving, start_bridge
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb
from bridge.server.gen.scorebridge.v1 import bridge_pb2_grpc as pb_grpc

pytestmark = pytest.mark.timeout(300)

CANCEL_BOUND_S = 2.0  # from CancelJob to the end of the job's stream
TOKEN = "t" * 43
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@pytest.fixture(scope="module")
def short_timeline(tmp_path_factory) -> Path:
    return make_timeline(tmp_path_factory.mktemp("short"), shot_s=2.0, shots=2)


@pytest.fixture(scope="module")
def long_timeline(tmp_path_factory) -> Path:
    return make_timeline(tmp_path_factory.mktemp("long"), shot_s=5.0, shots=3)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    jobs = JobManager(tmp_path_factory.mktemp("jobs"), workers=1, max_queue=1)
    running = start_bridge(jobs=jobs, token=TOKEN)
    yield running
    running.stop(grace_s=5)


def connect(bridge) -> BridgeClient:
    return BridgeClient(bridge.grpc_address, token=TOKEN)


@pytest.fixture
def client(bridge):
    with BridgeClient(bridge.grpc_address, token=TOKEN) as c:
        c.wait_ready(10)
        yield c


def health_status(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


# ---------------------------------------------------------------- round trips


def test_health_reflection_and_backends(bridge, client):
    assert health_status(bridge.grpc_address) == SERVING
    backends = client.list_backends()
    assert {"heuristic"} <= {b["name"] for b in backends["affect"]}
    assert {"symbolic"} <= {b["name"] for b in backends["music"]}
    symbolic = next(b for b in backends["music"] if b["name"] == "symbolic")
    assert symbolic["options"][0]["name"] == "soundfont" and symbolic["options"][0]["description"]
    # Reflection lists the service, so grpcurl and friends can discover it.
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(bridge.grpc_address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5,
            metadata=AUTH)
        names = {s.name for r in replies for s in r.list_services_response.service}
    assert "scorebridge.v1.Bridge" in names and "grpc.health.v1.Health" in names


def test_analyze_round_trip(client, short_timeline):
    events: list[dict] = []
    seen: list[tuple[str, float]] = []
    result = client.analyze(short_timeline, on_progress=lambda s, f, m: seen.append((s, f)),
                            on_event=events.append)
    check_event_order(events)
    assert seen[0][0] == "queued" and {s for s, _ in seen} >= {"timeline", "affect", "style"}
    assert result["job_id"] == events[0]["job_id"]
    assert result["timeline_path"] == str(short_timeline)
    assert result["duration_s"] == pytest.approx(4.0)
    assert [c["time_s"] for c in result["cuts"]] == pytest.approx([2.0], abs=0.04)
    affect = result["affect"]
    assert len(affect["valence"]) == len(affect["arousal"]) == len(affect["confidence"]) == 4
    assert all(-1 <= v <= 1 for v in affect["valence"] + affect["arousal"])
    assert result["style"]["prompt"].startswith("Genre and style:")
    assert result["markers"] and {"start_s", "color", "name", "valence"} <= set(
        result["markers"][0])
    job = client.get_job(result["job_id"])
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    assert job["analysis"]["cuts"] == result["cuts"]


def test_analyze_otio_json_text(client, short_timeline):
    # What the plugins send: the timeline's text, media paths absolute inside it.
    result = client.analyze(short_timeline.read_text())
    assert result["duration_s"] == pytest.approx(4.0)
    assert len(result["cuts"]) == 1


def test_score_round_trip(client, short_timeline, tmp_path):
    events: list[dict] = []
    out = tmp_path / "score_out"
    result = client.score(short_timeline, out, ScoreOptions(seed=3), on_event=events.append)
    check_event_order(events)
    assert {e["progress"]["stage"] for e in events[:-1]} >= {"compose", "render", "export"}
    wav = Path(result["wav_path"])
    assert wav.parent == out.resolve() and wav.stat().st_size > 1000
    for key in ("midi_path", "otio_path", "affect_csv", "affect_json", "affect_png"):
        assert Path(result[key]).is_file(), key
    assert '"OTIO_SCHEMA"' in result["result_otio_json"]
    assert result["result_otio_json"] == Path(result["otio_path"]).read_text()
    assert result["plan_summary"], "plan summary should not be empty"
    assert result["analysis"]["style"]["name"]


# ---------------------------------------------------------------- concurrency and cancel


def test_two_clients_one_queued_third_refused(bridge, short_timeline, long_timeline):
    on_event, running, _ = first_event("timeline")
    with connect(bridge) as a, connect(bridge) as b, connect(bridge) as c:
        first = run_in_thread(a.analyze, long_timeline, SLOW, on_event=on_event)
        assert running.wait(30), "the first job never started"
        queued_event, queued, _ = first_event("queued")
        second = run_in_thread(b.analyze, short_timeline, on_event=queued_event)
        assert queued.wait(10)
        # One running + one queued = the bound (workers=1, max_queue=1).
        with pytest.raises(RemoteError) as refused:
            c.analyze(short_timeline)
        assert refused.value.code == "RESOURCE_EXHAUSTED"
        for box in (first, second):
            box["thread"].join(60)
            assert "error" not in box, box.get("error")
        assert first["result"]["duration_s"] == pytest.approx(15.0)
        assert second["result"]["duration_s"] == pytest.approx(4.0)
        # The second was queued behind the first, so it started after the first ended.
        j1, j2 = (a.get_job(box["result"]["job_id"]) for box in (first, second))
        assert j2["started_unix"] >= j1["finished_unix"]


def test_cancel_mid_job_leaves_nothing(bridge, client, long_timeline, short_timeline, tmp_path):
    out = tmp_path / "cancelled_out"
    on_event, in_affect, ids = first_event("affect")
    box = run_in_thread(client.score, long_timeline, out, SLOW, on_event=on_event)
    assert in_affect.wait(30)
    t0 = time.monotonic()
    client.cancel_job(ids[0])
    box["thread"].join(30)
    took = time.monotonic() - t0
    assert isinstance(box.get("error"), RemoteError), box
    assert box["error"].code == "CANCELLED"
    assert took < CANCEL_BOUND_S, f"cancel took {took:.2f} s"
    job = client.get_job(ids[0])
    assert job["state"] == "JOB_STATE_CANCELLED" and job["error"]["code"] == "CANCELLED"
    assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))
    assert not (bridge.jobs.root / ids[0] / "work").exists()
    # Still serving.
    assert health_status(bridge.grpc_address) == SERVING
    assert client.analyze(short_timeline)["duration_s"] == pytest.approx(4.0)


def test_cancel_queued_job(bridge, long_timeline, short_timeline):
    on_event, running, _ = first_event("timeline")
    with connect(bridge) as a, connect(bridge) as b:
        first = run_in_thread(a.analyze, long_timeline, SLOW, on_event=on_event)
        assert running.wait(30)
        q_event, queued, ids = first_event("queued")
        second = run_in_thread(b.analyze, short_timeline, on_event=q_event)
        assert queued.wait(10)
        assert b.cancel_job(ids[0])["state"] == "JOB_STATE_CANCELLED"
        second["thread"].join(10)
        assert second["error"].code == "CANCELLED"
        first["thread"].join(60)
        assert "result" in first


def test_client_disconnect_job_finishes(bridge, client, long_timeline):
    class Leave(Exception):
        pass

    ids: list[str] = []

    def leave_after_first_stage(event: dict) -> None:
        ids.append(event["job_id"])
        if event.get("progress", {}).get("stage") == "timeline":
            raise Leave  # stops reading; the client cancels its call

    with pytest.raises(Leave):
        client.analyze(long_timeline, SLOW, on_event=leave_after_first_stage)
    job_id = ids[0]
    assert client.get_job(job_id)["state"] in ("JOB_STATE_QUEUED", "JOB_STATE_RUNNING")
    # Reattach: WatchJob replays from the first event and ends with the result.
    events: list[dict] = []
    result = client.watch(job_id, on_event=events.append)
    check_event_order(events)
    assert result["duration_s"] == pytest.approx(15.0)
    job = client.get_job(job_id)
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    assert job["analysis"]["cuts"] == result["cuts"]


def test_restart_lists_finished_jobs(bridge, client, short_timeline, tmp_path):
    done = client.analyze(short_timeline)
    # A second bridge over the same jobs folder (as after a restart) knows the job.
    again = JobManager(bridge.jobs.root)
    server, port = build_server("127.0.0.1:0", jobs=again, token=TOKEN)
    try:
        with BridgeClient(f"127.0.0.1:{port}", token=TOKEN) as other:
            listed = {j["job_id"]: j for j in other.list_jobs()}
            assert listed[done["job_id"]]["state"] == "JOB_STATE_SUCCEEDED"
            assert "analysis" not in listed[done["job_id"]]  # listings stay small
            full = other.list_jobs(limit=1, include_results=True)
            assert full[0]["job_id"] == done["job_id"] and full[0]["analysis"]["cuts"]
            job = other.get_job(done["job_id"])
            assert job["analysis"]["cuts"] == done["cuts"]
            replay = other.watch(done["job_id"])
            assert replay["affect"] == done["affect"]
    finally:
        server.stop(0)
        again.shutdown()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (ScoreOptions(seed=-1), "seed"),
        (ScoreOptions(duck_db=500), "duck_db"),
        (ScoreOptions(markers="often"), "markers"),
        (ScoreOptions(backend_options={"sound_font": "x.sf2"}), "backend_options.sound_font"),
    ],
)
def test_absurd_options_are_invalid_argument(client, short_timeline, options, field):
    with pytest.raises(RemoteError) as err:
        client.analyze(short_timeline, options)
    assert err.value.code == "INVALID_ARGUMENT"
    assert f"field {field!r}" in str(err.value)


def test_unknown_style_and_backend(bridge, client, short_timeline):
    with pytest.raises(RemoteError) as err:
        client.analyze(short_timeline, ScoreOptions(style="polka-from-mars"))
    assert err.value.code == "INVALID_ARGUMENT" and "style" in str(err.value)
    with pytest.raises(RemoteError) as err:
        client.analyze(short_timeline, ScoreOptions(affect_backend="crystal-ball"))
    assert err.value.code == "INVALID_ARGUMENT" and "crystal-ball" in str(err.value)
    assert health_status(bridge.grpc_address) == SERVING


def test_bad_timelines(bridge, client, tmp_path):
    with pytest.raises(RemoteError) as err:
        client.analyze('{"OTIO_SCHEMA": "Timeline.1", ')
    assert err.value.code == "INVALID_ARGUMENT" and "otio_json" in str(err.value)

    with pytest.raises(RemoteError) as err:
        client.analyze('{"OTIO_SCHEMA": "NoSuchThing.1"}')
    assert err.value.code == "INVALID_ARGUMENT", err.value

    missing = tmp_path / "nowhere" / "cut.otio"
    with pytest.raises(RemoteError) as err:
        client.analyze(missing)
    assert err.value.code == "INVALID_ARGUMENT" and str(missing) in str(err.value)

    garbage = tmp_path / "garbage.otio"
    garbage.write_bytes(b"\x00\x01 not a timeline")
    with pytest.raises(RemoteError) as err:
        client.analyze(garbage)
    assert err.value.code == "INVALID_ARGUMENT" and str(garbage) in str(err.value)
    assert health_status(bridge.grpc_address) == SERVING


def test_missing_source_and_unknown_job(bridge):
    with grpc.insecure_channel(bridge.grpc_address) as channel:
        stub = pb_grpc.BridgeStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            list(stub.AnalyzeTimeline(pb.AnalyzeRequest(), timeout=10, metadata=AUTH))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "source" in err.value.details()
        with pytest.raises(grpc.RpcError) as err:
            stub.GetJob(pb.JobRef(job_id="no-such-job"), timeout=10, metadata=AUTH)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_not_serving_until_ready_and_after_stop(tmp_path):
    jobs = JobManager(tmp_path / "jobs")
    checker = health.HealthServicer()
    server, port = build_server("127.0.0.1:0", jobs=jobs, token=TOKEN, health_servicer=checker,
                                start=False)
    server.start()
    try:
        assert health_status(f"127.0.0.1:{port}") == NOT_SERVING
        set_serving(checker, True)
        assert health_status(f"127.0.0.1:{port}") == SERVING
    finally:
        server.stop(0)
        jobs.shutdown()

    running = start_bridge(jobs=JobManager(tmp_path / "jobs2"), token="x" * 43)
    assert health_status(running.grpc_address) == SERVING and running.http.serving()
    assert running.stop(grace_s=2)
    assert not running.http.serving()  # the shared health servicer said NOT_SERVING


def test_score_via_server_and_cli(bridge, short_timeline, tmp_path, capsys):
    from bridge.cli import main
    from bridge.client import score_via_server

    seen: list[str] = []
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    result = score_via_server(bridge.grpc_address, short_timeline, tmp_path / "a", ScoreOptions(),
                              lambda stage, fraction, message: seen.append(stage),
                              token_file=token_file)
    assert Path(result["wav_path"]).is_file() and seen[0] == "queued" and "render" in seen
    # `scorebridge score --server ADDR` goes through the same function.
    rc = main(["-q", "score", str(short_timeline), "-o", str(tmp_path / "b"),
               "--server", bridge.grpc_address, "--token-file", str(token_file)])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert Path(printed["wav_path"]).parent == (tmp_path / "b").resolve()


def test_unwritable_output_folder_is_failed_precondition(client, short_timeline, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(RemoteError) as err:
        client.score(short_timeline, blocker / "out")
    assert err.value.code == "FAILED_PRECONDITION" and str(blocker) in str(err.value)
    assert blocker.read_text() == "not a folder"
