"""Install the built wheel into a fresh virtual environment and use it as a user would.

The wheel is built from a copy of the source (so the checkout gets no build/ folder) and
installed with pip into a new venv; nothing of the source tree is on that venv's sys.path.
Third-party dependencies are not downloaded again: a .pth file in the new venv points at
the running interpreter's site-packages (found from sysconfig, not hard-coded), which is
where `make test` installed them. That folder's own .pth files (the editable install of the
checkout among them) are not processed through it, so `bridge` comes from the wheel only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
import soundfile

import bridge
from bridge.render import soundfont_available
from bridge.timeline import read_edit
from bridge.types import samples_for

REPO = Path(__file__).resolve().parents[2]
BUILD_INPUTS = ["bridge", "plugins_resolve", "plugins_premiere_panel", "pyproject.toml",
                "setup.py", "MANIFEST.in", "README.md"]

pytestmark = pytest.mark.skipif(soundfont_available() != "",
                                reason=f"FluidSynth/SoundFont missing: {soundfont_available()}")


def run(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=300, **kwargs)


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{done.args}\n{done.stdout}\n{done.stderr}"
    return done


class FreshInstall:
    def __init__(self, root: Path, venv: Path, wheel: Path) -> None:
        self.root, self.venv, self.wheel = root, venv, wheel
        self.bin = venv / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / ("python.exe" if os.name == "nt" else "python")
        keep = {k: v for k, v in os.environ.items()
                if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
                and not k.startswith("SCOREBRIDGE_")}
        self.env = {**keep, "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                    # the user's folders, private to this test
                    "XDG_CONFIG_HOME": str(root / "xdg/config"),
                    "XDG_CACHE_HOME": str(root / "xdg/cache"),
                    "XDG_DATA_HOME": str(root / "xdg/data"),
                    "MPLCONFIGDIR": str(root / "mpl")}

    def scorebridge(self, *args, env: dict | None = None) -> subprocess.CompletedProcess:
        exe = self.bin / ("scorebridge.exe" if os.name == "nt" else "scorebridge")
        return run([exe, *args], cwd=self.root, env={**self.env, **(env or {})})

    def python_c(self, code: str, *args) -> subprocess.CompletedProcess:
        return run([self.python, "-c", code, *args], cwd=self.root, env=self.env)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> FreshInstall:
    root = tmp_path_factory.mktemp("fresh")
    source = root / "source"
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns(
                "__pycache__", "node_modules", "_plugins", "*.egg-info"))
        else:
            shutil.copy2(path, source / name)
    dist = root / "dist"
    ok(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "--no-index", "-q", "-w", dist, source], cwd=root))
    (wheel,) = dist.glob("scorebridge-*.whl")

    venv = root / "venv"
    ok(run([sys.executable, "-m", "venv", "--without-pip", venv]))
    install = FreshInstall(root, venv, wheel)
    ok(run([sys.executable, "-m", "pip", "--python", install.python, "install", "--no-deps",
            "--no-index", "-q", wheel], cwd=root))
    venv_site = Path(ok(install.python_c(
        "import sysconfig; print(sysconfig.get_paths()['purelib'])")).stdout.strip())
    ours = sysconfig.get_paths()
    deps = dict.fromkeys([ours["purelib"], ours["platlib"]])
    (venv_site / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in deps))
    return install


def test_the_wheel_carries_the_plugins_and_not_the_tests(fresh):
    with zipfile.ZipFile(fresh.wheel) as wheel:
        names = set(wheel.namelist())
    assert "bridge/_plugins/resolve/scorebridge_resolve.py" in names
    assert "bridge/_plugins/resolve/entry_script.py.in" in names
    assert "bridge/_plugins/premiere/manifest.json" in names
    assert "bridge/_plugins/premiere/src/main.js" in names
    assert "bridge/platform_paths.py" in names
    assert not any("/test/" in n or "test_support" in n or n.startswith("tests/") for n in names)


def test_bridge_comes_from_the_wheel_alone(fresh):
    done = ok(fresh.python_c(
        "import bridge, importlib.metadata, json, sys\n"
        "print(json.dumps({'file': bridge.__file__, 'path': sys.path,\n"
        "                  'version': importlib.metadata.version('scorebridge')}))"))
    seen = json.loads(done.stdout)
    assert Path(seen["file"]).is_relative_to(fresh.venv)
    # nothing of the source tree is on the path: only the dependencies' folder, which sits
    # inside the checkout when `make test` made its .venv there
    deps = {Path(p).resolve() for p in (sysconfig.get_paths()["purelib"],
                                        sysconfig.get_paths()["platlib"])}
    assert not any(Path(p).resolve().is_relative_to(REPO) and Path(p).resolve() not in deps
                   for p in seen["path"] if p)
    assert seen["version"] == bridge.__version__
    version = ok(fresh.scorebridge("--version")).stdout.strip()
    assert version == f"scorebridge {bridge.__version__}"


def test_doctor_from_the_fresh_install(fresh):
    done = fresh.scorebridge("doctor")
    print(done.stdout)  # the report shows it with -s
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("✔ FluidSynth: ") for line in lines)
    assert any(line.startswith("✔ SoundFont: ") for line in lines)
    assert any(line.startswith(f"✔ Scorebridge: {bridge.__version__} from {fresh.venv}")
               for line in lines)
    assert lines[-1] == "The default engine can score here."

    gone = fresh.root / "gone"
    for variable, title, missing in (("SCOREBRIDGE_FLUIDSYNTH", "FluidSynth", "libfluidsynth.so"),
                                     ("SCOREBRIDGE_SOUNDFONT", "SoundFont", "GM.sf2")):
        done = fresh.scorebridge("doctor", env={variable: str(gone / missing)})
        assert done.returncode == 1, done.stdout + done.stderr
        (problem,) = [line for line in done.stdout.splitlines()
                      if line.startswith(f"✖ {title}: ")]
        assert variable in problem and problem.endswith("(needed to score)")
        fix = done.stdout.splitlines()[done.stdout.splitlines().index(problem) + 1]
        assert fix.startswith("    fix: ")
        assert "Traceback" not in done.stderr


def test_install_resolve_and_premiere_from_the_fresh_install(fresh):
    resolve = fresh.root / "Resolve" / "Edit"
    ok(fresh.scorebridge("install-resolve", "--dest", resolve))
    assert (resolve / "Score timeline.py").is_file()
    library = resolve / ".scorebridge"
    assert (library / "scorebridge_resolve.py").read_bytes() == (
        REPO / "plugins_resolve" / "scorebridge_resolve.py").read_bytes()
    assert (library / "bridge" / "platform_paths.py").is_file()
    # the copy runs in a bare interpreter (as in Resolve's Python) and finds the token
    # where the bridge of this installation would write it
    done = ok(run([sys.executable, "-I", "-S", "-c",
                   f"import sys; sys.path.insert(0, {str(library)!r})\n"
                   "import scorebridge_resolve; print(scorebridge_resolve.config_dir())"],
                  cwd=fresh.root, env=fresh.env))
    assert done.stdout.strip() == str(fresh.root / "xdg/config/scorebridge")

    panel, ccx = fresh.root / "Premiere" / "panel", fresh.root / "Premiere" / "scorebridge.ccx"
    done = ok(fresh.scorebridge("install-premiere", "--dest", panel, "--ccx", ccx))
    assert str(panel / "manifest.json") in done.stdout
    assert (panel / "manifest.json").read_bytes() == (
        REPO / "plugins_premiere_panel" / "manifest.json").read_bytes()
    assert not (panel / "test").exists()
    with zipfile.ZipFile(ccx) as package:
        assert "manifest.json" in package.namelist()


def test_scores_the_demo_timeline_from_the_fresh_install(fresh):
    demo = fresh.root / "demo"
    done = ok(fresh.python_c(
        "import sys; from bridge.demo import make_demo_timeline\n"
        "print(make_demo_timeline(sys.argv[1]))", demo))
    timeline = Path(done.stdout.strip())
    out = demo / "score"
    done = ok(fresh.scorebridge("-q", "score", timeline, "-o", out))
    assert f"wrote {out / 'score.wav'}" in done.stdout
    info = soundfile.info(out / "score.wav")
    edit = read_edit(timeline)
    assert info.samplerate == 48_000
    assert info.frames == samples_for(edit.duration_s, info.samplerate)
    assert (out / "scored.otio").is_file() and (out / "score.mid").is_file()


REALWORLD = REPO.parent / "shared" / "realworld" / "timelines"


@pytest.mark.skipif(not REALWORLD.is_dir(), reason=f"no real-world timelines at {REALWORLD}")
def test_reads_third_party_formats_from_the_fresh_install(fresh):
    """The FCP7 XML, FCPXML and EDL readers are OTIO adapter plugins found through the
    installed environment's entry points, so a wheel install must find them too."""
    for name, shots in (("fcp7__premiere_example.xml", 4), ("fcpx__fcpx_project.fcpxml", 12),
                        ("cmx__premiere_example.edl", 2), ("otio__transition.otio", 4)):
        done = ok(fresh.scorebridge("-q", "analyze", "--no-detect", REALWORLD / name))
        summary = done.stdout.splitlines()[0]
        assert f", {shots} shots, " in summary, summary


def test_serve_from_the_fresh_install_and_doctor_sees_it(fresh):
    config = fresh.root / "xdg/config/scorebridge"  # the Linux rule under XDG_CONFIG_HOME
    exe = fresh.bin / ("scorebridge.exe" if os.name == "nt" else "scorebridge")
    server = subprocess.Popen([str(exe), "serve", "--port", "0", "--http-port", "0"],
                              cwd=fresh.root, env=fresh.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (config / "bridge.json").exists():
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "serve wrote no bridge.json within 60 s"
            time.sleep(0.1)
        endpoint = json.loads((config / "bridge.json").read_text())
        done = ok(fresh.scorebridge("doctor"))
        (bridge_line,) = [line for line in done.stdout.splitlines() if "Bridge:" in line]
        assert bridge_line == (f"✔ Bridge: running (pid {server.pid}), gRPC {endpoint['grpc']}, "
                               f"HTTP {endpoint['http']}, answering health")
        assert f"✔ Token: {config / 'token'} (mode 600)" in done.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
