"""Small timelines the integration tests cut together from media they encode.

Not a test module: the test files import it (pytest puts this folder on sys.path).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

from bridge.media.synth import SceneSpec, encode_scenes
from bridge.timeline.build import ShotSpec, write_timeline


def shots_timeline(
    folder: Path,
    bounds_s: Sequence[float],
    scene_for: Callable[[int, float], SceneSpec],
    *,
    rate: Fraction = Fraction(25),
    name: str = "fixture",
) -> Path:
    """One 160x96 file per shot, cut together at `rate`; cuts fall on `bounds_s[1:-1]`."""
    shots = []
    for i, (start, end) in enumerate(pairwise(bounds_s)):
        media = folder / f"shot{i:02d}.mp4"
        encode_scenes(media, [scene_for(i, end - start)], width=160, height=96, rate=rate)
        frames = round(end * rate) - round(start * rate)
        shots.append(ShotSpec(media, frames=frames, name=f"Shot {i + 1}"))
    return write_timeline(folder / f"{name}.otio", name=name, rate=rate, shots=shots)
