"""Cut localisation: bisection against the every-frame scan, on the same media, one run.

    .venv/bin/python -m bench.bench_cuts [--minutes 10]

Analyses the bench story timeline's picture once (bench/timelines.py: 1080p25 H.264,
GOP 25), then runs the detection of cuts inside shots twice back to back over that same
picture pass: with the bisecting localiser (``find_change``: few frames converted,
decoding stops at the change) and with the full scan of every frame in the candidate
interval (``frames_between``), the way it was done before. Both must find the same cuts.
In the same run it measures the keyframe-only decode of the media the timeline shows
(``ffmpeg -skip_frame nokey``, one thread) and the whole analysis (picture, cuts, affect),
and reports CPU seconds and their ratios (the analysis with an empty analysis cache).
Writes bench/results/cuts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import bridge.analysis.cuts as cuts_module
from bench.clock import timed
from bench.timelines import CACHE, ensure_sources, ensure_timeline, media_seconds_used
from bridge.analysis.picture import observe_picture
from bridge.media import probe
from bridge.pipeline import analyze_timeline
from bridge.timeline import read_edit

RESULTS = Path(__file__).resolve().parent / "results" / "cuts.json"




def keyframe_decode_cpu_s(minutes: float) -> float | None:
    """CPU seconds of a one-thread keyframe-only decode of the media the timeline shows."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    total = 0.0
    for name, shown_s in media_seconds_used(minutes).items():
        path = CACHE / "sources" / name
        _, _, cpu = timed(lambda p=path: subprocess.run(
            [ffmpeg, "-v", "error", "-threads", "1", "-skip_frame", "nokey", "-i", str(p),
             "-an", "-f", "null", "-"], check=True))
        total += cpu * shown_s / probe(path).duration_s
    return round(total, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args(argv)
    ensure_sources()
    timeline = ensure_timeline(args.minutes)
    edit = read_edit(timeline)
    picture, _, picture_cpu = timed(lambda: observe_picture(edit))

    results = {}
    # "bisection": a clean one-frame cut is found by the quick look (`_clean_cut`) before the
    # full look at every frame of its interval; "every_frame": the full look only.
    for name, quick in (("bisection", cuts_module._clean_cut),
                        ("every_frame", lambda *args: None)):
        original = cuts_module._clean_cut
        cuts_module._clean_cut = quick
        try:
            found, wall, cpu = timed(lambda: cuts_module.find_cuts(edit, picture=picture))
        finally:
            cuts_module._clean_cut = original
        results[name] = {"cpu_s": cpu, "wall_s": wall,
                         "detected": [round(c.time_s, 4) for c in found if c.kind == "detected"]}
    same = results["bisection"]["detected"] == results["every_frame"]["detected"]
    with tempfile.TemporaryDirectory(prefix="bench_cache_") as cache:
        os.environ["SCOREBRIDGE_CACHE_DIR"] = cache  # a first analysis: nothing cached
        _, analysis_wall, analysis_cpu = timed(lambda: analyze_timeline(timeline))
    keyframes_cpu = keyframe_decode_cpu_s(args.minutes)
    report = {
        "timeline": timeline.name,
        "minutes": args.minutes,
        "detected_cuts": len(results["bisection"]["detected"]),
        "same_cuts": same,
        "picture_pass_cpu_s": picture_cpu,
        "localise": {k: {"cpu_s": v["cpu_s"], "wall_s": v["wall_s"]} for k, v in results.items()},
        "every_frame_over_bisection_cpu": round(
            results["every_frame"]["cpu_s"] / max(results["bisection"]["cpu_s"], 1e-9), 2),
        "analysis_cpu_s": analysis_cpu,
        "analysis_wall_s": analysis_wall,
        "keyframe_only_decode_cpu_s": keyframes_cpu,
        "analysis_cpu_over_keyframe_decode": None if not keyframes_cpu
        else round(analysis_cpu / keyframes_cpu, 2),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
