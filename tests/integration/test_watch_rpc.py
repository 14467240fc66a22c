"""Watch folders through the bridge: a real server on 127.0.0.1:0, the token, the real
pipeline. A plugin switches a watch on; exports land; the queue scores them."""

from __future__ import annotations

import shutil
import time

import grpc
import pytest
from bridge_fixtures import make_timeline

from bridge.jobs import JobManager
from bridge.server.app import start_bridge
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb
from bridge.server.gen.scorebridge.v1 import bridge_pb2_grpc as pb_grpc

pytestmark = pytest.mark.timeout(300)
TOKEN = "w" * 43
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    jobs = JobManager(tmp_path_factory.mktemp("jobs"), workers=1, max_queue=4)
    running = start_bridge(jobs=jobs, token=TOKEN)
    with grpc.insecure_channel(running.grpc_address) as channel:
        yield pb_grpc.BridgeStub(channel), running
    running.stop(grace_s=5)


def wait_for(stub, folder, name: str, state: str, timeout_s: float = 120.0) -> pb.WatchedFile:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for watch in stub.ListWatches(pb.ListWatchesRequest(), metadata=AUTH).watches:
            for f in watch.files:
                if watch.folder == str(folder) and f.path.endswith(name) and f.state == state:
                    return f
        time.sleep(0.2)
    raise AssertionError(f"{name} never became {state}")


def test_a_watched_folder_scores_exports_through_the_queue(stub, tmp_path):
    stub, _ = stub
    source = make_timeline(tmp_path / "src", shot_s=2.0, shots=2)
    folder = tmp_path / "exports"
    folder.mkdir()
    started = stub.StartWatch(pb.StartWatchRequest(folder=str(folder), settle_s=0.5,
                                                   options=pb.ScoreOptions(style="synthwave")),
                              metadata=AUTH)
    assert started.active and started.folder == str(folder.resolve())
    shutil.copy(source, folder / "reel1.otio")  # an export lands
    scored = wait_for(stub, folder.resolve(), "reel1.otio", "scored")
    assert scored.jobs == 1
    assert (folder / "reel1.otio.scorebridge" / "score.wav").is_file()
    # the job went through the bridge's own queue, where ListJobs sees it
    jobs = stub.ListJobs(pb.ListJobsRequest(), metadata=AUTH).jobs
    assert any(j.kind == "score" and j.state == pb.JOB_STATE_SUCCEEDED
               and j.source.endswith("reel1.otio") for j in jobs), jobs
    (folder / "broken.edl").write_text("TITLE: broken\nnot an event\n")
    failed = wait_for(stub, folder.resolve(), "broken.edl", "failed")
    assert failed.message and "\n" not in failed.message
    stopped = stub.StopWatch(pb.WatchFolderRef(folder=str(folder)), metadata=AUTH)
    assert not stopped.active
    assert stub.ListWatches(pb.ListWatchesRequest(), metadata=AUTH).watches == []


def test_watch_requests_are_checked_and_authenticated(stub, tmp_path):
    stub, _ = stub
    with pytest.raises(grpc.RpcError) as bad:
        stub.StartWatch(pb.StartWatchRequest(folder="relative/exports"), metadata=AUTH)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "folder" in bad.value.details()
    with pytest.raises(grpc.RpcError) as unknown:
        stub.StopWatch(pb.WatchFolderRef(folder=str(tmp_path)), metadata=AUTH)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as anonymous:
        stub.ListWatches(pb.ListWatchesRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
