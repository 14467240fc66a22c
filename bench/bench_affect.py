"""Speed of the heuristic affect step on a generated 1080p H.264 file (not a test).

    .venv/bin/python -m bench.bench_affect --minutes 2

Reports seconds of video analysed per second of wall time, and how much of the wall time
is spent inside ``bridge.media.sample_frames`` (decoding and scaling) and
``decode_audio`` versus the features and the estimator. Adds an entry per configuration
to bench/results/affect.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

from bridge import media
from bridge.affect import estimate_affect
from bridge.analysis.picture import observe_picture
from bridge.analysis.sound import observe_sound
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.types import Clip, Cut, Edit

RESULTS = Path(__file__).parent / "results" / "affect.json"
SCENE_S = 10.0


def scenes(minutes: float) -> list[SceneSpec]:
    """Alternating still and busy scenes, with sound, for ``minutes`` of video."""
    out = []
    for i in range(round(minutes * 60 / SCENE_S)):
        busy = i % 2 == 1
        out.append(SceneSpec(SCENE_S, background=(40 + 20 * (i % 7), 60, 160 - 15 * (i % 5)),
                             shapes=8 if busy else 0, speed_px_s=600.0 if busy else 0.0,
                             shape_size_px=120, audio="noise" if busy else "tone",
                             level_dbfs=-12.0 if busy else -30.0))
    return out


def make_file(minutes: float, *, rate: Fraction, gop: int | None) -> tuple[Path, list[float]]:
    folder = Path(tempfile.gettempdir()) / "scorebridge_bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"affect_{minutes:g}min_1080p_{rate}fps_gop{gop}.mp4"
    specs = scenes(minutes)
    cuts = [SCENE_S * i for i in range(1, len(specs))]
    if not path.exists():
        t0 = time.perf_counter()
        cuts = encode_scenes(path, specs, width=1920, height=1080, rate=rate, gop=gop)
        print(f"encoded {path.name} in {time.perf_counter() - t0:.1f} s")
    return path, cuts


def edit_for(path: Path, cuts: list[float], duration_s: float, rate: Fraction) -> Edit:
    bounds = [0.0, *cuts, duration_s]
    shots = tuple(Clip(name=f"shot {i}", kind="video", record_start_s=a, record_end_s=b,
                       media_path=path, media_start_s=a)
                  for i, (a, b) in enumerate(pairwise(bounds)))
    sound = Clip(name="sound", kind="audio", record_start_s=0.0, record_end_s=duration_s,
                 media_path=path, media_start_s=0.0)
    return Edit(name="bench", source_path=path.with_suffix(".otio"), rate=rate,
                drop_frame=False, start_timecode="00:00:00:00", start_frame=0,
                duration_frames=round(duration_s * rate), shots=shots, audio_clips=(sound,))


class Timed:
    """Wraps a media function and adds up the wall time spent inside it."""

    def __init__(self, fn):
        self.fn, self.seconds, self.calls = fn, 0.0, 0

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--rate-hz", type=float, default=2.0)
    parser.add_argument("--gop", type=int, default=None, help="keyframe interval in frames")
    args = parser.parse_args()
    rate = Fraction(25)
    duration_s = args.minutes * 60
    path, cuts = make_file(args.minutes, rate=rate, gop=args.gop)
    edit = edit_for(path, cuts, duration_s, rate)

    frames, audio = Timed(media.sample_frames), Timed(media.decode_audio)
    media.sample_frames, media.decode_audio = frames, audio  # observe looks them up per call
    try:
        t0 = time.perf_counter()
        picture = observe_picture(edit, rate_hz=args.rate_hz)
        curve, _ = estimate_affect(edit, tuple(Cut(t, "edit") for t in cuts), picture=picture,
                                   sound=observe_sound(edit), rate_hz=args.rate_hz)
        wall_s = time.perf_counter() - t0
    finally:
        media.sample_frames, media.decode_audio = frames.fn, audio.fn

    # baseline in the same run: every frame decoded (at the same 160 px), in 10 s pieces
    t0 = time.perf_counter()
    decoded = 0
    for a in range(0, int(duration_s), 10):
        decoded += len(media.frames_between(path, float(a), min(a + 10.0, duration_s)))
    full_s = time.perf_counter() - t0

    result = {
        "file": path.name,
        "video_s": duration_s,
        "size": "1920x1080",
        "fps": float(rate),
        "gop_frames": args.gop or 250,
        "rate_hz": args.rate_hz,
        "wall_s": round(wall_s, 3),
        "speed_x_realtime": round(duration_s / wall_s, 2),
        "sample_frames_s": round(frames.seconds, 3),
        "decode_audio_s": round(audio.seconds, 3),
        "rest_s": round(wall_s - frames.seconds - audio.seconds, 3),
        "sample_frames_share": round(frames.seconds / wall_s, 3),
        "full_decode_s": round(full_s, 3),
        "full_decode_frames": decoded,
        "full_decode_x_realtime": round(duration_s / full_s, 2),
        "hops": len(curve),
        "cpu_count": os.cpu_count(),
        "note": "shared machine: other engineers' tests were running at the same time",
    }
    # one entry per configuration, so runs with another length or GOP sit side by side
    runs = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if not isinstance(runs, dict) or "file" in runs:
        runs = {}
    runs[f"{args.minutes:g}min_gop{result['gop_frames']}_{args.rate_hz:g}hz"] = result
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(runs, indent=1) + "\n")
    os.replace(tmp, RESULTS)
    print(f"affect: {duration_s:.0f} s of 1080p in {wall_s:.1f} s = "
          f"{result['speed_x_realtime']}x real time; sample_frames {frames.seconds:.1f} s "
          f"({100 * result['sample_frames_share']:.0f} %), decode_audio {audio.seconds:.1f} s, "
          f"rest {result['rest_s']:.1f} s; decoding every frame: {full_s:.1f} s "
          f"({result['full_decode_x_realtime']}x real time)")


if __name__ == "__main__":
    main()
