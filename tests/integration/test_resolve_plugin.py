"""The Resolve scripts against a real bridge (started here on free loopback ports), the real
HTTP gateway and a real fixture cut; only Resolve itself is a fake (resolve_fakes.py).

Also: the same cut scored through the Premiere panel (node, fake premierepro host) gives the
same audio and the same markers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins_resolve"))
sys.path.insert(0, str(REPO / "plugins_premiere_panel" / "test_support"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fixture_timeline  # noqa: E402
import scorebridge_resolve as sr  # noqa: E402
from resolve_fakes import FakeResolve  # noqa: E402

RESOLVE_PALETTE = {"Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia",
                   "Rose", "Lavender", "Sky", "Mint", "Lemon", "Sand", "Cocoa", "Cream"}
START = 86400  # the fixture starts at 01:00:00:00 at 24 fps
EDITOR_FRAME = 30  # the editor's own marker, which no run may touch
DENSITY = "every:2"  # three markers on the 6 s fixture


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fixture_cut(tmp_path_factory) -> dict:
    return fixture_timeline.build(tmp_path_factory.mktemp("cut"))


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    """`python -m bridge serve` with its own config folder (token) and jobs folder."""
    tmp = tmp_path_factory.mktemp("bridge")
    grpc_port, http_port = _free_port(), _free_port()
    env = {**os.environ, "SCOREBRIDGE_CONFIG_DIR": str(tmp / "config")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve", "--port", str(grpc_port),
         "--http-port", str(http_port), "--jobs-dir", str(tmp / "jobs")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            with urllib.request.urlopen(url + "/v1/health", timeout=1) as reply:
                if json.load(reply)["status"] == "SERVING":
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "bridge did not start"
        time.sleep(0.2)
    yield {"url": url, "grpc": f"127.0.0.1:{grpc_port}", "config": tmp / "config",
           "token": (tmp / "config" / "token").read_text().strip()}
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def env(bridge, tmp_path, monkeypatch):
    """The environment a Resolve script would see, pointing at the test's bridge."""
    monkeypatch.setenv("SCOREBRIDGE_CONFIG_DIR", str(bridge["config"]))
    monkeypatch.setenv("SCOREBRIDGE_TRANSPORT", "http")  # what Resolve's Python uses
    monkeypatch.setenv("SCOREBRIDGE_HTTP_URL", bridge["url"])
    monkeypatch.setenv("SCOREBRIDGE_GRPC_ADDR", bridge["grpc"])
    monkeypatch.setenv("SCOREBRIDGE_OUTPUT_DIR", str(tmp_path / "scores"))
    return bridge


def _fake(cut: dict, **kwargs) -> FakeResolve:
    fake = FakeResolve(otio_file=Path(cut["otio"]), xml_file=Path(cut["xml"]),
                       start_frame=START, **kwargs)
    fake.timeline.markers[EDITOR_FRAME] = {"color": "Green", "duration": 1, "note": "keep me",
                                           "name": "editor's note", "customData": ""}
    return fake


def _ours(fake: FakeResolve) -> dict[int, dict]:
    return {f: m for f, m in fake.timeline.markers.items()
            if m["customData"].startswith(sr.MARKER_TAG)}


def _check_markers(fake: FakeResolve, analysis: dict, *, seed: int) -> None:
    """Our markers are exactly the bridge's, at offsets from the start, colours mapped."""
    expected = {round(m["start_s"] * 24): m for m in analysis["markers"]}
    assert len(expected) >= 2
    ours = _ours(fake)
    assert set(ours) == set(expected)
    for frame, marker in ours.items():
        want = expected[frame]
        assert marker["color"] in RESOLVE_PALETTE
        assert marker["color"] == sr.RESOLVE_COLORS[want["color"]]
        assert marker["name"] == want["name"]
        assert marker["duration"] == max(1, round(want["duration_s"] * 24))
        data = json.loads(marker["customData"][len(sr.MARKER_TAG):])
        assert data["valence"] == pytest.approx(want["valence"], abs=1e-6)
        assert data["arousal"] == pytest.approx(want["arousal"], abs=1e-6)
        assert data["seed"] == seed
        assert data["style"] == analysis["style"]["name"]
    editor = fake.timeline.markers[EDITOR_FRAME]
    assert editor["name"] == "editor's note" and editor["customData"] == ""


def test_score_timeline_imports_score_track_and_markers(env, fixture_cut):
    fake = _fake(fixture_cut)
    lines: list[str] = []
    result = sr.score(fake, mode="score", seed=3, markers=DENSITY, console=lines.append)
    assert result is not None, "\n".join(lines)
    rec = fake.recorder

    (export,) = rec.named("Export")
    assert export[1:] == ("EXPORT_OTIO", "EXPORT_NONE") and export[0].endswith(".otio")
    assert rec.named("AddSubFolder")[0][1] == "Scorebridge"
    wav = Path(result["wav_path"])
    assert rec.named("ImportMedia") == [([str(wav)],)] and wav.is_file()
    assert rec.named("AddTrack") == [("audio", "stereo")]
    assert rec.named("SetTrackName") == [("audio", 2, "Score")]
    ((clip_infos,),) = rec.named("AppendToTimeline")
    (info,) = clip_infos
    assert info["recordFrame"] == START
    assert (info["startFrame"], info["endFrame"]) == (0, fixture_cut["frames"])
    assert (info["mediaType"], info["trackIndex"]) == (2, 2)
    assert fake.timeline.tracks["audio"][1]["name"] == "Score"
    assert fake.timeline.tracks["audio"][1]["items"][0].media_pool_item.path == str(wav)
    _check_markers(fake, result["analysis"], seed=3)
    assert any("placed on audio track 2" in line for line in lines)
    assert any("  render" in line for line in lines), "progress goes to the console"


def test_rescore_replaces_only_its_own_markers_and_keeps_style_and_seed(env, fixture_cut):
    fake = _fake(fixture_cut)
    first = sr.score(fake, mode="score", seed=5, style="solo-piano", markers=DENSITY,
                     console=lambda _: None)
    assert first is not None
    first_custom = {m["customData"] for m in _ours(fake).values()}
    # the Score track is not empty now: a re-score lays its music on a fresh one
    second = sr.score(fake, mode="rescore", markers=DENSITY, console=lambda _: None)
    assert second is not None
    assert second["analysis"]["style"]["name"] == "solo-piano"
    _check_markers(fake, second["analysis"], seed=5)

    deleted = {args[0] for args in fake.recorder.named("DeleteMarkerByCustomData")}
    assert deleted == first_custom
    assert {m["customData"] for m in _ours(fake).values()}.isdisjoint(first_custom)
    assert fake.recorder.named("SetTrackName")[-1] == ("audio", 3, "Score")
    # same style and seed on the same cut: the same music
    assert _sha(first["wav_path"]) == _sha(second["wav_path"])


def test_reuses_an_empty_score_track(env, fixture_cut):
    fake = _fake(fixture_cut)
    fake.timeline.tracks["audio"].append({"name": "Score", "items": [], "locked": False})
    assert sr.score(fake, seed=1, console=lambda _: None) is not None
    assert fake.recorder.named("AddTrack") == []
    assert fake.recorder.named("AppendToTimeline")[0][0][0]["trackIndex"] == 2


def test_markers_only_from_fcp7_xml_on_older_resolve(env, fixture_cut):
    fake = _fake(fixture_cut, otio=False)  # no EXPORT_OTIO before Resolve 18.5
    result = sr.score(fake, mode="markers", markers=DENSITY, console=lambda _: None)
    assert result is not None
    (export,) = fake.recorder.named("Export")
    assert export[1] == "EXPORT_FCP_7_XML" and export[0].endswith(".xml")
    for call in ("ImportMedia", "AddTrack", "AppendToTimeline"):
        assert fake.recorder.named(call) == []
    _check_markers(fake, result, seed=0)


def test_bridge_not_running_changes_nothing(env, fixture_cut, monkeypatch):
    monkeypatch.setenv("SCOREBRIDGE_HTTP_URL", f"http://127.0.0.1:{_free_port()}")
    fake = _fake(fixture_cut)
    lines: list[str] = []
    assert sr.score(fake, console=lines.append) is None
    assert any("bridge is not running" in line and "Nothing was changed" in line
               for line in lines), lines
    assert fake.recorder.edits() == []


def test_cancel_file_cancels_the_job_and_changes_nothing(env, fixture_cut, tmp_path):
    cancel = tmp_path / "CANCEL"
    cancel.touch()
    fake = _fake(fixture_cut)
    lines: list[str] = []
    assert sr.score(fake, seed=2, console=lines.append, cancel_file=cancel) is None
    assert any(line.startswith("Scorebridge: cancelled") for line in lines), lines
    assert [c for c in fake.recorder.edits() if c[1] != "Export"] == []
    jobs = _post(env, "ListJobs", {"limit": 1})["jobs"]
    assert jobs[0]["state"] == "JOB_STATE_CANCELLED"


def test_failed_append_undoes_the_import(env, fixture_cut):
    fake = _fake(fixture_cut)
    fake.timeline.lock_new_audio_tracks = True
    lines: list[str] = []
    assert sr.score(fake, seed=4, console=lines.append) is None
    assert any("could not place score.wav" in line for line in lines), lines
    assert fake.recorder.named("DeleteTrack") == [("audio", 2)]
    assert len(fake.recorder.named("DeleteClips")) == 1
    assert len(fake.timeline.tracks["audio"]) == 1
    assert _ours(fake) == {}  # no markers for a score that is not there


def test_grpc_transport_when_grpcio_imports(env, fixture_cut, monkeypatch):
    monkeypatch.setenv("SCOREBRIDGE_TRANSPORT", "auto")
    monkeypatch.setenv("SCOREBRIDGE_HTTP_URL", f"http://127.0.0.1:{_free_port()}")  # unused
    fake = _fake(fixture_cut)
    lines: list[str] = []
    result = sr.score(fake, mode="markers", markers=DENSITY, console=lines.append)
    assert result is not None, lines
    assert any("via gRPC" in line for line in lines)
    _check_markers(fake, result, seed=0)


def test_installed_scripts_run_in_a_bare_python(env, fixture_cut, tmp_path):
    """The installed copy needs no site-packages: run the menu entry under `python -I -S`."""
    from bridge.install_resolve import install_resolve

    dest = tmp_path / "Edit"
    install_resolve(dest)
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import json, runpy, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\n"
        "from resolve_fakes import FakeResolve\n"
        f"fake = FakeResolve(otio_file=Path({fixture_cut['otio']!r}), "
        f"xml_file=Path({fixture_cut['xml']!r}))\n"
        f"runpy.run_path({str(dest / 'Export affect markers.py')!r}, "
        "init_globals={'resolve': fake}, run_name='__main__')\n"
        "import scorebridge_resolve, bridge.client\n"
        "assert 'grpc' not in sys.modules and 'numpy' not in sys.modules\n"
        "print(json.dumps({'markers': len(fake.timeline.markers),"
        " 'client': bridge.client.__file__}))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", str(driver)], cwd=tmp_path,
                          env={**os.environ, "SCOREBRIDGE_TRANSPORT": "auto"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["markers"] >= 1
    assert report["client"].startswith(str(dest / ".scorebridge"))
    assert "via HTTP" in done.stdout


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed for the panel")
def test_same_result_in_resolve_and_premiere(env, fixture_cut, tmp_path):
    fake = _fake(fixture_cut)
    resolve_result = sr.score(fake, seed=11, style="synthwave", markers=DENSITY,
                              console=lambda _: None)
    assert resolve_result is not None
    args = {"baseUrl": env["url"], "token": env["token"], "otio": fixture_cut["otio"],
            "xml": fixture_cut["xml"], "temp": str(tmp_path), "seed": 11, "style": "synthwave",
            "markers": DENSITY}
    done = subprocess.run(
        ["node", str(REPO / "plugins_premiere_panel" / "test_support" / "score_once.js"),
         json.dumps(args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    premiere = json.loads(done.stdout)

    assert _sha(premiere["wav_path"]) == _sha(resolve_result["wav_path"])
    assert premiere["wav_path"] != resolve_result["wav_path"]  # two jobs, one result

    def payload(text: str) -> tuple:
        """The values a marker carries, as comparable data (JS writes 0 where Python 0.0)."""
        data = json.loads(text[text.index(sr.MARKER_TAG) + len(sr.MARKER_TAG):])
        data.pop("job_id")
        return tuple(sorted(data.items()))

    from_resolve = sorted(
        (frame / 24, m["name"], m["color"], payload(m["customData"]))
        for frame, m in _ours(fake).items())
    colors = {"Red": 1, "Pink": 1, "Sand": 3, "Yellow": 4, "Green": 0, "Cyan": 7, "Blue": 6,
              "Purple": 2, "Fuchsia": 2, "Cocoa": 5, "Cream": 5}
    from_premiere = sorted(
        (m["start_s"], m["name"], m["colorIndex"], payload(m["comments"]))
        for m in premiere["markers"] if sr.MARKER_TAG in m["comments"])
    assert len(from_resolve) == len(from_premiere) >= 1
    for r, p in zip(from_resolve, from_premiere):
        assert r[0] == pytest.approx(p[0], abs=1 / 24)
        assert (r[1], r[3]) == (p[1], p[3])
        assert colors[r[2]] == p[2]


def _sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _post(bridge: dict, method: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{bridge['url']}/v1/{method}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {bridge['token']}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)
