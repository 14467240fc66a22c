"""The embedded engine against its floor, and synthesis threads against one thread.

    .venv/bin/python -m bench.bench_engine [--minutes 3] [--report-demo]
    .venv/bin/python -m bench.bench_engine --report-demo-only [--compare-with REV]

1. Scores the N-minute bench story timeline (bench/timelines.py, 1080p25) with the
   default options and stamps every stage from the progress events; then renders the
   score's own MIDI with the ``fluidsynth`` command-line player (same SoundFont, 48 kHz,
   ``synth.cpu-cores=1``, dynamic sample loading as ours: only the presets played are
   read, which matters for a compressed .sf3), the floor of the renderer. Reports
   score / CLI (wall and CPU) and rendering's share of the score.
2. Renders the same arrangement twice back to back, synthesis on one thread and on the
   default number (one per core), through the same finishing stage, and checks that the
   bytes are identical.
3. With --report-demo (or --report-demo-only, which skips 1 and 2): scores the demo film
   with and without ``--report``, each in a fresh process (bench/report_cost.py), plain and
   report in turn, ``--report-repeat`` times; reports the report stage's wall and CPU over
   the plain score's, and the whole extra cost of ``--report`` (report run minus plain run,
   which includes the analyser's warm-up during the score). ``--compare-with REV`` measures
   an older revision of this repository the same way, turn about with this tree.

All numbers of one run come from the same machine state; the machine may be shared, so
compare ratios (CPU seconds are less disturbed than wall seconds). Writes
bench/results/engine.json.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from bench.clock import cpu_s, timed
from bench.timelines import ensure_sources, ensure_timeline
from bridge import ScoreOptions, score_timeline
from bridge.compose import arrange, compose_plan
from bridge.music.master import master_audio
from bridge.pipeline import analyze_timeline
from bridge.render import arrangement_roles, find_soundfont, synthesise
from bridge.render.synthesis import default_threads

RESULTS = Path(__file__).resolve().parent / "results" / "engine.json"




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
    _, wall, cpu = timed(lambda: subprocess.run(
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
            return master_audio(synthesise(arrangement, n_samples=n, threads=threads),
                                roles=arrangement_roles(arrangement), out_path=path,
                                n_samples=n)

        _, wall, cpu = timed(render)
        out[threads] = {"wall_s": wall, "cpu_s": cpu,
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}
    one, many = out[1], out[default_threads()]
    return {"runs": out, "identical_bytes": one["sha256"] == many["sha256"],
            "speedup_wall": round(one["wall_s"] / max(many["wall_s"], 1e-9), 2)}


REPO = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "report_cost.py"


def _timed_score(tree: Path, timeline: Path, out: Path, *, report: bool) -> dict:
    """One score in a fresh process, `bridge` imported from `tree` (bench/report_cost.py)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(timeline), str(out), *(["--report"] if report else [])],
        capture_output=True, text=True, env=env, cwd=tree, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"scoring with {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _checkout(rev: str, folder: Path) -> Path:
    """The tree of git revision `rev` of this repository, extracted into `folder`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev],
                             capture_output=True, check=True).stdout
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def report_ratio(folder: Path, *, repeat: int = 2, compare_with: str | None = None) -> dict:
    """`score` and `score --report` of the demo film, each in a fresh process, `repeat`
    times in alternation (with --compare-with, this tree and the older revision's take
    turns too). Per tree, the median of: the score's wall/CPU, the report stage's
    (`report_over_score_*`: the stage over the plain score) and the whole extra cost of
    `--report` (`extra_over_score_*`: report run minus plain run, over the plain run;
    this counts the analyser's warm-up, which runs in the background during the score)."""
    from bridge.demo import make_demo_timeline

    timeline = make_demo_timeline(folder / "demo")
    trees = {"this": REPO}
    if compare_with:
        trees[compare_with] = _checkout(compare_with, folder / "old-tree")
    runs: dict[str, dict[str, list[dict]]] = {name: {"plain": [], "report": []} for name in trees}
    for name, tree in trees.items():  # fills the analysis cache, as for an editor's re-score
        _timed_score(tree, timeline, folder / f"untimed-{name}".replace("/", "_"), report=False)
    for k in range(repeat):
        for name, tree in (trees.items() if k % 2 == 0 else reversed(trees.items())):
            for mode in (("plain", "report") if k % 2 == 0 else ("report", "plain")):
                runs[name][mode].append(_timed_score(
                    tree, timeline, folder / f"{name}-{mode}-{k}".replace("/", "_"),
                    report=mode == "report"))
    out = {}
    for name, by_mode in runs.items():
        def med(mode: str, key: str, by_mode=by_mode) -> float:
            return round(statistics.median(r[key] for r in by_mode[mode]), 3)

        plain_wall, plain_cpu = med("plain", "wall_s"), med("plain", "cpu_s")
        stage_wall, stage_cpu = med("report", "report_stage_wall_s"), med("report",
                                                                          "report_stage_cpu_s")
        out[name] = {
            "score_wall_s": plain_wall, "score_cpu_s": plain_cpu,
            "report_run_wall_s": med("report", "wall_s"),
            "report_run_cpu_s": med("report", "cpu_s"),
            "report_wall_s": stage_wall, "report_cpu_s": stage_cpu,
            "report_over_score_wall": round(stage_wall / plain_wall, 3),
            "report_over_score_cpu": round(stage_cpu / plain_cpu, 3),
            "extra_over_score_wall": round(med("report", "wall_s") / plain_wall - 1, 3),
            "extra_over_score_cpu": round(med("report", "cpu_s") / plain_cpu - 1, 3),
            "metrics": by_mode["report"][0]["metrics"],
            "runs": by_mode,
        }
    result = out.pop("this")
    if compare_with:
        result["before"] = {"revision": compare_with, **out[compare_with]}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--report-demo", action="store_true")
    parser.add_argument("--report-demo-only", action="store_true",
                        help="only part 3 (the report on the demo); writes engine_report.json")
    parser.add_argument("--report-repeat", type=int, default=2,
                        help="plain/report score pairs per tree (median reported)")
    parser.add_argument("--compare-with", metavar="REV",
                        help="also measure the report at this git revision, turn about")
    args = parser.parse_args(argv)
    if args.report_demo_only:
        with tempfile.TemporaryDirectory() as tmp:
            report = {"load_before": os.getloadavg(),
                      "report_demo": report_ratio(Path(tmp), repeat=args.report_repeat,
                                                  compare_with=args.compare_with),
                      "load_after": os.getloadavg()}
        out = RESULTS.with_name("engine_report.json")
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(json.dumps(_without_runs(report), indent=1))
        return 0
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
            report["report_demo"] = report_ratio(folder, repeat=args.report_repeat,
                                                 compare_with=args.compare_with)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(_without_runs(report), indent=1))
    return 0


def _without_runs(report: dict) -> dict:
    """The summary printed: the per-run records stay in the JSON file only."""
    if isinstance(report, dict):
        return {k: _without_runs(v) for k, v in report.items() if k != "runs"}
    return report


if __name__ == "__main__":
    raise SystemExit(main())
