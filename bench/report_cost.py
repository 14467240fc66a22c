"""One `score` (or `score --report`) of a timeline, timed in a process of its own.

    python bench/report_cost.py TIMELINE OUT_DIR [--report]

Run by path, with the source tree to measure first on PYTHONPATH (`bench_engine` points it
at this checkout or at an older revision), so that only `bridge`'s public entry points are
used. Prints one JSON line: the score's wall and CPU seconds (the call itself and the whole
process, imports included) and, from the progress events, the report stage's (after the
last export event), which is what `bench_engine --report-demo` compares.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

WALL0 = time.perf_counter()


def cpu_s() -> float:
    # its own copy of bench.clock.cpu_s: this file runs with an older tree on the path,
    # which may have no bench/clock.py
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str]) -> int:
    timeline, out_dir = Path(argv[0]), Path(argv[1])
    report = "--report" in argv[2:]
    from bridge import ScoreOptions, score_timeline

    events: list[tuple[str, float, float]] = []
    w0, c0 = time.perf_counter(), cpu_s()

    def progress(stage: str, fraction: float, message: str = "") -> None:
        events.append((stage, time.perf_counter() - w0, cpu_s() - c0))

    result = score_timeline(timeline, out_dir, ScoreOptions(report=report), progress=progress)
    wall, cpu = time.perf_counter() - w0, cpu_s() - c0
    export_end = next(e for e in reversed(events) if e[0] == "export")
    print(json.dumps({
        "report": report,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "process_wall_s": round(time.perf_counter() - WALL0, 3),
        "process_cpu_s": round(cpu_s(), 3),
        "report_stage_wall_s": round(wall - export_end[1], 3),
        "report_stage_cpu_s": round(cpu - export_end[2], 3),
        "metrics": {k: round(float(v), 6) for k, v in sorted(result.metrics.items())},
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
