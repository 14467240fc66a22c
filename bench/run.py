"""End-to-end benchmark (`make bench`): score story timelines of 1 and 10 minutes (and 60).

    .venv/bin/python -m bench.run                  # 1 min (x3) and 10 min
    .venv/bin/python -m bench.run --long           # 1, 10 and 60 min -> bench_long.json/.md
    .venv/bin/python -m bench.run --minutes 1 5 --repeat 1 --rpc-calls 0 --no-engine --no-judge

After the timelines, in the same run: ``bench.bench_engine --minutes 3 --report-demo`` (the
whole score over the ``fluidsynth`` CLI on its own MIDI; ``--report`` on the demo) and
``bench.bench_style_judge`` when its judge environment exists; bench.md ends with issue 17's
measures beside their goals and the judge's table.

Timelines and media come from ``bench.timelines`` (1080p25 H.264, GOP 25, encoded once
and cached under bench/.cache/). Each timeline is scored by ``score_timeline`` with the
default options in a fresh child process with an empty analysis cache (so that a repeat
analyses as much as the first run), so that its peak RSS (``ru_maxrss`` of that
child, read with ``wait4``) is its own. A progress callback stamps wall time, CPU time and
peak RSS at every stage boundary:

* analysis = everything before the first "compose" event (timeline, picture, cuts, affect,
  style: each sub-stage runs from its first event to the next one's first event);
* composition = compose (plan, arrangement, MIDI);
* rendering = from the end of composition to the first "export" event (FluidSynth, two
  passes, loudness normalisation);
* export = affect CSV/JSON/PNG, the scored OTIO and the commit of the outputs.

Inside the analysis the time spent in the media calls (``sample_frames``,
``find_change``, ``frames_between``, ``decode_audio``) is added up. In the same run,
``ffmpeg -v error -threads 1 -skip_frame nokey -i FILE -an -f null -`` decodes only the
keyframes of each source file used (the floor of a sampler that needs 1-2 frames a
second), and ``ffmpeg -v error -i FILE -f null -`` decodes each source file used (PyAV
decoding every frame if ffmpeg is missing) to give the cost of decoding the media the
timeline shows, once, fully; and
``bench.bench_rpc`` measures the bridge's RPC overhead against the in-process call (its
JSON goes to bench/.cache/, so results/rpc.json stays that bench's own full run).

The machine has 2 cores and is shared with other jobs: CPU seconds (this process and
its children) are reported beside wall seconds, and the load average at start and end.
Writes bench/results/bench.json and bench.md (atomically; bench_long.* with --long), with
the git HEAD and any uncommitted bridge/ files at start and end (the tree is shared).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.clock import cpu_s

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"



def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- child: one timeline


class _Timed:
    """Wraps a media function; adds up wall and CPU seconds spent inside it."""

    def __init__(self, fn) -> None:
        self.fn, self.wall_s, self.cpu_s, self.calls = fn, 0.0, 0.0, 0

    def __call__(self, *args, **kwargs):
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.wall_s += time.perf_counter() - w0
            self.cpu_s += time.process_time() - c0
            self.calls += 1


MEDIA_CALLS = ("sample_frames", "find_change", "frames_between", "decode_audio")


def _wrap_media_calls() -> dict[str, _Timed]:
    """Time every media call, wherever a bridge module holds a reference to it."""
    from bridge import media

    timers = {name: _Timed(getattr(media, name)) for name in MEDIA_CALLS
              if hasattr(media, name)}
    for mod in [m for n, m in sys.modules.items() if n == "bridge" or n.startswith("bridge.")]:
        for name, timer in timers.items():
            if getattr(mod, name, None) is timer.fn:  # `from bridge.media import x`, or media
                setattr(mod, name, timer)
    return timers


def child(timeline: Path) -> dict:
    """Score one timeline in this (fresh) process; return the measurements."""
    from bridge.pipeline import score_timeline

    rss_after_imports = rss_mb()
    maxrss_after_imports = maxrss_mb()
    timers = _wrap_media_calls()

    events: list[tuple[str, float, float, float, float | None]] = []
    w0 = time.perf_counter()
    c0 = cpu_s()
    last_stage = [""]
    messages: dict[str, str] = {}

    def progress(stage: str, fraction: float, message: str = "") -> None:
        now = time.perf_counter() - w0
        events.append((stage, fraction, now, cpu_s() - c0, maxrss_mb()))
        messages[stage] = message
        if stage != last_stage[0]:
            last_stage[0] = stage
            print(f"  [{now:7.1f} s] {stage}: {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(dir=RESULTS, prefix="tmp_bench_") as folder:
        result = score_timeline(timeline, Path(folder) / "out", progress=progress)
        end_wall, end_cpu = time.perf_counter() - w0, cpu_s() - c0
        wav_mb = result.wav_path.stat().st_size / 2**20
    end_maxrss = maxrss_mb()

    def first(stage: str) -> tuple[float, float, float]:
        for s, _, t, c, m in events:
            if s == stage:
                return t, c, m
        raise RuntimeError(f"no {stage!r} progress event")

    def last(stage: str) -> tuple[float, float, float]:
        for s, _, t, c, m in reversed(events):
            if s == stage:
                return t, c, m
        raise RuntimeError(f"no {stage!r} progress event")

    start = (0.0, 0.0, maxrss_after_imports)
    # analysis sub-stages (timeline, cuts, affect, style, or whatever the pipeline emits),
    # in order of their first event: each runs until the next one's first event
    order = list(dict.fromkeys(s for s, *_ in events))
    sub = order[: order.index("compose")]
    sub_bounds = [start] + [first(s) for s in sub[1:]] + [first("compose")]
    bounds = {f"analysis.{name}": (sub_bounds[i], sub_bounds[i + 1])
              for i, name in enumerate(sub)}
    bounds.update({
        "analysis": (start, first("compose")),
        "composition": (first("compose"), last("compose")),
        "rendering": (last("compose"), first("export")),
        "export": (first("export"), (end_wall, end_cpu, end_maxrss)),
        "total": (start, (end_wall, end_cpu, end_maxrss)),
    })
    stages = {
        name: {"wall_s": round(b[0] - a[0], 3), "cpu_s": round(b[1] - a[1], 3),
               "peak_rss_mb_at_end": round(b[2], 1)}
        for name, (a, b) in bounds.items()
    }
    analysis = result.analysis
    cuts = analysis.cuts
    return {
        "timeline": timeline.name,
        "duration_s": analysis.edit.duration_s,
        "shots": len(analysis.edit.shots),
        "audio_clips": len(analysis.edit.audio_clips),
        "cuts_edit": sum(c.kind == "edit" for c in cuts),
        "cuts_detected": sum(c.kind == "detected" for c in cuts),
        "affect_hops": len(analysis.affect),
        "style": analysis.style.name,
        "compose_message": messages.get("compose"),  # "N notes"
        "plan_summary": {k: v for k, v in result.plan_summary.items()
                         if isinstance(v, (int, float, str))},
        "integrated_lufs": result.metrics.get("integrated_lufs"),
        "warnings": list(analysis.warnings)[:5],
        "wav_mb": round(wav_mb, 1),
        "progress_events": len(events),
        "stages": stages,
        "media_calls": {k: {"wall_s": round(t.wall_s, 3), "cpu_s": round(t.cpu_s, 3),
                            "calls": t.calls} for k, t in timers.items()},
        "rss_after_imports_mb": None if rss_after_imports is None else round(rss_after_imports, 1),
        "peak_rss_after_imports_mb": round(maxrss_after_imports, 1),
        "peak_rss_self_mb": round(end_maxrss, 1),
    }


# ---------------------------------------------------------------- parent


def run_child(timeline: Path) -> dict:
    """Run ``child`` in a fresh interpreter; add the child's rusage as seen by wait4."""
    cmd = [sys.executable, "-m", "bench.run", "--child", str(timeline)]
    w0 = time.perf_counter()
    # an empty analysis cache: every run pays for a first analysis (a repeat would
    # otherwise find the picture and cuts of the run before it)
    with tempfile.TemporaryDirectory(prefix="bench_cache_") as cache:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=HERE.parent,
                                env={**os.environ, "SCOREBRIDGE_CACHE_DIR": cache})
        out = proc.stdout.read()
        _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed with {proc.returncode}")
    data = json.loads(out.strip().splitlines()[-1])
    data["process"] = {"wall_s": round(time.perf_counter() - w0, 2),
                       "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
                       "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}
    return data


def decode_cost(paths: list[Path]) -> dict[str, dict]:
    """Full decode of each file with ffmpeg (or PyAV when ffmpeg is missing)."""
    from bridge.media import probe

    ffmpeg = shutil.which("ffmpeg")
    out = {}
    for path in paths:
        c0, w0 = cpu_s(), time.perf_counter()
        if ffmpeg:
            subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-f", "null", "-"],
                           check=True)
            tool = "ffmpeg -f null"
        else:
            import av

            with av.open(str(path)) as c:
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                for _ in c.decode(stream):
                    pass
            tool = "pyav every frame"
        media_s = probe(path).duration_s
        out[path.name] = {"tool": tool, "media_s": round(media_s, 2),
                          "wall_s": round(time.perf_counter() - w0, 3),
                          "cpu_s": round(cpu_s() - c0, 3)}
        if ffmpeg:
            c0 = cpu_s()
            subprocess.run([ffmpeg, "-v", "error", "-threads", "1", "-skip_frame", "nokey",
                            "-i", str(path), "-an", "-f", "null", "-"], check=True)
            out[path.name]["keyframes_cpu_s"] = round(cpu_s() - c0, 3)
    return out


def rpc_overhead(calls: int) -> dict | None:
    """bench_rpc in a subprocess (it has no reusable function); read its JSON."""
    if calls <= 0:
        return None
    w0 = time.perf_counter()
    out = HERE / ".cache" / "rpc_from_bench_run.json"  # leaves bench_rpc's own rpc.json alone
    subprocess.run([sys.executable, "-m", "bench.bench_rpc", "--calls", str(calls),
                    "--out", str(out)], check=True, cwd=HERE.parent, stdout=subprocess.DEVNULL)
    res = json.loads(out.read_text())
    return {"calls": calls, "bench_wall_s": round(time.perf_counter() - w0, 1),
            "timeline": res["timeline"],
            "in_process_p50_ms": res["in_process"]["p50_ms"],
            "grpc_p50_ms": res["grpc"]["p50_ms"], "http_sse_p50_ms": res["http_sse"]["p50_ms"],
            "overhead_ms_p50": res["overhead_ms_p50"],
            "latency_ratio_p50": res["latency_ratio_p50"],
            "throughput_ratio_4_clients": res["throughput"]["ratio_to_in_process"]}


def code_state() -> dict | None:
    """HEAD and the uncommitted files under bridge/ (others may edit the tree meanwhile)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        dirty = git("status", "--porcelain", "--", "bridge").splitlines()
        return {"head": git("rev-parse", "--short", "HEAD"),
                "bridge_uncommitted": [line[3:] for line in dirty]}
    except (OSError, subprocess.CalledProcessError):
        return None


def x_rt(seconds_of_timeline: float, wall_s: float) -> float:
    return round(seconds_of_timeline / wall_s, 1) if wall_s > 0 else float("inf")


def summarise(minutes: float, runs: list[dict], decode: dict[str, dict]) -> dict:
    """The median run (by total wall time) plus per-minute costs and the decode comparison."""
    from bench.timelines import media_seconds_used

    runs = sorted(runs, key=lambda r: r["stages"]["total"]["wall_s"])
    med = runs[len(runs) // 2]
    dur = med["duration_s"]
    used = media_seconds_used(minutes)
    ff_cpu = sum(s * decode[f]["cpu_s"] / decode[f]["media_s"] for f, s in used.items())
    ff_wall = sum(s * decode[f]["wall_s"] / decode[f]["media_s"] for f, s in used.items())
    kf_cpu = sum(s * decode[f].get("keyframes_cpu_s", math.nan) / decode[f]["media_s"]
                 for f, s in used.items())
    st = med["stages"]
    media_wall = sum(v["wall_s"] for v in med["media_calls"].values())
    media_cpu = sum(v["cpu_s"] for v in med["media_calls"].values())
    return {
        **med,
        "minutes": minutes,
        "repeats": len(runs),
        "total_wall_s_all_repeats": [r["stages"]["total"]["wall_s"] for r in runs],
        "x_real_time": {k: x_rt(dur, st[k]["wall_s"])
                        for k in ("analysis", "composition", "rendering", "export", "total")},
        "per_minute": {k: {"wall_s": round(st[k]["wall_s"] * 60 / dur, 3),
                           "cpu_s": round(st[k]["cpu_s"] * 60 / dur, 3)}
                       for k in ("analysis", "composition", "rendering", "export", "total")},
        "decode": {
            "media_shown_s": round(sum(used.values()), 1),
            "ffmpeg_full_decode_cpu_s": round(ff_cpu, 2),
            "ffmpeg_full_decode_wall_s": round(ff_wall, 2),
            "analysis_cpu_over_ffmpeg_cpu": round(st["analysis"]["cpu_s"] / ff_cpu, 3),
            "ffmpeg_keyframes_decode_cpu_s": round(kf_cpu, 3),
            "analysis_cpu_over_keyframes_cpu": round(st["analysis"]["cpu_s"] / kf_cpu, 2),
            "analysis_wall_over_ffmpeg_wall": round(st["analysis"]["wall_s"] / ff_wall, 3),
            "media_calls_share_of_analysis_wall": round(media_wall / st["analysis"]["wall_s"], 3),
            "media_calls_share_of_analysis_cpu": round(media_cpu / st["analysis"]["cpu_s"], 3),
        },
    }


def engine_bench() -> dict | None:
    """``bench.bench_engine --minutes 3 --report-demo`` in its own process: the whole score
    over the ``fluidsynth`` CLI's render of the same MIDI, and ``--report`` on the demo."""
    print("engine against the fluidsynth CLI, report on the demo (bench_engine) ...",
          file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "bench.bench_engine", "--minutes", "3",
                           "--report-demo", "--report-repeat", "3"], cwd=HERE.parent,
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return {"error": f"bench_engine exited {done.returncode}"}
    return json.loads((RESULTS / "engine.json").read_text())


def style_judge() -> dict | None:
    """``bench.bench_style_judge`` when its throwaway judge environment exists (see there)."""
    judge = Path(os.environ.get("SCOREBRIDGE_JUDGE_PYTHON", "/tmp/musicnn-venv/bin/python"))
    if not judge.is_file():
        print(f"style judge skipped: no judge environment at {judge} "
              "(bench/bench_style_judge.py says how to make one)", file=sys.stderr, flush=True)
        return {"skipped": f"no judge environment at {judge}"}
    print("style judge (bench_style_judge) ...", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "bench.bench_style_judge", "--judge-python",
                           str(judge)], cwd=HERE.parent, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return {"error": f"bench_style_judge exited {done.returncode}"}
    return {"json": json.loads((RESULTS / "style_judge.json").read_text()),
            "markdown": (RESULTS / "style_judge.md").read_text()}


def targets(report: dict) -> list[dict]:
    """Issue 17's measures from this one run, each beside its goal."""
    rows = []
    ten = next((s for s in report["sizes"] if s["minutes"] == 10), None)
    if ten:
        rows.append({"measure": "10-minute timeline, whole score", "value":
                     f"{ten['x_real_time']['total']:g}× real time", "goal": "≥ 25×",
                     "met": ten["x_real_time"]["total"] >= 25})
        ratio = ten["decode"]["analysis_cpu_over_keyframes_cpu"]
        rows.append({"measure": "10-minute analysis CPU / one-thread keyframe-only decode",
                     "value": f"{ratio:.2f}×", "goal": "≤ 3×", "met": ratio <= 3})
    engine = report.get("engine") or {}
    if "score_over_cli_wall" in engine:
        rows.append({"measure": "3-minute score / fluidsynth CLI on its MIDI (wall; CPU)",
                     "value": f"{engine['score_over_cli_wall']:.2f}×; "
                              f"{engine['score_over_cli_cpu']:.2f}× (rendering "
                              f"{100 * engine['rendering_share_of_score_wall']:.0f} % of the "
                              "score's wall)",
                     "goal": "≤ 2×", "met": engine["score_over_cli_wall"] <= 2})
    demo = engine.get("report_demo") or {}
    if "report_over_score_wall" in demo:
        rows.append({"measure": "demo: report stage / score (wall; CPU; whole extra run "
                                "wall)",
                     "value": f"{demo['report_over_score_wall']:.2f}; "
                              f"{demo['report_over_score_cpu']:.2f}; "
                              f"{demo['extra_over_score_wall']:.2f}",
                     "goal": "≤ 0.33", "met": demo["report_over_score_wall"] <= 1 / 3})
    return rows


def scaling(sizes: list[dict]) -> list[dict]:
    """Each size against the smallest: per-minute cost ratios and memory growth."""
    base = sizes[0]
    out = []
    for s in sizes[1:]:
        dm = (s["duration_s"] - base["duration_s"]) / 60
        row = {"from_min": base["minutes"], "to_min": s["minutes"]}
        for k in ("analysis", "composition", "rendering", "export", "total"):
            # > 1: the longer timeline costs more per minute (worse than linear)
            row[f"{k}_per_min_cpu_ratio"] = round(
                s["per_minute"][k]["cpu_s"] / max(base["per_minute"][k]["cpu_s"], 1e-9), 3)
            row[f"{k}_per_min_wall_ratio"] = round(
                s["per_minute"][k]["wall_s"] / max(base["per_minute"][k]["wall_s"], 1e-9), 3)
        row["peak_rss_growth_mb"] = round(s["process"]["peak_rss_mb"]
                                          - base["process"]["peak_rss_mb"], 1)
        row["peak_rss_growth_mb_per_min"] = round(row["peak_rss_growth_mb"] / dm, 2)
        row["wav_growth_mb"] = round(s["wav_mb"] - base["wav_mb"], 1)
        out.append(row)
    return out


def markdown(report: dict) -> str:
    sizes = report["sizes"]
    lines = [
        f"Scorebridge end-to-end bench, {report['when']} ({report['machine']}). "
        "Timelines: 1080p25 H.264 story edits (bench/timelines.py). ×RT = timeline seconds "
        "per wall second. Wall (CPU) seconds.",
        "",
        "| timeline | shots / cuts (edit+detected) | analysis | composition | rendering "
        "| export | total | peak RSS (after imports / analysis) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in sizes:
        st, xr = s["stages"], s["x_real_time"]

        def cell(k: str, st=st, xr=xr) -> str:
            return f"{st[k]['wall_s']:.1f} s ({st[k]['cpu_s']:.1f}) {xr[k]:g}×RT"

        lines.append(
            f"| {s['minutes']:g} min | {s['shots']} / {s['cuts_edit']}+{s['cuts_detected']} "
            f"| {cell('analysis')} | {cell('composition')} | {cell('rendering')} "
            f"| {cell('export')} | {cell('total')} | {s['process']['peak_rss_mb']:.0f} MB "
            f"({s['peak_rss_after_imports_mb']:.0f} / "
            f"{st['analysis']['peak_rss_mb_at_end']:.0f}) |")
    lines += ["", "| timeline | analysis stages (wall s) "
              "| media calls share of analysis (wall, CPU) | ffmpeg full decode of the media "
              "shown (wall, CPU s) | analysis CPU / ffmpeg CPU (/ keyframes-only CPU) "
              "| per minute: analysis, "
              "compose, render, total CPU s |", "|---|---|---|---|---|---|"]
    for s in sizes:
        st, d, pm = s["stages"], s["decode"], s["per_minute"]
        lines.append(
            f"| {s['minutes']:g} min | " + ", ".join(
                f"{k.removeprefix('analysis.')} {v['wall_s']:.1f}" for k, v in st.items()
                if k.startswith("analysis."))
            + f" | {100 * d['media_calls_share_of_analysis_wall']:.0f} %, "
            f"{100 * d['media_calls_share_of_analysis_cpu']:.0f} % "
            f"| {d['ffmpeg_full_decode_wall_s']:.1f}, {d['ffmpeg_full_decode_cpu_s']:.1f} "
            f"| {d['analysis_cpu_over_ffmpeg_cpu']:.2f} "
            f"({d.get('analysis_cpu_over_keyframes_cpu', math.nan):.1f}) "
            f"| {pm['analysis']['cpu_s']:.2f}, {pm['composition']['cpu_s']:.2f}, "
            f"{pm['rendering']['cpu_s']:.2f}, {pm['total']['cpu_s']:.2f} |")
    if report["scaling"]:
        lines += ["", "| scaling | per-minute CPU ratio: analysis / compose / render / total "
                  "| peak RSS growth | WAV growth |", "|---|---|---|---|"]
        for r in report["scaling"]:
            lines.append(
                f"| {r['from_min']:g} → {r['to_min']:g} min | "
                f"{r['analysis_per_min_cpu_ratio']:.2f} / {r['composition_per_min_cpu_ratio']:.2f}"
                f" / {r['rendering_per_min_cpu_ratio']:.2f} / {r['total_per_min_cpu_ratio']:.2f} "
                f"| {r['peak_rss_growth_mb']:+.0f} MB ({r['peak_rss_growth_mb_per_min']:+.1f} "
                f"MB/min) | {r['wav_growth_mb']:+.0f} MB on disk |")
    rpc = report.get("rpc")
    if rpc:
        a1 = sizes[0]["stages"]["analysis"]["wall_s"]
        lines += ["", f"RPC (bench_rpc, {rpc['calls']} calls, 2-shot 160x96 timeline): "
                  f"analyze p50 in-process {rpc['in_process_p50_ms']:.1f} ms, gRPC "
                  f"{rpc['grpc_p50_ms']:.1f} ms (+{rpc['overhead_ms_p50']['grpc']:.1f} ms), "
                  f"HTTP/SSE {rpc['http_sse_p50_ms']:.1f} ms "
                  f"(+{rpc['overhead_ms_p50']['http_sse']:.1f} ms); the gRPC overhead is "
                  f"{100 * rpc['overhead_ms_p50']['grpc'] / 1e3 / a1:.3f} % of the "
                  f"{sizes[0]['minutes']:g}-minute analysis."]
    if report.get("targets"):
        lines += ["", "| issue 17 measure (this run) | value | goal | met |", "|---|---|---|---|"]
        lines += [f"| {t['measure']} | {t['value']} | {t['goal']} | "
                  f"{'yes' if t['met'] else 'no'} |" for t in report["targets"]]
    judge = report.get("style_judge") or {}
    if judge.get("markdown"):
        lines += ["", "Style judge (bench_style_judge, musicnn MagnaTagATune):", "",
                  judge["markdown"].strip()]
    elif judge:
        lines += ["", f"Style judge: {judge.get('skipped') or judge.get('error')}."]
    gen = report["generation"]
    if gen:
        lines += ["", f"Media generation (uncached): {gen.get('wall_s')} s wall for "
                  f"{len(gen.get('encoded', []))} sources with {gen.get('workers')} processes "
                  f"({gen.get('when', 'this run')}); this run's own setup took "
                  f"{report['setup_wall_s']} s. Bench wall time {report['bench_wall_s']} s; "
                  f"load average {report['load_start']} at start, {report['load_end']} at end "
                  "(shared machine)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=None,
                        help="timeline lengths (default 1 10; with --long 1 10 60)")
    parser.add_argument("--long", action="store_true", help="add the 60-minute timeline")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each timeline under 5 minutes (median kept)")
    parser.add_argument("--rpc-calls", type=int, default=40,
                        help="calls per latency series in bench_rpc (0 skips it)")
    parser.add_argument("--no-engine", action="store_true",
                        help="skip bench_engine (score vs the fluidsynth CLI, report on the demo)")
    parser.add_argument("--no-judge", action="store_true",
                        help="skip the style judge (bench_style_judge)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0

    from bench import timelines

    minutes = args.minutes or ([1.0, 10.0, 60.0] if args.long else [1.0, 10.0])
    minutes = sorted(set(minutes))
    stem = "bench_long" if args.long else "bench"
    t_bench = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)

    code_start = code_state()
    w0 = time.perf_counter()
    generated = timelines.ensure_sources()
    paths = {m: timelines.ensure_timeline(m) for m in minutes}
    setup_wall_s = round(time.perf_counter() - w0, 1)

    runs: dict[float, list[dict]] = {}
    for m in minutes:
        reps = args.repeat if m < 5 else 1
        runs[m] = []
        for i in range(reps):
            print(f"scoring {paths[m].name} (run {i + 1}/{reps}) ...", file=sys.stderr,
                  flush=True)
            r = run_child(paths[m])
            print(f"  total {r['stages']['total']['wall_s']:.1f} s wall, "
                  f"{r['process']['cpu_s']:.1f} s CPU, peak RSS {r['process']['peak_rss_mb']} MB",
                  file=sys.stderr, flush=True)
            runs[m].append(r)

    sources = sorted({f for m in minutes for f in timelines.media_seconds_used(m)})
    print(f"full decode of {len(sources)} source files ...", file=sys.stderr, flush=True)
    decode = decode_cost([timelines.CACHE / "sources" / f for f in sources])
    print("bridge RPC overhead (bench_rpc) ...", file=sys.stderr, flush=True)
    rpc = rpc_overhead(args.rpc_calls)

    engine = None if args.no_engine else engine_bench()
    judge = None if args.no_judge else style_judge()

    sizes = [summarise(m, runs[m], decode) for m in minutes]
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other "
                   "engineers' test runs",
        "python": platform.python_version(),
        "media": {"size": f"{timelines.WIDTH}x{timelines.HEIGHT}", "fps": int(timelines.RATE),
                  "codec": "H.264 libx264", "preset": timelines.PRESET,
                  "gop_frames": timelines.GOP, "source_s_each": timelines.SOURCE_S,
                  "sources": len(timelines.MOODS)},
        "options": "ScoreOptions() defaults (symbolic backend, no stems, no ducking)",
        "code": {"start": code_start, "end": code_state()},
        "load_start": load_start,
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "setup_wall_s": setup_wall_s,
        "generation": generated if generated.get("encoded") else timelines.last_generation(),
        "generated_this_run": bool(generated.get("encoded")),
        "sizes": sizes,
        "scaling": scaling(sizes),
        "decode_per_source": decode,
        "rpc": rpc,
        "engine": engine,
        "style_judge": judge,
    }
    report["targets"] = targets(report)
    report["bench_wall_s"] = round(time.perf_counter() - t_bench, 1)
    md = markdown(report)
    write_atomic(RESULTS / f"{stem}.json", json.dumps(report, indent=1) + "\n")
    write_atomic(RESULTS / f"{stem}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
