"""The bridge against careless and hostile use: a real server on 127.0.0.1, real clients.

Each check here is one of the failures issue 12 found: user files replaced or deleted,
gRPC without a token, streams starving health, staging folders left by a kill, tracebacks
for bad input, a shared config folder, unbounded sockets. Subprocesses are ended by their
own PID; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from bridge_fixtures import make_timeline
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge.client import BridgeClient, RemoteError
from bridge.config import ScoreOptions
from bridge.jobs import JobManager
from bridge.local_config import TokenFileError, load_or_create_token
from bridge.server.app import StartError, build_server, run_server, start_bridge
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb
from bridge.server.gen.scorebridge.v1 import bridge_pb2_grpc as pb_grpc
from bridge.server.tls import TlsError, load_or_create_self_signed

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
TOKEN = "r" * 43
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> Path:
    return make_timeline(tmp_path_factory.mktemp("rel_tl"), shot_s=2.0, shots=2)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    jobs = JobManager(tmp_path_factory.mktemp("rel_jobs"), workers=1, max_queue=2)
    running = start_bridge(jobs=jobs, token=TOKEN)
    yield running
    running.stop(grace_s=5)


@pytest.fixture
def client(bridge):
    with BridgeClient(bridge.grpc_address, token=TOKEN) as c:
        c.wait_ready(10)
        yield c


def staging_in(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".scorebridge-")] \
        if folder.exists() else []


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", "-q", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env={**os.environ, **(env or {})})


def one_line_exit_2(out: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2 and one error line (`serve` may have logged its start before it)."""
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    errors = [line for line in lines if " bridge." not in line]  # log lines name a logger
    assert len(errors) == 1 and "Traceback" not in out.stderr, out.stderr
    assert errors[0].startswith("scorebridge: error: ") and errors[0] == lines[-1]
    for needle in needles:
        assert needle in errors[0], errors[0]


# ---------------------------------------------------------------- outputs


def test_stems_folder_and_existing_score_survive(client, timeline, tmp_path):
    out = tmp_path / "out"
    (out / "stems").mkdir(parents=True)
    (out / "stems" / "dialogue.wav").write_bytes(b"the editor's dialogue stem")
    (out / "score.wav").write_bytes(b"the temp score the Premiere project points at")
    result = client.score(timeline, out, ScoreOptions(stems=True))
    assert (out / "stems" / "dialogue.wav").read_bytes() == b"the editor's dialogue stem"
    assert [p.name for p in (out / "stems").iterdir()] == ["dialogue.wav"]
    assert (out / "score.wav").read_bytes() == b"the temp score the Premiere project points at"
    assert result["version"] == 2 and result["wav_path"] == str(out / "score.v2.wav")
    assert all(Path(p).parent == out / "stems.v2" for p in result["stem_paths"].values())
    manifest = json.loads(Path(result["manifest_path"]).read_text())
    listed = {f["name"] for f in manifest["files"]}
    assert {"score.v2.wav", "score.v2.mid", "scored.v2.otio", "affect.v2.csv"} <= listed
    assert all(n.startswith("stems.v2/") for n in listed if "stems" in n)
    modes = {stat.S_IMODE((out / n).stat().st_mode) for n in listed}
    assert len(modes) == 1 and not modes.pop() & 0o022  # one mode, not writable by others
    assert not staging_in(out)

    # overwrite replaces that result's own files, and nothing of the editor's
    again = client.score(timeline, out, ScoreOptions(overwrite=True))
    assert again["version"] == 2 and not (out / "stems.v2").exists()
    assert (out / "score.wav").read_bytes() == b"the temp score the Premiere project points at"
    assert (out / "stems" / "dialogue.wav").exists()

    # the editor re-exported over that result by hand: overwrite now refuses, changes nothing
    (out / "score.v2.wav").write_bytes(b"edited by hand")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(RemoteError) as err:
        client.score(timeline, out, ScoreOptions(overwrite=True))
    assert err.value.code == "FAILED_PRECONDITION" and "score.v2.wav" in str(err.value)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_output_folder_must_be_absolute_and_usable(bridge, timeline, tmp_path):
    with grpc.insecure_channel(bridge.grpc_address) as channel:
        stub = pb_grpc.BridgeStub(channel)
        request = pb.ScoreRequest(path=str(timeline),
                                  options=pb.ScoreOptions(output_dir="relative/out"))
        with pytest.raises(grpc.RpcError) as err:
            list(stub.ScoreTimeline(request, timeout=10, metadata=AUTH))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "output_dir" in err.value.details() and "absolute" in err.value.details()
    before = len(bridge.jobs.list())
    with pytest.raises(RemoteError) as err:
        BridgeClient(bridge.grpc_address, token=TOKEN).score(
            timeline, tmp_path, ScoreOptions(markers="every:0.001"))
    assert err.value.code == "INVALID_ARGUMENT" and "markers" in str(err.value)
    assert len(bridge.jobs.list()) == before  # refused before a job was queued


# ---------------------------------------------------------------- authentication


def test_grpc_needs_the_token_except_health(bridge):
    with grpc.insecure_channel(bridge.grpc_address) as channel:
        stub = pb_grpc.BridgeStub(channel)
        for metadata in ((), (("authorization", "Bearer " + "x" * 43),),
                         (("authorization", TOKEN),)):
            with pytest.raises(grpc.RpcError) as err:
                stub.ListJobs(pb.ListJobsRequest(), timeout=5, metadata=metadata)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as err:
                list(stub.WatchJob(pb.JobRef(job_id="x"), timeout=5, metadata=metadata))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert stub.ListJobs(pb.ListJobsRequest(), timeout=5, metadata=AUTH) is not None
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
            health_pb2.HealthCheckResponse.SERVING


def test_job_ids_never_reach_the_file_system(client):
    for job_id in ("../../etc/passwd", "/etc", "", "20261128-072230-0a1b2c3d/../x"):
        with pytest.raises(RemoteError) as err:
            client.get_job(job_id)
        assert err.value.code == "NOT_FOUND"


# ---------------------------------------------------------------- bounded resources


def test_streams_do_not_starve_health_or_unary(tmp_path):
    jobs = JobManager(tmp_path / "jobs")
    gate = threading.Event()

    def wait_for_gate(progress, cancel, workdir):
        while not gate.wait(0.02):
            cancel.raise_if_cancelled()
        return {"analysis": {}}

    server, port = build_server("127.0.0.1:0", jobs=jobs, token=TOKEN, max_streams=16)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        job = jobs.submit("analyze", wait_for_gate)
        stub = pb_grpc.BridgeStub(channel)
        streams = [stub.WatchJob(pb.JobRef(job_id=job.id), metadata=AUTH) for _ in range(16)]
        for s in streams:
            assert next(s).progress.stage == "queued"  # each stream holds a server thread now
        with pytest.raises(grpc.RpcError) as err:  # the 17th is refused, not queued
            next(stub.WatchJob(pb.JobRef(job_id=job.id), metadata=AUTH, timeout=5))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        health = health_pb2_grpc.HealthStub(channel)
        took = []
        for _ in range(100):
            t0 = time.perf_counter()
            health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            stub.GetJob(pb.JobRef(job_id=job.id), timeout=5, metadata=AUTH)
            took.append(time.perf_counter() - t0)
        p99 = sorted(took)[98]
        t0 = time.perf_counter()
        stub.ListBackends(pb.ListBackendsRequest(), timeout=5, metadata=AUTH)
        backends_s = time.perf_counter() - t0
        print(f"16 streams open: health+GetJob p99 {p99 * 1000:.1f} ms, "
              f"ListBackends {backends_s * 1000:.1f} ms")
        assert p99 < 0.050 and backends_s < 1.0
        gate.set()
        for s in streams:
            assert list(s)[-1].HasField("analysis")
    finally:
        gate.set()
        channel.close()
        server.stop(0)
        jobs.shutdown()


def test_finished_jobs_are_pruned_and_read_lazily(tmp_path):
    root = tmp_path / "jobs"
    jobs = JobManager(root, keep_last=3)
    done = [jobs.submit("analyze", lambda p, c, w: {"n": 1}) for _ in range(1)]
    for i in range(5):
        job = jobs.submit("analyze", lambda p, c, w, i=i: {"n": i})
        list(job.events(poll_s=0.02))
        done.append(job)
    jobs.shutdown()
    kept = sorted(p.name for p in root.iterdir())
    assert kept == sorted(j.id for j in done[-3:])
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    again = JobManager(root, keep_last=3)
    try:
        assert not again._cache  # nothing read at start
        assert [j.id for j in again.list(limit=1)] == [done[-1].id]
        assert len(again._cache) == 1
    finally:
        again.shutdown()


def test_gateway_timeout_cap_and_duplicate_host(tmp_path):
    from bridge.server.grpc_service import BridgeServicer
    from bridge.server.http_gateway import HttpGateway

    jobs = JobManager(tmp_path / "jobs")
    gateway = HttpGateway("127.0.0.1", 0, servicer=BridgeServicer(jobs), token=TOKEN,
                          max_connections=2, socket_timeout_s=0.5)
    gateway.start()
    port = gateway.port
    try:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
        time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
            assert b" 503 " in third.recv(200)  # over the cap: answered at once
        for s in idle:  # an idle socket is closed after the timeout: recv sees EOF
            assert s.recv(10) == b""
            s.close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(f"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Host: evil.example:{port}\r\n\r\n".encode())
            assert b" 403 " in s.recv(200)
    finally:
        gateway.stop()
        jobs.shutdown()


# ---------------------------------------------------------------- crash-safe staging


def start_serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, dict]:
    config = tmp_path / "config"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve", "--port", "0", "--http-port", "0",
         "--jobs-dir", str(tmp_path / "jobs"), "--config-dir", str(config), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while True:
        endpoint = json.loads((config / "bridge.json").read_text()) \
            if (config / "bridge.json").exists() else {}
        if endpoint.get("pid") == proc.pid:
            return proc, endpoint
        if proc.poll() is not None:
            pytest.fail(f"serve exited ({proc.returncode}): {proc.stdout.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("serve did not start in 60 s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_sigkill_mid_render_then_restart_leaves_no_staging(timeline, tmp_path):
    out = tmp_path / "out"
    proc, _ = start_serve(tmp_path)
    try:
        with BridgeClient.from_config(tmp_path / "config") as client:
            client.wait_ready(30)
            composing = threading.Event()

            def on_event(event):
                if event.get("progress", {}).get("stage") == "compose":
                    composing.set()

            def score_until_killed():
                with pytest.raises(RemoteError):
                    client.score(timeline, out, on_event=on_event)

            worker = threading.Thread(target=score_until_killed, daemon=True)
            worker.start()
            assert composing.wait(60)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            worker.join(10)
        left = staging_in(out)
        assert left, "the kill came after the commit; the test did not test anything"
        assert not (out / "score.wav").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    proc, _ = start_serve(tmp_path)  # the restart sweeps what the dead bridge left
    try:
        assert not staging_in(out)
        with BridgeClient.from_config(tmp_path / "config") as client:
            job = client.list_jobs(limit=1)[0]
            assert job["state"] == "JOB_STATE_FAILED" and "interrupted" in job["error"]["message"]
    finally:
        stop(proc)


def test_sigterm_on_the_cli_leaves_no_staging(tmp_path):
    long_cut = make_timeline(tmp_path / "tl", shot_s=6.0, shots=3)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "-q", "score", str(long_cut),
                             "-o", str(out), "--stems"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not staging_in(out):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "no staging folder appeared"
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert rc == 128 + signal.SIGTERM, proc.stderr.read()
    assert not staging_in(out) and not list(out.iterdir())


# ---------------------------------------------------------------- clean errors


def test_rate_zero_and_nul_bytes_are_invalid_argument(client, bridge, timeline, tmp_path):
    import opentimelineio as otio

    tl = otio.schema.Timeline(name="zero rate")
    track = otio.schema.Track()
    tl.tracks.append(track)
    track.append(otio.schema.Clip(name="c", source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 0), otio.opentime.RationalTime(48, 0))))
    zero = tmp_path / "zero.otio"
    otio.adapters.write_to_file(tl, str(zero))
    with pytest.raises(RemoteError) as err:
        client.analyze(zero)
    assert err.value.code == "INVALID_ARGUMENT" and "zero.otio" in str(err.value)
    out = cli("analyze", str(zero))
    one_line_exit_2(out, "zero.otio", "rate")

    for request in (pb.AnalyzeRequest(path=str(timeline) + "\x00.otio"),
                    pb.AnalyzeRequest(path=str(timeline),
                                      options=pb.ScoreOptions(style="lofi\x00"))):
        with grpc.insecure_channel(bridge.grpc_address) as channel, \
                pytest.raises(grpc.RpcError) as rpc_err:
            list(pb_grpc.BridgeStub(channel).AnalyzeTimeline(request, timeout=10,
                                                             metadata=AUTH))
        assert rpc_err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "NUL" in rpc_err.value.details()
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", bridge.http.port, timeout=10)
    conn.request("POST", "/v1/AnalyzeTimeline", body=json.dumps({"path": "/a\u0000b.otio"}),
                 headers={"Authorization": f"Bearer {TOKEN}",
                          "Host": f"127.0.0.1:{bridge.http.port}"})
    reply = conn.getresponse()
    assert reply.status == 400 and "NUL" in json.loads(reply.read())["message"]
    conn.close()


@pytest.mark.parametrize("fault", ["empty", "short", "folder", "missing"])
def test_client_token_file_faults(bridge, timeline, tmp_path, fault):
    path = tmp_path / "token"
    if fault == "empty":
        path.write_text("")
    elif fault == "short":
        path.write_text("abc\n")
    elif fault == "folder":
        path.mkdir()
    out = cli("score", str(timeline), "-o", str(tmp_path / "out"), "--server",
              bridge.grpc_address, "--token-file", str(path))
    one_line_exit_2(out, str(path))
    with pytest.raises(TokenFileError):
        BridgeClient(bridge.grpc_address, token_file=path)


def test_server_token_faults(tmp_path):
    config = tmp_path / "config"
    config.mkdir(mode=0o700)
    (config / "token").mkdir()
    out = cli("serve", "--port", "0", "--http-port", "0", "--config-dir", str(config),
              "--jobs-dir", str(tmp_path / "jobs"))
    one_line_exit_2(out, "token", "folder")
    (config / "token").rmdir()

    # A symlinked token is exposed wherever it points: refused and replaced, target untouched.
    elsewhere = tmp_path / "shared.txt"
    elsewhere.write_text("s" * 43)
    os.chmod(elsewhere, 0o644)
    (config / "token").symlink_to(elsewhere)
    token = load_or_create_token(config)
    assert token != "s" * 43 and not (config / "token").is_symlink()
    assert elsewhere.read_text() == "s" * 43 and stat.S_IMODE(elsewhere.stat().st_mode) == 0o644
    for bad in ("", "short"):  # empty or short: replaced too
        (config / "token").write_text(bad)
        os.chmod(config / "token", 0o600)
        assert len(load_or_create_token(config)) >= 32


def test_port_in_use_and_public_listen_without_tls(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = cli("serve", "--port", str(port), "--http-port", "0", "--config-dir",
                  str(tmp_path / "c"), "--jobs-dir", str(tmp_path / "j"))
        one_line_exit_2(out, str(port))
    # Checked before anything binds: nothing here listens off this machine.
    for address in ("0.0.0.0", "192.0.2.10", "::", "gpu-box.example"):
        with pytest.raises(StartError, match="TLS"):
            run_server(listen=address, config_dir=tmp_path / "c", jobs_root=tmp_path / "j")
        with pytest.raises(StartError, match="TLS"):
            start_bridge(jobs=None, token=TOKEN, host=address)  # type: ignore[arg-type]
    out = cli("serve", "--listen", "0.0.0.0", "--config-dir", str(tmp_path / "c"))
    one_line_exit_2(out, "--listen 0.0.0.0", "TLS")


def test_a_second_bridge_leaves_the_first_ones_endpoint(tmp_path):
    first, endpoint = start_serve(tmp_path)
    try:
        second = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--port", "0", "--http-port", "0",
             "--jobs-dir", str(tmp_path / "jobs2"), "--config-dir", str(tmp_path / "config")],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            log = ""
            while "another bridge owns" not in log:
                assert time.monotonic() < deadline and second.poll() is None
                log += second.stdout.readline()
        finally:
            stop(second)
        assert json.loads((tmp_path / "config" / "bridge.json").read_text()) == endpoint
    finally:
        stop(first)
    assert not (tmp_path / "config" / "bridge.json").exists()


# ---------------------------------------------------------------- TLS


def test_tls_pinned_client_accepted_unpinned_refused(tmp_path, timeline):
    pair = load_or_create_self_signed(tmp_path / "config", ["127.0.0.1"])
    assert stat.S_IMODE((tmp_path / "config" / "tls-key.pem").stat().st_mode) == 0o600
    assert load_or_create_self_signed(tmp_path / "config").fingerprint == pair.fingerprint
    jobs = JobManager(tmp_path / "jobs")
    running = start_bridge(jobs=jobs, token=TOKEN, tls=pair)
    address = running.grpc_address
    try:
        with BridgeClient(address, token=TOKEN, tls_pin=pair.fingerprint) as pinned:
            pinned.wait_ready(10)
            assert pinned.list_jobs() == []
            assert pinned.analyze(timeline)["duration_s"] == pytest.approx(4.0)
        cert = tmp_path / "config" / "tls-cert.pem"
        with BridgeClient(f"localhost:{running.grpc_port}", token=TOKEN, tls_ca=cert) as ca:
            assert ca.list_backends()["music"]
        with BridgeClient(address, token=TOKEN) as plain:  # no TLS: the handshake fails
            with pytest.raises(RemoteError) as err:
                plain.list_jobs()
            assert err.value.code == "UNAVAILABLE"
        other = "sha256:" + "0" * 64
        with pytest.raises(TlsError, match="not the pinned"):
            BridgeClient(address, token=TOKEN, tls_pin=other)
        with BridgeClient(address, tls_pin=pair.fingerprint, token="x" * 43) as wrong:
            with pytest.raises(RemoteError) as err:
                wrong.list_jobs()
            assert err.value.code == "UNAUTHENTICATED"
    finally:
        running.stop(grace_s=2)


def test_serve_tls_self_signed_prints_the_pin_local_clients_use(tmp_path):
    proc, endpoint = start_serve(tmp_path, "--tls-self-signed")
    try:
        printed = proc.stdout.readline()
        while "fingerprint" not in printed:
            assert printed, "serve ended its output without printing the fingerprint"
            printed = proc.stdout.readline()
        fingerprint = printed.split()[-1]
        assert fingerprint.startswith("sha256:") and endpoint["tls_fingerprint"] == fingerprint
        with BridgeClient.from_config(tmp_path / "config") as client:  # pins from bridge.json
            client.wait_ready(30)
            assert client.list_jobs() == []
    finally:
        stop(proc)
