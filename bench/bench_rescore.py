"""Re-score after a one-shot trim vs scoring from scratch, on a bench story timeline.

    .venv/bin/python -m bench.bench_rescore --minutes 10

In one run on the same machine: (1) a full score of the timeline with an empty analysis
cache (what the editor waited for the first time), (2) the recut (one shot in the middle
trimmed by 2 s) re-scored into the same folder, (3) the recut scored ``--fresh`` with the
cache warm (composition and rendering of everything, analysis from the cache). Reports wall
and CPU seconds, the ratios, the seconds of audio rendered again, and the share of the new
WAV's samples identical to the previous version (outside the changed region: before it
unshifted, after it shifted by the trim).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile

from bench.timelines import RATE, ensure_sources, ensure_timeline, story_shots
from bridge import ScoreOptions, score_timeline
from bridge.timeline.build import write_timeline

TRIM_FRAMES = 50  # 2 s at 25 fps


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn):
    w, c = time.perf_counter(), cpu_s()
    result = fn()
    return result, time.perf_counter() - w, cpu_s() - c


def recut_timeline(minutes: float, folder: Path) -> tuple[Path, int]:
    """The bench timeline with its middle shot 2 s shorter; (path, trimmed shot index)."""
    shots, dissolves, markers = story_shots(minutes)
    k = len(shots) // 2
    shots = list(shots)
    shots[k] = replace(shots[k], frames=shots[k].frames - TRIM_FRAMES)
    trim_end_s = float(sum(s.frames for s in shots[: k + 1]) / RATE)
    markers = [replace(m, start_s=m.start_s - TRIM_FRAMES / RATE) if m.start_s >= trim_end_s
               else m for m in markers]
    audio = [replace(s, name=f"{s.name} sound") for s in shots]  # sync sound, as the bench's
    path = write_timeline(folder / f"recut{minutes:g}.otio", name=f"recut {minutes:g} min",
                          rate=RATE, shots=shots, dissolves=dissolves, markers=markers,
                          audio=audio)
    return path, k


def identical_share(old: Path, new: Path, shift: int) -> tuple[float, float, float]:
    """(share identical, first differing s, last differing s) of the new WAV."""
    a, sr = soundfile.read(old, dtype="int32")
    b, _ = soundfile.read(new, dtype="int32")
    n = min(len(a), len(b))
    head = np.flatnonzero(np.any(a[:n] != b[:n], axis=1))
    first = int(head[0]) if len(head) else n
    tail_a, tail_b = a[shift:], b
    m = min(len(tail_a), len(tail_b))
    tail = np.flatnonzero(np.any(tail_a[len(tail_a) - m:] != tail_b[len(tail_b) - m:], axis=1))
    last = len(b) - m + (int(tail[-1]) + 1 if len(tail) else 0)
    changed = max(0, last - first)
    return 1 - changed / len(b), first / sr, last / sr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results"
                        / "bench_rescore.json")
    args = parser.parse_args(argv)
    ensure_sources()
    original = ensure_timeline(args.minutes)
    work = Path(tempfile.mkdtemp(prefix="bench-rescore-"))
    os.environ["SCOREBRIDGE_CACHE_DIR"] = str(work / "cache")
    try:
        recut, k = recut_timeline(args.minutes, work)
        options = ScoreOptions(style="cinematic-orchestral")
        out = work / "out"
        full, full_wall, full_cpu = timed(lambda: score_timeline(original, out, options))
        old_wav = work / "first.wav"
        shutil.copy(full.wav_path, old_wav)
        again, re_wall, re_cpu = timed(lambda: score_timeline(recut, out, options))
        fresh, fresh_wall, fresh_cpu = timed(
            lambda: score_timeline(recut, work / "fresh", options.with_(fresh=True)))
        summary = again.plan_summary.get("rescore", {})
        share, first_s, last_s = identical_share(old_wav, again.wav_path,
                                                 shift=round(TRIM_FRAMES / RATE * 48_000))
        report = {
            "minutes": args.minutes,
            "trimmed_shot": k,
            "full_score": {"wall_s": round(full_wall, 2), "cpu_s": round(full_cpu, 2)},
            "rescore": {"wall_s": round(re_wall, 2), "cpu_s": round(re_cpu, 2),
                        "rendered_s": summary.get("rendered_s"),
                        "kept_s": summary.get("kept_s"), "diff": summary.get("diff"),
                        "pieces": summary.get("pieces")},
            "fresh_with_warm_cache": {"wall_s": round(fresh_wall, 2),
                                      "cpu_s": round(fresh_cpu, 2)},
            "rescore_over_full": {"wall": round(re_wall / full_wall, 4),
                                  "cpu": round(re_cpu / full_cpu, 4)},
            "rescore_over_fresh_warm": {"wall": round(re_wall / fresh_wall, 4),
                                        "cpu": round(re_cpu / fresh_cpu, 4)},
            "identical_samples": {"share": round(share, 6), "changed_from_s": round(first_s, 3),
                                  "changed_to_s": round(last_s, 3)},
        }
        del fresh
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
