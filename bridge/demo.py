"""`make demo`: generate a short film with a story arc, then score it end to end.

The film (~62 s at 23.976 fps, starting at 01:00:00:00) is made by the synthetic encoder:
a calm dark opening, a build-up whose motion speeds up, a chase cut fast inside ONE long
source clip (so cut detection has work to do), and a warm resolution entered through a
cross-dissolve. A speech-like dialogue clip sits under the opening (the music ducks under
it) and an editor's marker asks for "mood: hopeful" over the ending.

    python -m bridge.demo OUTDIR [--seed N] [--style NAME] [--analyze-only]
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from bridge.media.synth import SceneSpec, encode_audio, encode_scenes
from bridge.timeline.build import ShotSpec, write_timeline
from bridge.types import TimelineMarker

DEMO_RATE = Fraction(24000, 1001)
NIGHT = (18, 24, 70)
DUSK = (70, 40, 110)
TEAL = (20, 110, 120)
REDS = [(230, 40, 30), (250, 120, 20), (240, 200, 40), (210, 20, 60), (255, 80, 40), (250, 150, 30)]
GOLD = (235, 180, 90)


def make_demo_media(folder: Path, *, width: int = 320, height: int = 180) -> dict[str, Path]:
    """Encode the demo's source clips into `folder` (skipping files already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {
        "night.mp4": [
            SceneSpec(8.0, background=NIGHT, shapes=1, speed_px_s=6, audio="tone",
                      tone_hz=110, level_dbfs=-40),
            SceneSpec(8.0, background=DUSK, shapes=2, speed_px_s=15, audio="tone",
                      tone_hz=165, level_dbfs=-36),
        ],
        "rise.mp4": [
            SceneSpec(16.0, background=TEAL, shapes=4, speed_px_s=30, speed_end_px_s=260,
                      audio="noise", level_dbfs=-26),
        ],
        "chase.mp4": [
            SceneSpec(d, background=c, shapes=6, speed_px_s=420, shape_color=(20, 20, 20),
                      audio="noise", level_dbfs=-9)
            for d, c in zip([2.6, 1.9, 3.1, 2.2, 2.8, 2.4], REDS)
        ],
        "dawn.mp4": [
            SceneSpec(16.0, background=GOLD, shapes=2, speed_px_s=12, audio="tone",
                      tone_hz=220, level_dbfs=-34),
        ],
    }
    paths = {}
    for name, scenes in sources.items():
        path = folder / name
        if not path.exists():
            encode_scenes(path, scenes, width=width, height=height, rate=DEMO_RATE)
        paths[name] = path
    voice = folder / "voice.wav"
    if not voice.exists():
        encode_audio(voice, [SceneSpec(9.0, audio="speech", level_dbfs=-14)])
    paths["voice.wav"] = voice
    return paths


def make_demo_timeline(folder: str | Path) -> Path:
    """Write media and `demo.otio` into `folder`; return the timeline path."""
    folder = Path(folder)
    media = make_demo_media(folder / "media")
    shots = [
        ShotSpec(media["night.mp4"], seconds=8.0, name="Night exterior"),
        ShotSpec(media["night.mp4"], seconds=8.0, media_start_s=8.0, name="Dusk window"),
        ShotSpec(media["rise.mp4"], seconds=7.0, name="Pursuit begins"),
        ShotSpec(media["rise.mp4"], seconds=9.0, media_start_s=7.0, name="Closing in"),
        ShotSpec(media["chase.mp4"], seconds=15.0, name="Chase (one take)"),
        ShotSpec(media["dawn.mp4"], seconds=14.0, media_start_s=1.0, name="Dawn"),
    ]
    dialogue = [ShotSpec(media["voice.wav"], seconds=9.0, name="Dialogue", gap_before_frames=48)]
    # Shot lengths are whole frames in the timeline; place the marker on those frames.
    frames = [round(Fraction(s.seconds) * DEMO_RATE) for s in shots]
    ending_start_s = float(sum(frames[:-1]) / DEMO_RATE)
    ending_s = float(frames[-1] / DEMO_RATE)
    markers = [TimelineMarker("mood: hopeful", "the ending should lift", ending_start_s, ending_s)]
    return write_timeline(
        folder / "demo.otio",
        name="Scorebridge demo",
        rate=DEMO_RATE,
        shots=shots,
        audio=dialogue,
        markers=markers,
        start_timecode="01:00:00:00",
        dissolves={5: 24},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bridge.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out", nargs="?", default="demo_out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", default=None)
    parser.add_argument("--analyze-only", action="store_true")
    args = parser.parse_args(argv)

    from bridge.cli import main as cli_main

    print(f"generating the demo film in {args.out}/ ...")
    timeline = make_demo_timeline(args.out)
    print(f"timeline: {timeline}\n")
    code = cli_main(["-q", "analyze", str(timeline)])
    if code or args.analyze_only:
        return code
    print()
    score_args = ["score", str(timeline), "-o", str(args.out / "score"), "--seed", str(args.seed),
                  "--stems", "--duck", "9", "--report"]
    if args.style:
        score_args += ["--style", args.style]
    return cli_main(score_args)


if __name__ == "__main__":
    sys.exit(main())
