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
    assert export[1:] == (fake.EXPORT_OTIO, fake.EXPORT_NONE) and export[0].endswith(".otio")
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
    (placed,) = fake.timeline.tracks["audio"][1]["items"]
    assert placed.media_pool_item.path == str(wav)
    assert placed.duration == fixture_cut["frames"]  # endFrame exclusive: every frame, no more
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
    lines: list[str] = []
    second = sr.score(fake, mode="rescore", markers=DENSITY, console=lines.append)
    assert second is not None
    assert second["analysis"]["style"]["name"] == "solo-piano"
    _check_markers(fake, second["analysis"], seed=5)

    deleted = {args[0] for args in fake.recorder.named("DeleteMarkerByCustomData")}
    assert deleted == first_custom
    assert {m["customData"] for m in _ours(fake).values()}.isdisjoint(first_custom)
    # the new result is the next version; the first is disabled, never deleted
    assert fake.recorder.named("SetTrackName")[-1] == ("audio", 3, "Score v2")
    audio = fake.timeline.tracks["audio"]
    assert [(t["name"], t["enabled"]) for t in audio] == [
        ("Audio 1", True), ("Score", False), ("Score v2", True)]
    assert audio[1]["items"][0].media_pool_item.path == first["wav_path"]
    assert audio[2]["items"][0].media_pool_item.path == second["wav_path"]
    assert fake.recorder.named("DeleteTrack") == [] and fake.recorder.named("DeleteClips") == []
    assert Path(first["wav_path"]).is_file()
    # the previous result is found on the Score track and offered to the bridge when it can
    # take it; this bridge cannot yet, and says so
    if sr.supports_previous_result():
        assert any(f"re-scoring from {Path(first['wav_path']).name}" in x for x in lines)
    else:
        assert any("no continuity re-score yet" in x for x in lines), lines
    # same style and seed on the same cut: the same music
    assert _sha(first["wav_path"]) == _sha(second["wav_path"])


def test_reuses_an_empty_score_track(env, fixture_cut):
    fake = _fake(fixture_cut)
    fake.timeline.tracks["audio"].append({"name": "Score", "items": [], "locked": False})
    assert sr.score(fake, seed=1, console=lambda _: None) is not None
    assert fake.recorder.named("AddTrack") == []
    assert fake.recorder.named("AppendToTimeline")[0][0][0]["trackIndex"] == 2


def test_an_editors_own_score_track_is_left_alone(env, fixture_cut):
    from resolve_fakes import FakeMediaPoolItem, FakeTimelineItem

    fake = _fake(fixture_cut)
    temp_music = FakeMediaPoolItem(fake.recorder, "/media/temp-music.wav")
    fake.timeline.tracks["audio"].append({"name": "Score", "enabled": True, "locked": False,
                                          "items": [FakeTimelineItem(fake.recorder, temp_music,
                                                                     START, 0, 48)]})
    assert sr.score(fake, seed=1, console=lambda _: None) is not None
    audio = fake.timeline.tracks["audio"]
    assert [(t["name"], t["enabled"]) for t in audio] == [
        ("Audio 1", True), ("Score", True), ("Score", True)]
    assert fake.recorder.named("SetTrackEnable") == []


def test_markers_only_from_fcp7_xml_on_older_resolve(env, fixture_cut):
    fake = _fake(fixture_cut, otio=False)  # no EXPORT_OTIO before Resolve 18.5
    result = sr.score(fake, mode="markers", markers=DENSITY, console=lambda _: None)
    assert result is not None
    (export,) = fake.recorder.named("Export")
    assert export[1] == fake.EXPORT_FCP_7_XML and export[0].endswith(".xml")
    for call in ("ImportMedia", "AddTrack", "AppendToTimeline"):
        assert fake.recorder.named(call) == []
    _check_markers(fake, result, seed=0)


def test_switched_timeline_gets_nothing_and_the_scored_one_gets_everything(env, fixture_cut):
    """The editor opens another timeline while the job runs: AppendToTimeline would act on
    it, so the plugin makes the scored timeline current again first."""
    fake = _fake(fixture_cut, other_timeline=True)
    lines: list[str] = []

    def console(line: str) -> None:
        lines.append(line)
        if "render" in line:  # mid-job
            fake.switch_to("another cut")

    result = sr.score(fake, seed=6, markers=DENSITY, console=console)
    assert result is not None, lines
    other = fake.project.timelines[1]
    assert fake.project.current is fake.timeline
    assert any("switched back to timeline 'fixture cut'" in line for line in lines)
    assert len(fake.timeline.tracks["audio"]) == 2 and len(other.tracks["audio"]) == 1
    assert other.markers == {}
    _check_markers(fake, result["analysis"], seed=6)


def test_deleted_timeline_stops_with_a_clear_message(env, fixture_cut):
    fake = _fake(fixture_cut, other_timeline=True)
    lines: list[str] = []

    def console(line: str) -> None:
        lines.append(line)
        if "render" in line and fake.timeline in fake.project.timelines:
            fake.project.timelines.remove(fake.timeline)  # the editor deleted it
            fake.switch_to("another cut")

    assert sr.score(fake, seed=6, console=console) is None
    assert lines[-1] == ("Scorebridge: timeline 'fixture cut' is no longer in this project; "
                         "nothing was placed")
    for call in ("ImportMedia", "AppendToTimeline", "AddMarker", "AddTrack"):
        assert fake.recorder.named(call) == []


@pytest.mark.parametrize(("version", "product", "expect"), [
    ((17, 4, 6, 4, ""), "DaVinci Resolve", "DaVinci Resolve 17.4 is too old"),
    ((21, 1, 0, 3, ""), "DaVinci Resolve",
     "DaVinci Resolve 21.1 (free edition: script windows are Studio-only"),
    ((18, 1, 4, 9, ""), "DaVinci Resolve Studio",
     "DaVinci Resolve Studio 18.1 (no OpenTimelineIO export before 18.5"),
])
def test_version_and_edition_are_checked_first(env, fixture_cut, version, product, expect):
    fake = _fake(fixture_cut, version=version, product=product, otio=version >= (18, 5))
    lines: list[str] = []
    result = sr.score(fake, mode="markers", markers=DENSITY, console=lines.append)
    assert lines[0].startswith(f"Scorebridge: {expect}"), lines
    assert (result is None) == (version < (18, 0))
    if result is None:
        assert fake.recorder.edits() == []


def test_frame_rates_with_drop_frame_suffixes():
    from fractions import Fraction

    assert sr.parse_frame_rate("29.97 NDF") == Fraction(30000, 1001)
    assert sr.parse_frame_rate("29.97 DF") == Fraction(30000, 1001)
    assert sr.parse_frame_rate("59.94 DF") == Fraction(60000, 1001)
    assert sr.parse_frame_rate("23.976") == Fraction(24000, 1001)
    assert sr.parse_frame_rate(25) == 25
    with pytest.raises(sr.PluginError, match="unreadable timeline frame rate 'DF'"):
        sr.parse_frame_rate("DF")


def test_host_object_found_the_ways_resolve_hands_it_over(monkeypatch):
    host = object()

    class App:  # Fusion's `app`/`fu`: GetResolve()
        def GetResolve(self):
            return host

    class Bmd:  # `bmd.scriptapp("Resolve")`
        def scriptapp(self, name):
            return host if name == "Resolve" else None

    assert sr.find_resolve({"resolve": host}) is host
    assert sr.find_resolve({"app": App()}) is host
    assert sr.find_resolve({"fu": App()}) is host
    assert sr.find_resolve({"bmd": Bmd()}) is host
    monkeypatch.setitem(sys.modules, "DaVinciResolveScript", None)  # not importable
    with pytest.raises(sr.PluginError, match="no `resolve`, `app` or `bmd` object here"):
        sr.find_resolve({})


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


def _python(version: str) -> str | None:
    """An interpreter of that minor version (pyenv's, where installed), else None."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    found = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    return str(found[-1]) if found else shutil.which(f"python{version}")


def _run_installed(dest: Path, entry: str, fixture_cut: dict, python: str, tmp_path: Path):
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import json, runpy, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\n"
        "from resolve_fakes import FakeResolve\n"
        f"fake = FakeResolve(otio_file=Path({fixture_cut['otio']!r}), "
        f"xml_file=Path({fixture_cut['xml']!r}))\n"
        f"runpy.run_path({str(dest / entry)!r}, "
        "init_globals={'resolve': fake}, run_name='__main__')\n"
        "mods = sys.modules\n"
        "print(json.dumps({'markers': len(fake.timeline.markers),"
        " 'client': getattr(mods.get('bridge.client'), '__file__', ''),"
        " 'heavy': sorted(m for m in ('grpc', 'numpy') if m in mods)}))\n"
    )
    done = subprocess.run([python, "-I", "-S", str(driver)], cwd=tmp_path,
                          env={**os.environ, "SCOREBRIDGE_TRANSPORT": "auto"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("version", sorted({"3.9", f"{sys.version_info[0]}.{sys.version_info[1]}"}))
def test_installed_scripts_run_in_a_bare_python(env, fixture_cut, tmp_path, version):
    """The installed copy needs no site-packages: run the menu entry under `python -I -S`,
    in the oldest Python it supports as well as this one; from Edit and from Utility."""
    from bridge.install_resolve import install_resolve

    python = _python(version)
    if python is None:
        pytest.skip(f"no Python {version} here")
    dest = tmp_path / "Scripts" / "Edit"
    install_resolve(dest)
    for folder in (dest, dest.parent / "Utility"):
        out, report = _run_installed(folder, "Export affect markers.py", fixture_cut, python,
                                     tmp_path)
        assert report["markers"] >= 1, out
        assert report["client"].startswith(str(dest / ".scorebridge"))
        assert report["heavy"] == []
        assert "via HTTP" in out


def test_too_old_python_gets_one_clear_line(env, fixture_cut, tmp_path):
    from bridge.install_resolve import install_resolve

    python = _python("3.8")
    if python is None:
        pytest.skip("no Python 3.8 here")
    install_resolve(tmp_path / "Edit")
    out, report = _run_installed(tmp_path / "Edit", "Score timeline.py", fixture_cut, python,
                                 tmp_path)
    assert out.startswith("Scorebridge: needs Python 3.9 or later; this Resolve uses 3.8.")
    assert report["markers"] == 0 and report["client"] == ""


def test_lua_entry_starts_the_python_entry_through_fusion(env, fixture_cut, tmp_path):
    """The Lua entry in LuaJIT (what Fusion runs): with Fusion's RunScript it starts the Python
    entry beside it, which finds Resolve through `fu.GetResolve()`; without it, it prints
    the console line that does the same."""
    pytest.importorskip("lupa.luajit21")
    from bridge.install_resolve import install_resolve

    dest = tmp_path / "Scripts" / "Edit"
    install_resolve(dest)
    lua_entry = dest.parent / "Utility" / "Export affect markers (Lua).lua"
    driver = tmp_path / "lua_driver.py"
    driver.write_text(
        "import json, runpy, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\n"
        "from lupa.luajit21 import LuaRuntime\n"
        "from resolve_fakes import FakeResolve\n"
        f"fake = FakeResolve(otio_file=Path({fixture_cut['otio']!r}), "
        f"xml_file=Path({fixture_cut['xml']!r}))\n"
        "started = []\n"
        "class Fusion:  # Fusion's app object as a script run by RunScript sees it\n"
        "    def GetResolve(self):\n"
        "        return fake\n"
        "    def RunScript(self, path):\n"
        "        started.append(path)\n"
        "        runpy.run_path(path, init_globals={'fu': self}, run_name='__main__')\n"
        "        return True\n"
        "with_fusion = sys.argv[1] == 'fusion'\n"
        "lua = LuaRuntime()\n"
        "if with_fusion:\n"
        "    lua.globals().fu = Fusion()\n"
        f"lua.globals().dofile({str(lua_entry)!r})\n"
        "print(json.dumps({'started': started, 'markers': len(fake.timeline.markers)}))\n"
    )
    runs = {}
    for mode in ("fusion", "none"):
        done = subprocess.run([sys.executable, str(driver), mode], cwd=tmp_path,
                              env={**os.environ, "SCOREBRIDGE_TRANSPORT": "http"},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        runs[mode] = (done.stdout, json.loads(done.stdout.strip().splitlines()[-1]))
    out, report = runs["fusion"]
    python_entry = str(dest.parent / "Utility" / "Export affect markers.py")
    assert report["started"] == [python_entry]
    assert report["markers"] >= 1, out
    out, report = runs["none"]
    assert report == {"started": [], "markers": 0}
    assert f"exec(open(r'{python_entry}').read())" in out


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
