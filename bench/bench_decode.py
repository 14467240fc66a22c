"""Decode speed: our sampler and cut finder against ffmpeg and PyAV full decodes, one run.

    .venv/bin/python -m bench.bench_decode --minutes 2

Encodes (once, cached under bench/.cache/) a 1080p25 H.264 file of N minutes with scene
cuts and moving shapes, then times on that file: ``ffmpeg -i FILE -f null -``, PyAV
decoding every frame, ``sample_frames`` at 2 Hz over the whole file (each read plan), and
``find_cuts`` on a one-shot Edit. Prints seconds and ratios; writes bench/results/decode.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from bench.clock import cpu_s
from bridge.analysis.cuts import find_cuts
from bridge.analysis.picture import observe_picture
from bridge.media import probe, sample_frames
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.types import Clip, Edit

HERE = Path(__file__).resolve().parent
RATE = Fraction(25)


def bench_file(minutes: float, gop: int, preset: str) -> tuple[Path, list[float]]:
    """The cached benchmark file and its cut times (encoding it on first use)."""
    cache = HERE / ".cache"
    cache.mkdir(exist_ok=True)
    path = cache / f"hd_{minutes:g}min_gop{gop}_{preset}.mp4"
    cuts_json = path.with_suffix(".cuts.json")
    if path.exists() and cuts_json.exists():
        return path, json.loads(cuts_json.read_text())
    rng = np.random.default_rng(5)
    scenes, total = [], 0.0
    while total < minutes * 60 - 1e-9:
        d = float(min(rng.uniform(2.0, 9.0), minutes * 60 - total))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        scenes.append(SceneSpec(d, colour, shapes=4, speed_px_s=float(rng.uniform(50, 300)),
                                shape_size_px=120, audio="tone"))
        total += d
    t0 = time.perf_counter()
    cuts = encode_scenes(path, scenes, width=1920, height=1080, rate=RATE, gop=gop,
                         preset=preset)
    print(f"encoded {path.name} in {time.perf_counter() - t0:.1f} s")
    tmp = cuts_json.with_suffix(".tmp")
    tmp.write_text(json.dumps(cuts))
    os.replace(tmp, cuts_json)
    return path, cuts


CPU: dict[str, float] = {}


def timed(fn, name: str) -> tuple[float, object]:
    """Wall seconds of fn(); its CPU seconds (this process and children) go to CPU[name]."""
    c0, t0 = cpu_s(), time.perf_counter()
    result = fn()
    CPU[name] = cpu_s() - c0
    return time.perf_counter() - t0, result


def pyav_every_frame(path: Path) -> int:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in c.decode(stream))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--gop", type=int, default=25, help="keyframe interval in frames")
    parser.add_argument("--preset", default="veryfast", help="x264 preset for the test file")
    args = parser.parse_args()

    path, encoded_cuts = bench_file(args.minutes, args.gop, args.preset)
    info = probe(path)
    secs: dict[str, float] = {}
    secs["ffmpeg_null"], _ = timed(lambda: subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], check=True), "ffmpeg_null")
    secs["pyav_every_frame"], n_frames = timed(lambda: pyav_every_frame(path), "pyav_every_frame")
    counts = {}
    for strategy in ("auto", "sequential", "seek"):
        secs[f"sample_2hz_{strategy}"], samples = timed(lambda s=strategy: sample_frames(
            path, 0.0, info.duration_s, rate_hz=2.0, strategy=s), f"sample_2hz_{strategy}")
        counts[strategy] = len(samples)
    edit = Edit("bench", path, RATE, False, "00:00:00:00", 0, round(info.duration_s * 25),
                shots=(Clip("one", "video", 0.0, info.duration_s, path, 0.0),))
    secs["find_cuts"], cuts = timed(
        lambda: find_cuts(edit, picture=observe_picture(edit)), "find_cuts")
    found = np.array([c.time_s for c in cuts])
    errors = [float(np.min(np.abs(found - t))) if len(found) else None for t in encoded_cuts]

    # CPU seconds are the fair measure on a shared machine; wall seconds are reported too
    ours = CPU["sample_2hz_auto"]
    ratios = {
        "cpu_ffmpeg_null_over_sample_2hz": CPU["ffmpeg_null"] / ours,
        "cpu_pyav_every_frame_over_sample_2hz": CPU["pyav_every_frame"] / ours,
        "cpu_sequential_over_auto": CPU["sample_2hz_sequential"] / ours,
        "cpu_seek_over_auto": CPU["sample_2hz_seek"] / ours,
        "cpu_ffmpeg_null_over_find_cuts": CPU["ffmpeg_null"] / CPU["find_cuts"],
        "wall_ffmpeg_null_over_sample_2hz": secs["ffmpeg_null"] / secs["sample_2hz_auto"],
        "wall_pyav_every_frame_over_sample_2hz": secs["pyav_every_frame"]
        / secs["sample_2hz_auto"],
    }
    report = {
        "file": path.name, "duration_s": info.duration_s, "size": [info.width, info.height],
        "gop_frames": args.gop, "preset": args.preset, "frames": n_frames,
        "wall_seconds": secs, "cpu_seconds": CPU, "ratios": ratios, "samples": counts,
        "cuts": {"encoded": len(encoded_cuts), "found": len(cuts),
                 "max_error_s": max((e for e in errors if e is not None), default=None)},
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, shared with other jobs",
    }
    for name, s in secs.items():
        print(f"{name:24s} wall {s:7.2f} s  cpu {CPU[name]:7.2f} s  "
              f"({info.duration_s / CPU[name]:6.1f}x real time per CPU second)")
    for name, r in ratios.items():
        print(f"{name:36s} {r:6.2f}")
    print(f"cuts: {len(cuts)} found / {len(encoded_cuts)} encoded, "
          f"max error {report['cuts']['max_error_s']}")
    out = HERE / "results" / "decode.json"
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
