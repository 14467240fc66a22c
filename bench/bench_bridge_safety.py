"""Issue 12's figures, measured on two source trees in one run (not a test).

    .venv/bin/python -m bench.bench_bridge_safety --before /path/to/old/tree [--after .]

Each scenario runs in a subprocess with the tree first on PYTHONPATH, against the same
generated timeline: user files in the output folder, a tokenless gRPC call, 16 WatchJob
streams against health/ListBackends, staging left by SIGKILL (server) and SIGTERM (CLI),
markers=every:0.001, rate 0 and a NUL byte. Prints a table; writes
bench/results/bridge_safety.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "bridge_safety.json"

# Runs inside the tree under test; prints one JSON object. Written against the API both
# trees share, with small fallbacks where the newer one added a required argument.
SCENARIOS = textwrap.dedent(r'''
import json, os, signal, subprocess, sys, threading, time
from pathlib import Path
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from bridge.jobs import JobManager
from bridge.server.app import build_server
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb, bridge_pb2_grpc as pb_grpc

work, timeline = Path(sys.argv[1]), Path(sys.argv[2])
TOKEN = "b" * 43
AUTH = (("authorization", f"Bearer {TOKEN}"),)
out = {}

def server(jobs):
    try:
        return build_server("127.0.0.1:0", jobs=jobs, token=TOKEN)
    except TypeError:  # a tree without gRPC authentication
        return build_server("127.0.0.1:0", jobs=jobs)

def mb(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6

def staging(folder):
    return [p for p in folder.iterdir() if p.name.startswith(".scorebridge-")] \
        if folder.exists() else []

# user files in the output folder
from bridge.config import ScoreOptions
from bridge.pipeline import score_timeline
o = work / "userfiles"
(o / "stems").mkdir(parents=True)
(o / "stems" / "mine.wav").write_bytes(b"mine")
(o / "score.wav").write_bytes(b"temp score")
score_timeline(timeline, o, ScoreOptions(stems=True))
out["user stem in stems/ survives"] = (o / "stems" / "mine.wav").exists()
out["user score.wav survives"] = (o / "score.wav").read_bytes() == b"temp score"

# tokenless call, 16 streams
jobs = JobManager(work / "jobs16")
srv, port = server(jobs)
gate = threading.Event()
def wait_gate(progress, cancel, workdir):
    while not gate.wait(0.02):
        cancel.raise_if_cancelled()
    return {"analysis": {}}
ch = grpc.insecure_channel(f"127.0.0.1:{port}")
stub = pb_grpc.BridgeStub(ch)
try:
    stub.ListJobs(pb.ListJobsRequest(), timeout=5)
    out["tokenless ListJobs"] = "OK (answered)"
except grpc.RpcError as e:
    out["tokenless ListJobs"] = e.code().name
job = jobs.submit("analyze", wait_gate)
streams = [stub.WatchJob(pb.JobRef(job_id=job.id), metadata=AUTH) for _ in range(16)]
for s in streams:
    next(s)
health = health_pb2_grpc.HealthStub(ch)
took = []
for _ in range(50):
    t0 = time.perf_counter()
    try:
        health.Check(health_pb2.HealthCheckRequest(), timeout=15)
        took.append(time.perf_counter() - t0)
    except grpc.RpcError:
        took.append(15.0)
        break
took.sort()
out["16 streams: health p99 (ms)"] = round(took[min(len(took) - 1, int(len(took) * .99))] * 1000, 1)
t0 = time.perf_counter()
try:
    stub.ListBackends(pb.ListBackendsRequest(), timeout=15, metadata=AUTH)
    out["16 streams: ListBackends (s)"] = round(time.perf_counter() - t0, 3)
except grpc.RpcError as e:
    out["16 streams: ListBackends (s)"] = f">15 ({e.code().name})"
gate.set()
for s in streams:
    list(s)
ch.close(); srv.stop(0); jobs.shutdown()

# a serve subprocess: SIGKILL during compose, restart; markers=every:0.001; rate 0; NUL
def serve(tag):
    cfg = work / "config"
    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--port", "0",
                          "--http-port", "0", "--jobs-dir", str(work / "jobs"),
                          "--config-dir", str(cfg)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            ep = json.loads((cfg / "bridge.json").read_text())
            if ep.get("pid") == p.pid:
                return p, ep
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise SystemExit("serve did not start")

def client(ep):
    from bridge.client import BridgeClient
    try:
        return BridgeClient.from_config(work / "config")
    except AttributeError:
        return BridgeClient(ep["grpc"])

def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

k = work / "killed"
p, ep = serve("a")
c = client(ep); c.wait_ready(30)
def on_event(e):
    pass
def run():
    try:
        c.score(timeline, k, ScoreOptions(stems=True), on_event=on_event)
    except Exception:
        pass
threading.Thread(target=run, daemon=True).start()
for _ in range(6000):  # until the render has written something into the staging folder
    if sum(mb(s) for s in staging(k)) > 1:
        break
    time.sleep(0.01)
os.kill(p.pid, signal.SIGKILL); p.wait()
out["SIGKILL in render: staging MB before restart"] = round(sum(mb(s) for s in staging(k)), 1)
p, ep = serve("b")
time.sleep(0.5)
out["SIGKILL then restart: staging MB left"] = round(sum(mb(s) for s in staging(k)), 1)
c = client(ep); c.wait_ready(30)
before = rss_mb(p.pid)
try:
    c.analyze(timeline, ScoreOptions(markers="every:0.001"))
    jf = max((work / "jobs").glob("*/job.json"), key=lambda f: f.stat().st_mtime)
    out["markers=every:0.001"] = (f"accepted: +{rss_mb(p.pid) - before:.0f} MB RSS, "
                                  f"job.json {jf.stat().st_size / 1e6:.1f} MB")
except Exception as e:
    out["markers=every:0.001"] = f"refused: {getattr(e, 'code', type(e).__name__)}"
import opentimelineio as otio
tl = otio.schema.Timeline(name="zero"); tr = otio.schema.Track(); tl.tracks.append(tr)
tr.append(otio.schema.Clip(name="c", source_range=otio.opentime.TimeRange(
    otio.opentime.RationalTime(0, 0), otio.opentime.RationalTime(48, 0))))
zero = work / "zero.otio"; otio.adapters.write_to_file(tl, str(zero))
try:
    c.analyze(zero); out["rate 0"] = "OK?"
except Exception as e:
    out["rate 0"] = getattr(e, "code", type(e).__name__)
with grpc.insecure_channel(ep["grpc"]) as ch:
    md = AUTH
    try:
        md = (("authorization", "Bearer " + (work / "config" / "token").read_text().strip()),)
    except OSError:
        pass
    try:
        list(pb_grpc.BridgeStub(ch).AnalyzeTimeline(
            pb.AnalyzeRequest(path=str(timeline) + "\x00"), timeout=30, metadata=md))
        out["NUL byte in path (gRPC)"] = "OK?"
    except grpc.RpcError as e:
        out["NUL byte in path (gRPC)"] = e.code().name
p.send_signal(signal.SIGTERM); p.wait(30)

# CLI SIGTERM during the render
o = work / "cli"
p = subprocess.Popen([sys.executable, "-m", "bridge", "-q", "score", str(timeline), "-o",
                      str(o), "--stems"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(9000):
    if sum(mb(s) for s in staging(o)) > 1:
        break
    time.sleep(0.01)
p.send_signal(signal.SIGTERM); p.wait(60)
out["CLI SIGTERM: staging MB left"] = round(sum(mb(s) for s in staging(o)), 1)
print(json.dumps(out))
''')


def measure(tree: Path, timeline: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-safety-") as work:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run([sys.executable, "-c", SCENARIOS, work, str(timeline)],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the old source tree")
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--shot-s", type=float, default=6.0, help="seconds per shot (4 shots)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
    from bridge_fixtures import make_timeline

    with tempfile.TemporaryDirectory(prefix="bench-safety-tl-") as folder:
        timeline = make_timeline(Path(folder), shot_s=args.shot_s, shots=4)
        before = measure(args.before.resolve(), timeline)
        after = measure(args.after.resolve(), timeline)
    print(f"{'check':<46} | {'before':<40} | after")
    for key in after:
        print(f"{key:<46} | {before.get(key)!s:<40} | {after[key]}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"before": before, "after": after}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
