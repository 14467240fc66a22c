"""The embedded engine against its floor, and synthesis threads against one thread.

    .venv/bin/python -m bench.bench_engine [--minutes 3] [--report-demo]

1. Scores the N-minute bench story timeline (bench/timelines.py, 1080p25) with the
   default options and stamps every stage from the progress events; then renders the
   score's own MIDI with the ``fluidsynth`` command-line player (same SoundFont, 48 kHz,
   ``synth.cpu-cores=1``, dynamic sample loading as ours: only the presets played are
   read, which matters for a compressed .sf3), the floor of the renderer. Reports
   score / CLI (wall and CPU) and rendering's share of the score.
2. Renders the same arrangement twice back to back, synthesis on one thread and on the
   default number (one per core), through the same finishing stage, and checks that the
   bytes are identical.
3. With --report-demo: scores the demo film with and without ``--report`` and reports the
   report's own time over the score's.

All numbers of one run come from the same machine state; the machine may be shared, so
compare ratios (CPU seconds are less disturbed than wall seconds). Writes
bench/results/engine.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.timelines import ensure_sources, ensure_timeline
from bridge import ScoreOptions, score_timeline
from bridge.compose import arrange, compose_plan
from bridge.music import master
from bridge.pipeline import analyze_timeline
from bridge.render import arrangement_roles, find_soundfont, synthesise
from bridge.render.synthesis import default_threads

RESULTS = Path(__file__).resolve().parent / "results" / "engine.json"


def cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def stamp(fn):
    c0, w0 = cpu_s(), time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - w0, 3), round(cpu_s() - c0, 3)


def score_with_stages(timeline: Path, out: Path, options: ScoreOptions) -> dict:
    """Score; wall/CPU of analysis (to the first compose event), composition, rendering
    (last compose event to the first export event), export and report (the rest)."""
    events: list[tuple[str, float, float]] = []
    w0, c0 = time.perf_counter(), cpu_s()

    def progress(stage: str, fraction: float, message: str = "") -> None:
        events.append((stage, time.perf_counter() - w0, cpu_s() - c0))

    result = score_timeline(timeline, out, options, progress=progress)
    end = ("end", time.perf_counter() - w0, cpu_s() - c0)

    def first(stage):
        return next(e for e in events if e[0] == stage)

    def last(stage):
        return next(e for e in reversed(events) if e[0] == stage)

    export_end = last("export")
    bounds = {"analysis": (("start", 0.0, 0.0), first("compose")),
              "composition": (first("compose"), last("compose")),
              "rendering": (last("compose"), first("export")),
              "export": (first("export"), export_end),
              "report": (export_end, end)}
    stages = {k: {"wall_s": round(b[1] - a[1], 3), "cpu_s": round(b[2] - a[2], 3)}
              for k, (a, b) in bounds.items()}
    return {"result": result, "stages": stages, "wall_s": round(end[1], 3),
            "cpu_s": round(end[2], 3)}


def fluidsynth_cli(midi: Path, wav: Path, font: Path) -> tuple[float, float] | None:
    exe = shutil.which("fluidsynth")
    if exe is None:
        return None
    _, wall, cpu = stamp(lambda: subprocess.run(
        [exe, "-ni", "-q", "-g", "0.2", "-r", "48000", "-o", "synth.cpu-cores=1",
         "-o", "synth.dynamic-sample-loading=1", "-F", str(wav), str(font), str(midi)],
        check=True, stdout=subprocess.DEVNULL))
    return wall, cpu


def threads_ab(timeline: Path, folder: Path) -> dict:
    """The same arrangement through one synthesis thread and through the default."""
    analysis = analyze_timeline(timeline)
    plan = compose_plan(analysis.edit, analysis.cuts, analysis.affect, analysis.style)
    arrangement = arrange(plan, analysis.style, analysis.affect)
    n = analysis.edit.n_samples(48_000)
    out = {}
    for threads in (1, default_threads()):
        path = folder / f"threads{threads}.wav"

        def render(path=path, threads=threads):
            return master(synthesise(arrangement, n_samples=n, threads=threads),
                          roles=arrangement_roles(arrangement), out_path=path, n_samples=n)

        _, wall, cpu = stamp(render)
        out[threads] = {"wall_s": wall, "cpu_s": cpu,
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}
    one, many = out[1], out[default_threads()]
    return {"runs": out, "identical_bytes": one["sha256"] == many["sha256"],
            "speedup_wall": round(one["wall_s"] / max(many["wall_s"], 1e-9), 2)}


def report_ratio(folder: Path) -> dict:
    from bridge.demo import make_demo_timeline

    timeline = make_demo_timeline(folder / "demo")
    plain = score_with_stages(timeline, folder / "plain", ScoreOptions())
    with_report = score_with_stages(timeline, folder / "report", ScoreOptions(report=True))
    report = with_report["stages"]["report"]
    return {"score_wall_s": plain["wall_s"], "score_cpu_s": plain["cpu_s"],
            "report_wall_s": report["wall_s"], "report_cpu_s": report["cpu_s"],
            "report_over_score_wall": round(report["wall_s"] / plain["wall_s"], 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--report-demo", action="store_true")
    args = parser.parse_args(argv)
    ensure_sources()
    timeline = ensure_timeline(args.minutes)
    font = find_soundfont()
    report: dict = {"timeline": timeline.name, "soundfont": font.name,
                    "threads": default_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scored = score_with_stages(timeline, folder / "score", ScoreOptions())
        result = scored.pop("result")
        cli = fluidsynth_cli(result.midi_path, folder / "cli.wav", font)
        stages = scored["stages"]
        render = stages["rendering"]
        report["score"] = scored
        report["x_real_time"] = round(result.analysis.edit.duration_s / scored["wall_s"], 2)
        report["rendering_share_of_score_wall"] = round(render["wall_s"] / scored["wall_s"], 3)
        if cli is not None:
            report["fluidsynth_cli"] = {"wall_s": cli[0], "cpu_s": cli[1]}
            report["score_over_cli_wall"] = round(scored["wall_s"] / cli[0], 2)
            report["score_over_cli_cpu"] = round(scored["cpu_s"] / cli[1], 2)
        report["synthesis_threads"] = threads_ab(timeline, folder)
        if args.report_demo:
            report["report_demo"] = report_ratio(folder)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
