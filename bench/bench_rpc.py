"""RPC overhead of the bridge: AnalyzeTimeline over gRPC and HTTP against the in-process call.

    .venv/bin/python -m bench.bench_rpc [--calls 200]

Every call analyses the same timeline, and the analysis cache answers the repeats alike
for all three paths (its measurements are read, not decoded); the timeline is the
smallest useful one (two 1 s shots, 160x96) so that the transport is a visible share of a
call. Measured in one run, in one process (server threads and clients share the GIL, as a
plugin on the same machine would share the CPU); the latency series are interleaved call by
call so that load from other processes affects each alike:

* latency p50/p99 of ``analyze_timeline`` in-process, via gRPC, via HTTP/SSE;
* a unary GetJob round trip (the transport alone);
* throughput with 4 concurrent gRPC clients (the bridge runs one job at a time by design),
  as a ratio to back-to-back in-process calls.

Writes bench/results/rpc.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

from bridge.client import BridgeClient, HttpBridgeClient
from bridge.config import ScoreOptions
from bridge.jobs import JobManager
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.pipeline import analyze_timeline
from bridge.server.app import start_bridge
from bridge.timeline.build import ShotSpec, write_timeline

RESULTS = Path(__file__).resolve().parent / "results" / "rpc.json"
OPTIONS = ScoreOptions()
TOKEN = "b" * 43  # the bench's own bridge; never the local install's token file


def smallest_timeline(folder: Path) -> Path:
    encode_scenes(folder / "m.mp4", [SceneSpec(1.0, (200, 40, 40)), SceneSpec(1.0, (40, 40, 200))],
                  width=160, height=96, rate=Fraction(25))
    return write_timeline(folder / "t.otio", name="bench", rate=Fraction(25),
                          shots=[ShotSpec(folder / "m.mp4", seconds=1.0),
                                 ShotSpec(folder / "m.mp4", seconds=1.0, media_start_s=1.0)])


def interleaved_ms(fns: dict, n: int) -> dict[str, list[float]]:
    """n rounds, each calling every fn once: load drift on a shared machine hits all alike."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(n):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t0) * 1e3)
    return out


def rate_in_process(timeline: Path, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        analyze_timeline(timeline, OPTIONS)
    return calls / (time.perf_counter() - t0)


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def throughput(address: str, timeline: Path, *, clients: int, calls_each: int) -> float:
    """Completed analyses per second with `clients` threads, each with its own channel."""
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with BridgeClient(address, token=TOKEN) as c:
                for _ in range(calls_each):
                    c.analyze(timeline, OPTIONS)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return clients * calls_each / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per latency series")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="where to write the JSON (bench.run keeps its short runs apart)")
    args = parser.parse_args()
    n = args.calls

    with tempfile.TemporaryDirectory(prefix="bench_rpc_") as tmp:
        tmp = Path(tmp)
        timeline = smallest_timeline(tmp)
        jobs = JobManager(tmp / "jobs", workers=1, max_queue=4)
        bridge = start_bridge(jobs=jobs, token=TOKEN)
        try:
            grpc_client = BridgeClient(bridge.grpc_address, token=TOKEN)
            http_client = HttpBridgeClient(bridge.http_url, TOKEN)
            grpc_client.wait_ready(10)
            # Warm-up: imports, first decode, channel setup.
            for _ in range(3):
                analyze_timeline(timeline, OPTIONS)
                grpc_client.analyze(timeline, OPTIONS)
                http_client.analyze(timeline, OPTIONS)

            job_id = grpc_client.list_jobs(limit=1)[0]["job_id"]
            series = interleaved_ms({
                "in_process": lambda: analyze_timeline(timeline, OPTIONS),
                "grpc": lambda: grpc_client.analyze(timeline, OPTIONS),
                "http_sse": lambda: http_client.analyze(timeline, OPTIONS),
                "grpc_unary_getjob": lambda: grpc_client.get_job(job_id),
            }, n)
            local, over_grpc, over_http, unary = series.values()

            # In-process rate measured just before and after the concurrent run, averaged.
            calls_each = max(2, n // 8)
            before = rate_in_process(timeline, 4 * calls_each)
            tput4 = throughput(bridge.grpc_address, timeline, clients=4, calls_each=calls_each)
            local_tput = 0.5 * (before + rate_in_process(timeline, 4 * calls_each))
            grpc_client.close()
        finally:
            bridge.stop(grace_s=5)

    res = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "timeline": "2 shots x 1 s, 160x96 H.264, 25 fps; no pipeline cache (each call "
                    "re-analyses)",
        "in_process": summary(local),
        "grpc": summary(over_grpc),
        "http_sse": summary(over_http),
        "grpc_unary_getjob": summary(unary),
        "overhead_ms_p50": {
            "grpc": round(statistics.median(over_grpc) - statistics.median(local), 3),
            "http_sse": round(statistics.median(over_http) - statistics.median(local), 3),
        },
        "latency_ratio_p50": {
            "grpc": round(statistics.median(over_grpc) / statistics.median(local), 3),
            "http_sse": round(statistics.median(over_http) / statistics.median(local), 3),
        },
        "throughput": {
            "in_process_per_s": round(local_tput, 3),
            "grpc_4_clients_per_s": round(tput4, 3),
            "ratio_to_in_process": round(tput4 / local_tput, 3),
            "calls": 4 * calls_each,
            "bridge_workers": 1,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(res, indent=2) + "\n")
    os.replace(tmp_out, args.out)
    for key in ("in_process", "grpc", "http_sse", "grpc_unary_getjob"):
        s = res[key]
        print(f"{key:<18} p50 {s['p50_ms']:8.2f} ms   p99 {s['p99_ms']:8.2f} ms")
    print(f"latency ratio p50: gRPC {res['latency_ratio_p50']['grpc']:.3f}x, "
          f"HTTP {res['latency_ratio_p50']['http_sse']:.3f}x in-process")
    t = res["throughput"]
    print(f"throughput, 4 gRPC clients: {t['grpc_4_clients_per_s']:.2f}/s = "
          f"{t['ratio_to_in_process']:.3f}x in-process ({t['in_process_per_s']:.2f}/s)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
