"""Render benchmark: speed (x real time) and peak memory of `bridge.music.render_arrangement`
(synthesis + finishing stage).

    .venv/bin/python -m bench.bench_render --minutes 10 60 [--stems]

Each length runs in its own child process so ``ru_maxrss`` is that render's peak alone.
The arrangement is dense and synthetic: pads, bass, melody, an arpeggio texture and a
16th-note drum kit at 120 bpm (about 30 notes a second). Results are merged into
bench/results/render.json. The machine may be shared: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bridge.music import render_arrangement
from bridge.types import Arrangement, Note, Track

RESULTS = Path(__file__).parent / "results" / "render.json"
SR = 48_000


def dense_arrangement(seconds: float) -> Arrangement:
    """Five roles at 120 bpm over a four-chord loop; deterministic."""
    chords = [[48, 52, 55, 59], [45, 48, 52, 55], [41, 45, 48, 52], [43, 47, 50, 53]]
    rng = np.random.default_rng(0)
    pads, bass, melody, texture, drums = [], [], [], [], []
    for bar in range(int(seconds // 2)):
        t0 = bar * 2.0
        chord = chords[bar % 4]
        pads += [Note(t0, t0 + 2.0, p + 12, 70) for p in chord]
        bass += [Note(t0 + k * 0.25, t0 + k * 0.25 + 0.2, chord[k % 2] - 12, 100) for k in range(8)]
        melody += [
            Note(t0 + k * 0.25, t0 + k * 0.25 + 0.22, int(rng.choice(chord)) + 24, 90)
            for k in range(8)
        ]
        texture += [
            Note(t0 + k * 0.125, t0 + k * 0.125 + 0.1, chord[k % 4] + 36, 60) for k in range(16)
        ]
        for k in range(16):
            t = t0 + k * 0.125
            drums.append(Note(t, t + 0.05, 42, 70))
            if k % 4 == 0:
                drums.append(Note(t, t + 0.1, 36 if k % 8 == 0 else 38, 110))
    return Arrangement(
        seconds,
        np.arange(0.0, seconds, 0.5),
        (
            Track("pads", 48, False, tuple(pads)),
            Track("bass", 33, False, tuple(bass)),
            Track("melody", 73, False, tuple(melody)),
            Track("texture", 11, False, tuple(texture)),
            Track("drums", 0, True, tuple(drums)),
        ),
    )


def run_one(minutes: float, stems: bool) -> dict:
    seconds = minutes * 60
    arrangement = dense_arrangement(seconds)
    notes = sum(len(t.notes) for t in arrangement.tracks)
    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(dir=RESULTS.parent) as folder:
        out = Path(folder) / "score.wav"
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = render_arrangement(
            arrangement,
            out_path=out,
            n_samples=round(seconds * SR),
            stems_dir=Path(folder) / "stems" if stems else None,
        )
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        size_mb = out.stat().st_size / 2**20
    return {
        "minutes": minutes,
        "stems": stems,
        "roles": len(arrangement.tracks),
        "notes": notes,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "x_real_time": round(seconds / wall, 2),
        "x_real_time_cpu": round(seconds / cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_render_mb": round(rss_before_mb, 1),
        "wav_mb": round(size_mb, 1),
        "integrated_lufs": round(result.integrated_lufs, 2),
        "true_peak_dbtp": round(result.true_peak_dbtp, 2),
        "limiter_db": round(result.limiter_db, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0])
    parser.add_argument("--stems", action="store_true", help="also write one WAV per role")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.child:  # one length, measured in this fresh process
        print(json.dumps(run_one(args.minutes[0], args.stems)))
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs = {r["minutes"]: r for r in results.get("runs", []) if r.get("stems") == args.stems}
    others = [r for r in results.get("runs", []) if r.get("stems") != args.stems]
    for minutes in args.minutes:
        command = [sys.executable, "-m", "bench.bench_render", "--child", "--minutes", str(minutes)]
        child = subprocess.run(
            command + (["--stems"] if args.stems else []),
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        run = json.loads(child.stdout.strip().splitlines()[-1])
        runs[minutes] = run
        print(json.dumps(run))
    results = {
        "machine": f"{platform.machine()} {platform.processor() or ''} shared 2-core".strip(),
        "note": "wall time depends on other jobs on a shared machine; cpu_s is steadier",
        "runs": sorted(others + list(runs.values()), key=lambda r: (r["stems"], r["minutes"])),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
