"""The HTTP/JSON gateway: same service over POST + Server-Sent Events, locked to the plugin."""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from bridge_fixtures import STAGES, check_event_order, make_timeline

from bridge.client import HttpBridgeClient, RemoteError
from bridge.config import ScoreOptions
from bridge.jobs import JobManager
from bridge.server import auth
from bridge.server.app import start_bridge

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> Path:
    return make_timeline(tmp_path_factory.mktemp("http_tl"), shot_s=2.0, shots=2)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    token = auth.load_or_create_token(tmp_path_factory.mktemp("config"))
    jobs = JobManager(tmp_path_factory.mktemp("http_jobs"), workers=1, max_queue=2)
    running = start_bridge(jobs=jobs, token=token)
    running.token = token
    yield running
    running.stop(grace_s=5)


@pytest.fixture
def client(bridge):
    c = HttpBridgeClient(bridge.http_url, bridge.token)
    c.wait_ready(10)
    return c


RESPONSES: list[http.client.HTTPResponse] = []  # every raw response, checked for CORS


def raw(bridge, method: str, path: str, *, body: dict | bytes | None = None,
        headers: dict | None = None, token: str | None = "default"):
    """One request with full control of the headers; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", bridge.http.port, timeout=30)
    sent = {"Host": f"127.0.0.1:{bridge.http.port}"}
    if token == "default":
        token = bridge.token
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    conn.request(method, path, body=data, headers=sent)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    RESPONSES.append(resp)
    return resp.status, resp.headers, payload


def test_score_over_sse(bridge, client, timeline, tmp_path):
    events: list[dict] = []
    out = tmp_path / "http_out"
    result = client.score(timeline, out, ScoreOptions(seed=1), on_event=events.append)
    check_event_order(events)
    assert {e["progress"]["stage"] for e in events[:-1]} >= {"compose", "render", "export"}
    assert Path(result["wav_path"]).parent == out.resolve()
    assert Path(result["wav_path"]).stat().st_size > 1000
    assert result["result_otio_json"] == Path(result["otio_path"]).read_text()
    assert client.get_job(result["job_id"])["state"] == "JOB_STATE_SUCCEEDED"


def test_raw_sse_format(bridge, timeline):
    status, headers, payload = raw(bridge, "POST", "/v1/AnalyzeTimeline",
                                   body={"path": str(timeline), "options": {"seed": 2}})
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    blocks = payload.decode().split("\n\n")
    assert blocks[-1] == ""  # ends with a complete event
    events = []
    for block in blocks[:-1]:
        assert block.startswith("data: ") and "\n" not in block
        events.append(json.loads(block[len("data: "):]))
    check_event_order(events)
    assert events[0]["progress"]["stage"] == STAGES[0]
    assert events[-1]["analysis"]["duration_s"] == pytest.approx(4.0)


def test_unary_methods(bridge, client, timeline):
    backends = client.list_backends()
    assert any(b["name"] == "heuristic" for b in backends["affect"])
    done = client.analyze(timeline.read_text())  # OTIO JSON text, as the panel sends it
    listed = client.list_jobs()
    assert done["job_id"] in [j["job_id"] for j in listed]
    with pytest.raises(RemoteError) as err:
        client.get_job("no-such-job")
    assert err.value.code == "NOT_FOUND"


def test_token_required(bridge):
    for token in (None, "", "wrong", bridge.token[:-1] + "x", bridge.token + "x"):
        status, _, payload = raw(bridge, "POST", "/v1/ListBackends", body={}, token=token)
        assert status == 401, token
        assert json.loads(payload)["code"] == "UNAUTHENTICATED"
    status, _, _ = raw(bridge, "POST", "/v1/ListBackends", body={},
                       headers={"Authorization": bridge.token})  # no "Bearer "
    assert status == 401
    status, _, _ = raw(bridge, "POST", "/v1/ListBackends", body={})
    assert status == 200


def test_foreign_host_forbidden(bridge):
    port = bridge.http.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}",
                 "127.0.0.1", f"192.168.1.5:{port}"):
        status, _, _ = raw(bridge, "POST", "/v1/ListBackends", body={}, headers={"Host": host})
        assert status == 403, host
        status, _, _ = raw(bridge, "GET", "/v1/health", headers={"Host": host})
        assert status == 403, host
    status, _, _ = raw(bridge, "POST", "/v1/ListBackends", body={},
                       headers={"Host": f"localhost:{port}"})
    assert status == 200


def test_preflight_refused_and_no_cors_anywhere(bridge):
    status, _, _ = raw(bridge, "OPTIONS", "/v1/ScoreTimeline", token=None, headers={
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert status == 405
    for method in ("PUT", "DELETE"):
        assert raw(bridge, method, "/v1/ListBackends", body=b"{}")[0] == 405
    # A page's simple POST with an Origin still needs the token and gets no CORS grant.
    status, _, _ = raw(bridge, "POST", "/v1/ListBackends", body={}, token=None,
                       headers={"Origin": "https://evil.example"})
    assert status == 401
    assert len(RESPONSES) > 10  # the earlier tests' responses are in the list too
    for resp in RESPONSES:
        leaked = [h for h in resp.headers if h.lower().startswith("access-control-")]
        assert not leaked, (resp.status, leaked)


def test_health_without_token(bridge):
    status, _, payload = raw(bridge, "GET", "/v1/health", token=None)
    assert status == 200 and json.loads(payload) == {"status": "SERVING"}
    assert raw(bridge, "GET", "/v1/jobs", token=None)[0] == 404


def test_bad_requests(bridge, client, timeline, tmp_path):
    status, _, payload = raw(bridge, "POST", "/v1/AnalyzeTimeline", body=b"{not json")
    assert status == 400 and json.loads(payload)["code"] == "INVALID_ARGUMENT"
    status, _, payload = raw(bridge, "POST", "/v1/AnalyzeTimeline",
                             body={"path": str(timeline), "colour": "red"})
    assert status == 400 and "colour" in json.loads(payload)["message"]
    status, _, _ = raw(bridge, "POST", "/v1/NoSuchMethod", body={})
    assert status == 404

    with pytest.raises(RemoteError) as err:
        client.analyze(timeline, ScoreOptions(seed=-1))
    assert err.value.code == "INVALID_ARGUMENT" and "seed" in str(err.value)
    with pytest.raises(RemoteError) as err:
        client.analyze(tmp_path / "absent.otio")
    assert err.value.code == "INVALID_ARGUMENT" and "absent.otio" in str(err.value)
    with pytest.raises(RemoteError) as err:
        client.analyze('{"OTIO_SCHEMA": "Timeline.1", "tracks": ')
    assert err.value.code == "INVALID_ARGUMENT" and "otio_json" in str(err.value)
    # An unknown style is refused before a job is queued: no job id.
    with pytest.raises(RemoteError) as err:
        client.analyze(timeline, ScoreOptions(style="polka-from-mars"))
    assert err.value.code == "INVALID_ARGUMENT" and not err.value.job_id
    # A job that fails while running reports its error as the stream's last event.
    garbage = tmp_path / "garbage.otio"
    garbage.write_bytes(b"\x00\x01 not a timeline")
    with pytest.raises(RemoteError) as err:
        client.analyze(garbage)
    assert err.value.code == "INVALID_ARGUMENT" and err.value.job_id
    assert client.get_job(err.value.job_id)["state"] == "JOB_STATE_FAILED"
    assert raw(bridge, "GET", "/v1/health", token=None)[0] == 200


def test_token_file_permissions(tmp_path, monkeypatch):
    folder = tmp_path / "cfg" / "scorebridge"
    monkeypatch.setenv("SCOREBRIDGE_CONFIG_DIR", str(folder))
    token = auth.load_or_create_token()
    path = folder / auth.TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert len(token) >= 40 and path.read_text().strip() == token
    assert auth.load_or_create_token() == token  # stable across starts
    os.chmod(path, 0o644)  # others could read it: it is exposed, so a new one replaces it
    replaced = auth.load_or_create_token()
    assert replaced != token and path.read_text().strip() == replaced
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_config_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("SCOREBRIDGE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert auth.config_dir() == tmp_path / "xdg" / "scorebridge"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert auth.config_dir() == tmp_path / "home" / ".config" / "scorebridge"


def test_http_client_needs_neither_grpc_nor_protobuf(bridge, timeline):
    # Resolve's Python may lack grpcio and protobuf: block both and use the HTTP client.
    script = f"""
import sys
sys.modules["grpc"] = None
sys.modules["google.protobuf"] = None
from bridge.client import HttpBridgeClient
c = HttpBridgeClient({bridge.http_url!r}, {bridge.token!r})
c.wait_ready(10)
print(c.analyze({str(timeline)!r})["duration_s"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(4.0)


def test_a_project_is_chosen_from_an_fcpxml_library(bridge, tmp_path):
    from bridge.media.synth import SceneSpec, encode_scenes

    media = tmp_path / "plate.mp4"
    encode_scenes(media, [SceneSpec(3.0, background=(200, 60, 40), shapes=2, speed_px_s=50)],
                  width=96, height=64, audio=False)

    def project(name: str, seconds: int) -> str:
        return (f'<project name="{name}"><sequence format="r1" duration="{seconds}s"><spine>'
                f'<asset-clip ref="r2" offset="0s" duration="{seconds}s" name="{name} clip"/>'
                '</spine></sequence></project>')

    library = tmp_path / "Day 1.fcpxml"
    library.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n<fcpxml version="1.9">'
        '<resources><format id="r1" frameDuration="1/25s" width="96" height="64"/>'
        '<asset id="r2" name="plate" start="0s" duration="3s" hasVideo="1" format="r1">'
        f'<media-rep kind="original-media" src="{media.as_uri()}"/></asset></resources>'
        f'<library><event name="Day 1">{project("Rough", 3)}{project("Fine", 2)}</event>'
        '</library></fcpxml>'
    )

    def last_event(options: dict) -> dict:
        status, _, payload = raw(bridge, "POST", "/v1/AnalyzeTimeline",
                                 body={"path": str(library), "options": options})
        assert status == 200
        blocks = [b for b in payload.decode().split("\n\n") if b]
        return json.loads(blocks[-1][len("data: "):])

    chosen = last_event({"timelineName": "Fine"})["analysis"]
    assert chosen["timeline_name"] == "Fine" and chosen["duration_s"] == pytest.approx(2.0)
    error = last_event({})["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert "'Rough', 'Fine'" in error["message"] and "--timeline NAME" in error["message"]
