"""`scorebridge batch`: score many timelines, each as one task on Ray (or one after another here).

Sources are folders (every timeline directly inside, by suffix) and list files (one path a
line, relative to the list; blank lines and ``#`` comments skipped). Each timeline is scored
into its own folder under the output folder, named after the timeline, with the same
versioning as a single ``score``: a second batch into the same folder writes
``score.v2.wav`` and so on beside the first. A timeline that fails is reported with its
one-line reason and the others carry on; a worker lost mid-task is retried by Ray and never
leaves a partial file (see bridge/cluster.py).

Per timeline the summary holds its status, duration, the cut–beat hit rate measured on the
rendered audio by the independent analyser (bridge/eval: beats detected by librosa, cuts at
least a beat apart, ±50 ms), the integrated loudness and the wall time; it is printed as a
table and written as JSON (``batch.json``, versioned like every result).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bridge.config import ScoreOptions
from bridge.errors import BridgeError, CancelledError, InvalidOptionError, UnreadableTimelineError
from bridge.progress import CancelToken, ProgressFn
from bridge.shell import add_backend_arguments, backend_option_changes

SUMMARY_NAME = "batch.json"
SUMMARY_FORMAT = "scorebridge.batch"
_TIMELINE_SUFFIXES = (".otio", ".otioz", ".otiod", ".xml", ".fcpxml", ".fcpxmld", ".edl")
HIT_TOLERANCE_S = 0.05

# (work, progress, cancel, workdir) -> result: in-process, or bridge.cluster.run_on_ray
Runner = Callable[[Callable, ProgressFn, CancelToken, Path], dict[str, Any]]
# (timeline index, stage, fraction, message)
BatchProgress = Callable[[int, str, float, str], None]


@dataclass
class TimelineOutcome:
    """One row of the summary."""

    timeline: str
    out_dir: str
    status: str = "queued"  # "done", "failed", "cancelled"
    error: str | None = None
    duration_s: float | None = None
    cuts: int | None = None
    cut_beat_hit_rate: float | None = None  # measured on the audio, ±50 ms; None without cuts
    cuts_counted: int | None = None
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    version: int | None = None
    wav: str | None = None
    manifest: str | None = None
    wall_s: float | None = None  # from submission to the end, any wait for a CPU included
    task_s: float | None = None  # the task itself, on its worker
    task_cpu_s: float | None = None  # CPU seconds of that worker process during the task
    music_from: str | None = None  # musicgen: "this process" or the Ray pool that served it
    worker: str | None = None  # "host pid N" of the attempt that finished it


@dataclass
class BatchSummary:
    outcomes: list[TimelineOutcome]
    wall_s: float
    engine: str  # "ray (N CPUs)" or "in-process"
    summary_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[TimelineOutcome]:
        return [o for o in self.outcomes if o.status != "done"]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SUMMARY_FORMAT,
            "engine": self.engine,
            "wall_s": round(self.wall_s, 3),
            "done": len(self.outcomes) - len(self.failed),
            "failed": len(self.failed),
            "timelines": [asdict(o) for o in self.outcomes],
            **self.extra,
        }


# ---------------------------------------------------------------- what to score


def collect_timelines(sources: Iterable[str | Path]) -> list[Path]:
    """Every timeline named by ``sources`` (folders and list files), in order, each once."""
    found: list[Path] = []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir() and path.suffix.lower() not in _TIMELINE_SUFFIXES:
            found += sorted(p for p in path.iterdir() if not p.name.startswith(".")
                            and p.suffix.lower() in _TIMELINE_SUFFIXES)
        elif path.suffix.lower() in _TIMELINE_SUFFIXES:
            found.append(path)
        elif path.is_file():
            found += _read_list(path)
        else:
            raise UnreadableTimelineError("no such folder or list file", path=path)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise InvalidOptionError("no timelines found (looked for "
                                 f"{', '.join(_TIMELINE_SUFFIXES)})", field="sources")
    return unique


def _read_list(path: Path) -> list[Path]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UnreadableTimelineError(f"cannot read the list: {err}", path=path) from err
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entry = Path(line).expanduser()
            entries.append(entry if entry.is_absolute() else path.parent / entry)
    return entries


def output_folders(timelines: Sequence[Path], out_root: Path) -> list[Path]:
    """``out_root/<timeline stem>``; a stem used twice gets ``-2``, ``-3`` ..."""
    seen: dict[str, int] = {}
    folders = []
    for timeline in timelines:
        stem = timeline.stem or "timeline"
        seen[stem] = seen.get(stem, 0) + 1
        folders.append(out_root / (stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"))
    return folders


# ---------------------------------------------------------------- one timeline (runs on a worker)


def score_one(timeline: str, out_dir: str, options: ScoreOptions, progress: ProgressFn,
              cancel: CancelToken, workdir: Path, *, model_pool: str | None = None
              ) -> dict[str, Any]:
    """Score one timeline and measure it: the work of one batch task (a module-level function,
    so Ray ships it by reference). ``model_pool`` names the Ray actor that serves the
    musicgen model, so this task never loads it."""
    from bridge.eval import analyse, audio_io, metrics
    from bridge.pipeline import score_timeline

    wall0, cpu0 = time.perf_counter(), time.process_time()
    if model_pool is None:
        result = score_timeline(timeline, out_dir, options, progress=progress, cancel=cancel)
    else:
        from bridge.cluster import PooledWindows
        from bridge.music import musicgen

        musicgen.serve_windows_from(PooledWindows(model_pool))
        try:
            result = score_timeline(timeline, out_dir, options, progress=progress,
                                    cancel=cancel)
        finally:
            musicgen.serve_windows_from(None)
    progress("measure", 0.0, "cut–beat hit rate on the audio")
    audio = audio_io.load_audio(result.wav_path)
    beats = analyse.detect_beats(audio.y, audio.sr)
    duration = result.analysis.edit.duration_s
    cuts = [c.time_s for c in result.analysis.cuts if 0 < c.time_s < duration]
    hit = metrics.cut_beat_hit_rate(cuts, beats, tol_s=HIT_TOLERANCE_S)
    progress("measure", 1.0, "done")
    return {
        "duration_s": duration,
        "cuts": len(cuts),
        "cut_beat_hit_rate": None if math.isnan(hit.rate) else hit.rate,
        "cuts_counted": hit.total,
        "integrated_lufs": result.metrics.get("integrated_lufs"),
        "true_peak_dbtp": result.metrics.get("true_peak_dbtp"),
        "version": result.version,
        "wav": str(result.wav_path),
        "manifest": str(result.manifest_path) if result.manifest_path else None,
        "worker": f"{os.uname().nodename} pid {os.getpid()}",
        "music_from": result.plan_summary.get("windows_from"),
        "task_s": time.perf_counter() - wall0,
        "task_cpu_s": time.process_time() - cpu0,
    }


def run_here(work: Callable, progress: ProgressFn, cancel: CancelToken, workdir: Path
             ) -> dict[str, Any]:
    return work(progress, cancel, workdir)


# ---------------------------------------------------------------- the batch


def run_batch(timelines: Sequence[Path], out_root: str | Path,
              options: ScoreOptions = ScoreOptions(), *, runner: Runner = run_here,
              parallel: int = 1, engine: str = "in-process",
              progress: BatchProgress | None = None, cancel: CancelToken | None = None,
              write_summary: bool = True, model_pools: Sequence[str] = ()) -> BatchSummary:
    """Score ``timelines`` into ``out_root/<name>/``; ``parallel`` tasks are in flight at once.

    With the Ray runner ``parallel`` tasks are in flight (twice the cluster's CPUs) and Ray
    schedules them on the CPUs; in-process they run one after another.
    A timeline that raises is recorded as failed and the rest go on; a cancel stops them all.
    ``model_pools`` name Ray actors serving the musicgen model; timelines take turns.
    """
    options = options.validated()
    out_root = Path(out_root).expanduser().resolve()
    cancel = cancel or CancelToken()
    folders = output_folders(timelines, out_root)
    outcomes = [TimelineOutcome(str(t), str(f)) for t, f in zip(timelines, folders)]
    lock = threading.Lock()
    if parallel > 1:
        # Each task measures its WAV with librosa, whose numba kernels are compiled on first use
        # and cached on disk; that cache is not safe for several processes compiling the same
        # kernel at once (a fresh install's first batch corrupted it). Compiled here, once,
        # first: the workers only load it.
        from bridge.eval.evaluate import warm_up

        warm_up()
    start = time.perf_counter()

    def one(index: int) -> None:
        outcome = outcomes[index]

        def report(stage: str, fraction: float, message: str = "") -> None:
            if progress is not None:
                progress(index, stage, fraction, message)

        pool = model_pools[index % len(model_pools)] if model_pools else None
        work = functools.partial(score_one, outcome.timeline, outcome.out_dir, options,
                                 model_pool=pool)
        t0 = time.perf_counter()
        with lock:
            outcome.status = "running"
        report("start", 0.0, "")
        try:
            values = runner(work, report, cancel, out_root)
        except CancelledError:
            status, error, values = "cancelled", "cancelled", {}
        except BridgeError as err:
            status, error, values = "failed", str(err), {}
        except Exception as err:  # a bug in one timeline's run must not stop the others
            status, error, values = "failed", f"internal error: {type(err).__name__}: {err}", {}
        else:
            status, error = "done", None
        with lock:
            for name, value in values.items():
                setattr(outcome, name, value)
            outcome.status, outcome.error = status, error
            outcome.wall_s = time.perf_counter() - t0
        report("end", 1.0, status if error is None else f"{status}: {error}")

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="batch") as pool:
        futures = [pool.submit(one, i) for i in range(len(timelines))]
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C or SIGTERM: every task stops and removes its staging
            cancel.cancel()
            for future in futures:
                future.exception()
            raise
    summary = BatchSummary(outcomes, time.perf_counter() - start, engine)
    if write_summary:
        summary.summary_path = write_summary_json(summary, out_root)
    return summary


def write_summary_json(summary: BatchSummary, out_root: Path) -> Path:
    from bridge.outputs import staged_outputs

    with staged_outputs(out_root, [SUMMARY_NAME], kind="batch") as out:
        out.path(SUMMARY_NAME).write_text(json.dumps(summary.to_json(), indent=1))
    return out.final(SUMMARY_NAME)


def summary_table(summary: BatchSummary) -> str:
    """The summary as a fixed-width text table, one line per timeline."""
    def fmt(value: float | None, pattern: str) -> str:
        return "–" if value is None else pattern.format(value)

    rows = [("timeline", "status", "length", "cuts on beat", "loudness", "time", "result")]
    for o in summary.outcomes:
        hit = ("–" if o.cut_beat_hit_rate is None
               else f"{o.cut_beat_hit_rate:.0%} of {o.cuts_counted}")
        rows.append((
            Path(o.timeline).name,
            o.status,
            fmt(o.duration_s, "{:.1f} s"),
            hit,
            fmt(o.integrated_lufs, "{:.1f} LUFS"),
            fmt(o.wall_s, "{:.1f} s"),
            o.wav if o.status == "done" else (o.error or ""),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    done = len(summary.outcomes) - len(summary.failed)
    lines.append(f"{done} of {len(summary.outcomes)} scored in {summary.wall_s:.1f} s "
                 f"({summary.engine})")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line


def add_command(subparsers) -> None:
    text = "score every timeline of folders or list files, each as a task on Ray"
    p = subparsers.add_parser("batch", help=text, description=text)
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="a folder of timelines, a list file (one path a line) or a timeline")
    p.add_argument("-o", "--out", required=True,
                   help="output folder; each timeline gets a folder named after it")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--ray", metavar="ADDRESS",
                       help="run on this Ray cluster (ray://host:10001, host:6379, auto); "
                            "default: a local Ray started and stopped by this command")
    where.add_argument("--in-process", action="store_true",
                       help="no Ray: score one after another in this process")
    p.add_argument("--num-cpus", type=int, metavar="N",
                   help="CPUs of the local Ray (default: all of this machine's)")
    p.add_argument("--retries", type=int, default=3, metavar="N",
                   help="times a task is retried when its worker is lost (default 3)")
    p.add_argument("--json", metavar="FILE",
                   help="also write the summary here (it is always written as OUT/batch.json)")
    p.add_argument("--style", help="style preset for all (default: chosen per timeline)")
    p.add_argument("--seed", type=int, help="take number (default 0)")
    p.add_argument("--stems", action="store_true", default=None, help="also write stems")
    p.add_argument("--duck", dest="duck_db", type=float, help="lower music under dialogue by DB")
    p.add_argument("--soundfont", type=Path, help=".sf2/.sf3 file (default: system GM SoundFont)")
    p.add_argument("--markers", help="sections | peaks | every:N (default sections)")
    p.add_argument("--sample-rate", type=int, help="of the WAVs, Hz (default 48000)")
    p.add_argument("--fresh", action="store_true", default=None,
                   help="compose anew even where a timeline's folder holds an earlier version "
                        "(default: re-score it, keeping the music of what the cut kept)")
    add_backend_arguments(p)
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    """Exit 0 when every timeline was scored, 1 when some failed (the table says which)."""
    changes = {k: v for k in ("style", "seed", "stems", "duck_db", "soundfont", "markers",
                              "sample_rate", "fresh")
               if (v := getattr(args, k, None)) is not None}
    changes.update(backend_option_changes(args))
    options = ScoreOptions().with_(**changes).validated()
    if args.retries < 0:
        raise InvalidOptionError("must be 0 or more", field="retries")
    timelines = collect_timelines(args.sources)
    with _status_display(timelines, enabled=not args.quiet) as show:
        if args.in_process:
            summary = run_batch(timelines, args.out, options, progress=show)
        else:
            summary = _run_on_ray(timelines, args, options, show)
    print(summary_table(summary))
    if summary.summary_path is not None:
        print(f"wrote {summary.summary_path}")
    if args.json:
        from bridge.outputs import write_text_atomic

        target = Path(args.json)
        if target.exists():
            raise BridgeError("not replacing this: it already exists", path=target)
        write_text_atomic(target, json.dumps(summary.to_json(), indent=1))
        print(f"wrote {target}")
    return 1 if summary.failed else 0


def _run_on_ray(timelines: Sequence[Path], args: argparse.Namespace, options: ScoreOptions,
                show: BatchProgress) -> BatchSummary:
    from bridge.cluster import ray_session, run_on_ray

    if args.num_cpus is not None and args.num_cpus < 1:
        raise InvalidOptionError("must be at least 1", field="num_cpus")
    started = time.perf_counter()
    with ray_session(args.ray, num_cpus=args.num_cpus) as resources:
        ray_start_s = time.perf_counter() - started
        runner = functools.partial(run_on_ray, max_retries=args.retries)
        pools = _model_pools(options, resources)
        cpus = int(resources.get("CPU", 0))
        # Twice the CPUs in flight keeps every CPU busy while a task's result comes back,
        # without a driver thread per timeline of a whole season.
        in_flight = min(len(timelines), max(2, 2 * cpus))
        summary = run_batch(timelines, args.out, options, runner=runner,
                            parallel=in_flight, engine=f"ray ({cpus} CPUs)",
                            progress=show, write_summary=False,
                            model_pools=[pool.name for pool in pools])
        # how often each pool loaded its model (once) and served a task
        summary.extra["model_pools"] = [{"name": pool.name, **pool.stats()} for pool in pools]
        for pool in pools:
            pool.close()
    summary.wall_s = time.perf_counter() - started  # Ray's start-up counts
    summary.extra["ray_start_s"] = round(ray_start_s, 3)
    summary.summary_path = write_summary_json(summary, Path(args.out).expanduser().resolve())
    return summary


def _model_pools(options: ScoreOptions, resources: dict[str, float]) -> list:
    """Ray actors that hold the neural music model, one per GPU, for every task to share."""
    if options.music_backend != "musicgen":
        return []
    from bridge.cluster import musicgen_pools
    from bridge.music import music_backends
    from bridge.music.musicgen import MODEL_ENV
    from bridge.pipeline import backend_options

    raw = backend_options(options)["music"]
    music_backends.create("musicgen", **raw)  # a missing model or torch: one line, here
    parsed = music_backends.parse_options("musicgen", raw)
    parsed["model"] = parsed.get("model") or os.environ.get(MODEL_ENV)
    return musicgen_pools(parsed, resources)


class _status_display:
    """One overall bar and one status line per timeline, on stderr (rich); or nothing."""

    def __init__(self, timelines: Sequence[Path], *, enabled: bool) -> None:
        self.timelines, self.enabled = timelines, enabled
        self._lock = threading.Lock()

    def __enter__(self) -> BatchProgress:
        if not self.enabled:
            return lambda index, stage, fraction, message: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bars = Progress(TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(),
                             TextColumn("{task.fields[status]}"),
                             console=Console(stderr=True))
        self.overall = self.bars.add_task("all", total=len(self.timelines), status="")
        self.lines = [self.bars.add_task(t.name[:28], total=None, status="queued")
                      for t in self.timelines]
        self.bars.__enter__()

        def show(index: int, stage: str, fraction: float, message: str) -> None:
            with self._lock:
                if stage == "end":
                    self.bars.update(self.lines[index], total=1, completed=1, status=message)
                    self.bars.advance(self.overall)
                elif stage != "start":
                    line = f"{stage} {fraction:.0%} {message}"[:60]
                    self.bars.update(self.lines[index], status=line)

        return show

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bars.__exit__(*exc)
