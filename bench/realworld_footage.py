"""Cuts and arousal-following on the real videos in ../shared/realworld/videos, one run.

    .venv/bin/python -m bench.realworld_footage [--psd-python /tmp/psd-venv/bin/python]
                                                [--score] [--out bench/results/realworld.json]

Per video: our hard cuts against ``*.truth.json`` (F1 with a match within one frame), the
fades and dissolves found, and CPU seconds of ``find_cuts`` run on its own (decode pass
included). With ``--psd-python``, PySceneDetect's ContentDetector on the same file in a
separate interpreter (``bench/psd_cuts.py``; scenedetect is not a dependency). With
``--score``, videos of 20 s or more are scored and the rendered music's measured intensity
compared with the target arousal (Pearson r, CCC).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bridge.eval.metrics import cut_f1

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "videos"
MIN_SCORE_S = 20.0


def measure(video: Path, work: Path, *, psd_python: str | None, score: bool) -> dict:
    from bridge.analysis.cuts import find_cuts
    from bridge.analysis.picture import observe_picture
    from bridge.config import ScoreOptions
    from bridge.media import probe
    from bridge.pipeline import score_timeline
    from bridge.quality.report import evaluate_timeline_audio
    from bridge.timeline import ShotSpec, read_edit, write_timeline
    from bridge.timeline.formats import rate_fraction

    info = probe(video)
    rate = rate_fraction(info.fps)
    frame_s = 1 / float(rate)
    timeline = write_timeline(
        work / f"{video.stem}.otio", name=video.stem, rate=rate,
        shots=[ShotSpec(video, frames=int(info.duration_s * rate),
                        media_duration_s=info.duration_s)],
    )
    edit = read_edit(timeline)
    start = time.process_time()
    cuts = find_cuts(edit, picture=observe_picture(edit))  # the decode pass included
    row: dict = {"video": video.name, "duration_s": round(info.duration_s, 3),
                 "fps": round(float(rate), 3), "ours_cpu_s": round(time.process_time() - start, 3),
                 "ours_cuts_s": [round(c.time_s, 4) for c in cuts if not c.is_gradual],
                 "ours_transitions": [(c.kind, round(c.start_s, 3), round(c.end_s, 3))
                                      for c in cuts if c.is_gradual]}
    truth_path = video.with_name(video.name + ".truth.json")
    truth = json.loads(truth_path.read_text())["cuts_s"] if truth_path.exists() else None
    if truth is not None:
        row["truth_s"] = truth
        row["ours_f1"] = round(cut_f1(row["ours_cuts_s"], truth, tol_s=frame_s + 1e-6)["f1"], 3)
    if psd_python:
        out = subprocess.run([psd_python, str(Path(__file__).with_name("psd_cuts.py")),
                              str(video)], capture_output=True, text=True, check=True)
        psd = json.loads(out.stdout.strip().splitlines()[-1])
        row["psd_cpu_s"] = round(psd["cpu_s"], 3)
        row["psd_cuts_s"] = [round(t, 4) for t in psd["cuts_s"]]
        if truth is not None:
            row["psd_f1"] = round(cut_f1(psd["cuts_s"], truth, tol_s=frame_s + 1e-6)["f1"], 3)
    if score and info.duration_s >= MIN_SCORE_S:
        result = score_timeline(timeline, work / video.stem, ScoreOptions())
        report = evaluate_timeline_audio(result.analysis, result.wav_path)
        row["arousal_r"] = round(report.arousal_pearson, 3)
        row["arousal_ccc"] = round(report.arousal_ccc, 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psd-python", help="an interpreter that has scenedetect")
    parser.add_argument("--score", action="store_true", help="also score and measure r")
    parser.add_argument("--out", type=Path, help="write the rows as JSON")
    args = parser.parse_args(argv)
    if not VIDEOS.is_dir():
        print(f"no real-world videos at {VIDEOS}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for video in sorted(p for p in VIDEOS.glob("psd__*") if p.suffix in (".mp4", ".mkv")):
            row = measure(video, Path(tmp), psd_python=args.psd_python, score=args.score)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
