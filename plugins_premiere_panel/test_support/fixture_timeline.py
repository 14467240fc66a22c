"""Builds the tiny fixture cut both plugin test suites score (Resolve in pytest, Premiere
in node): three solid-colour scenes, 160x90 at 24 fps, 6 s, as OTIO and FCP 7 XML.

    .venv/bin/python plugins_premiere_panel/test_support/fixture_timeline.py OUT_DIR

prints a JSON object: {"otio": path, "xml": path, "rate": 24, "frames": n}.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

RATE = Fraction(24)
START_TIMECODE = "01:00:00:00"  # a real-world start: 86400 frames at 24 fps


def build(folder: str | Path) -> dict:
    from bridge.media.synth import SceneSpec, encode_scenes
    from bridge.timeline.build import ShotSpec, write_timeline

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "scenes.mp4"
    if not media.exists():
        encode_scenes(
            media,
            [
                SceneSpec(2.0, background=(30, 40, 160), audio="tone", tone_hz=220),
                SceneSpec(2.0, background=(220, 40, 30), shapes=3, speed_px_s=120,
                          audio="noise"),
                SceneSpec(2.0, background=(240, 200, 60), flash_at_s=0.5, audio="tone"),
            ],
            width=160, height=90, rate=RATE,
        )
    shots = [
        ShotSpec(media, seconds=2.0, media_start_s=0.0, name="blue"),
        ShotSpec(media, seconds=2.0, media_start_s=2.0, name="red"),
        ShotSpec(media, seconds=2.0, media_start_s=4.0, name="yellow"),
    ]
    paths = {}
    for ext in ("otio", "xml"):
        paths[ext] = str(write_timeline(folder / f"cut.{ext}", name="fixture cut", rate=RATE,
                                        shots=shots, start_timecode=START_TIMECODE))
    return {**paths, "rate": int(RATE), "frames": 6 * int(RATE)}


if __name__ == "__main__":
    print(json.dumps(build(sys.argv[1])))
