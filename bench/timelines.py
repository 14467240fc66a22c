"""Long benchmark timelines that look like real edits, cached under bench/.cache/.

    .venv/bin/python -m bench.timelines 1 10 [60]      # encode sources, write the timelines

Media: four source files, one per mood of a story arc, 1920x1080 at 25 fps, H.264
(libx264, preset ultrafast, CRF 23, GOP 25 frames = a keyframe every second, no scene-cut
keyframes), mono AAC 48 kHz, each ``SOURCE_S`` seconds long and made of scenes of 2-12 s:

* calm: dark, cool backgrounds, one or two slow squares, quiet low tones or speech;
* build: teal/purple, three to five squares whose speed ramps up, rising noise/tones;
* intense: reds and oranges, six to eight fast dark squares, short scenes, loud noise,
  an occasional one-frame white flash (which must not count as a cut);
* resolution: warm golds, two slow squares, speech and soft tones.

Timelines: N minutes at 25 fps made of calm -> build -> intense -> resolution cycles of
about two minutes (one arc for the 1-minute timeline). Shot lengths follow the mood
(calm/resolution 6-12 s, build 4-8 s, intense 2-4 s). Each shot takes the next stretch
of its mood's source (a small skip between shots), so the source scene changes fall inside
many shots (cut detection has work) and the shot boundaries are edit points. A 10-minute
timeline uses about the whole 12 minutes of source once; longer timelines wrap around and
reuse the same sources (it is the timeline length that matters for composition and
rendering; for analysis the media decoded per minute is the same). Sync sound: every
shot's audio is on A1. Each resolution section is entered through a 12-frame
cross-dissolve and carries a "mood: hopeful" marker.

The four sources are encoded in parallel (one process per core, at most two here: the
machine has two). Files are named by a hash of their recipe, so a changed recipe
re-encodes instead of reusing a stale file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

import numpy as np

from bridge.media.synth import SceneSpec, encode_scenes
from bridge.timeline.build import ShotSpec, write_timeline
from bridge.types import TimelineMarker

CACHE = Path(__file__).resolve().parent / ".cache"
RATE = Fraction(25)
WIDTH, HEIGHT = 1920, 1080
GOP = 25  # frames: one keyframe a second
PRESET = "ultrafast"
SOURCE_S = 180.0  # each of the four sources; 12 minutes of unique 1080p media in all
MOODS = ("calm", "build", "intense", "resolution")
CYCLE_S = 120.0  # about one story arc every two minutes
SECTION_SHARE = {"calm": 0.30, "build": 0.25, "intense": 0.25, "resolution": 0.20}
SHOT_S = {"calm": (6.0, 12.0), "build": (4.0, 8.0), "intense": (2.0, 4.0),
          "resolution": (6.0, 12.0)}
SCENE_S = {"calm": (6.0, 12.0), "build": (4.0, 9.0), "intense": (2.0, 4.5),
           "resolution": (5.0, 12.0)}
DISSOLVE_FRAMES = 12
RECIPE_VERSION = 1  # bump when the recipe changes in a way the hash would not see


# ---------------------------------------------------------------- source media


def _colour(rng: np.random.Generator, base: tuple[int, int, int], spread: int) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)


def source_scenes(mood: str, seconds: float = SOURCE_S) -> list[SceneSpec]:
    """The scenes of one mood's source file, deterministic."""
    rng = np.random.default_rng(MOODS.index(mood) + 11)
    palettes = {
        "calm": [(18, 24, 70), (40, 30, 90), (20, 60, 80), (60, 60, 70)],
        "build": [(20, 110, 120), (90, 40, 120), (30, 140, 90), (120, 90, 30)],
        "intense": [(230, 40, 30), (250, 120, 20), (240, 200, 40), (210, 20, 60)],
        "resolution": [(235, 180, 90), (250, 210, 150), (200, 140, 60), (180, 200, 120)],
    }[mood]
    scenes: list[SceneSpec] = []
    total, k = 0.0, 0
    while total < seconds - 1e-9:
        lo, hi = SCENE_S[mood]
        d = float(min(rng.uniform(lo, hi), seconds - total))
        if seconds - total - d < lo:  # no sliver at the end
            d = seconds - total
        bg = _colour(rng, palettes[k % len(palettes)], 25)
        k += 1
        if mood == "calm":
            spec = SceneSpec(d, bg, shapes=int(rng.integers(1, 3)),
                             speed_px_s=float(rng.uniform(5, 25)), shape_size_px=90,
                             audio="speech" if k % 3 == 0 else "tone",
                             tone_hz=float(rng.choice([110, 147, 165])),
                             level_dbfs=float(rng.uniform(-40, -30)))
        elif mood == "build":
            v0 = float(rng.uniform(30, 90))
            spec = SceneSpec(d, bg, shapes=int(rng.integers(3, 6)), speed_px_s=v0,
                             speed_end_px_s=v0 * float(rng.uniform(3, 6)), shape_size_px=120,
                             audio="noise" if k % 2 else "tone", tone_hz=220,
                             level_dbfs=float(rng.uniform(-28, -18)))
        elif mood == "intense":
            spec = SceneSpec(d, bg, shapes=int(rng.integers(6, 9)),
                             speed_px_s=float(rng.uniform(400, 700)), shape_size_px=160,
                             shape_color=(20, 20, 20), audio="noise",
                             flash_at_s=d / 2 if k % 5 == 0 else None,
                             level_dbfs=float(rng.uniform(-12, -6)))
        else:
            spec = SceneSpec(d, bg, shapes=2, speed_px_s=float(rng.uniform(8, 20)),
                             shape_size_px=100, audio="speech" if k % 2 else "tone",
                             tone_hz=220, level_dbfs=float(rng.uniform(-30, -16)))
        scenes.append(spec)
        total += d
    return scenes


def _recipe_hash(mood: str) -> str:
    recipe = {"v": RECIPE_VERSION, "scenes": [asdict(s) for s in source_scenes(mood)],
              "size": [WIDTH, HEIGHT], "rate": str(RATE), "gop": GOP, "preset": PRESET}
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:10]


def source_path(mood: str) -> Path:
    return CACHE / "sources" / f"{mood}_{WIDTH}x{HEIGHT}_{_recipe_hash(mood)}.mp4"


def _encode_one(mood: str) -> dict:
    """Worker: encode one source; returns its timings (wall and CPU of this process)."""
    path = source_path(mood)
    w0, c0 = time.perf_counter(), time.process_time()
    cuts = encode_scenes(path, source_scenes(mood), width=WIDTH, height=HEIGHT, rate=RATE,
                         gop=GOP, preset=PRESET)
    info = {"mood": mood, "file": path.name, "seconds": SOURCE_S, "scene_cuts": len(cuts),
            "wall_s": round(time.perf_counter() - w0, 2),
            "cpu_s": round(time.process_time() - c0, 2)}
    _write_json(path.with_suffix(".json"), {**info, "cuts_s": cuts})
    return info


def ensure_sources(*, workers: int | None = None, log=print) -> dict:
    """Encode the missing sources (in parallel); return {mood: path} and what it cost."""
    (CACHE / "sources").mkdir(parents=True, exist_ok=True)
    missing = [m for m in MOODS if not source_path(m).exists()
               or not source_path(m).with_suffix(".json").exists()]
    report: dict = {"paths": {m: str(source_path(m)) for m in MOODS}, "encoded": []}
    if missing:
        workers = workers or min(2, os.cpu_count() or 1, len(missing))
        log(f"encoding {len(missing)} source file(s) of {SOURCE_S:g} s at {WIDTH}x{HEIGHT} "
            f"({PRESET}, GOP {GOP}) with {workers} process(es) ...")
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for info in pool.map(_encode_one, missing):
                log(f"  {info['file']}: {info['wall_s']} s wall, {info['cpu_s']} s CPU")
                report["encoded"].append(info)
        report["wall_s"] = round(time.perf_counter() - t0, 2)
        report["workers"] = workers
        log(f"sources encoded in {report['wall_s']} s")
        log_path = CACHE / "sources" / "generation.json"
        history = json.loads(log_path.read_text()) if log_path.exists() else []
        history.append({**report, "when": time.strftime("%Y-%m-%d %H:%M:%S")})
        _write_json(log_path, history)
    return report


def last_generation() -> dict | None:
    """The most recent encoding run recorded in the cache (how long the uncached run took)."""
    log_path = CACHE / "sources" / "generation.json"
    if not log_path.exists():
        return None
    history = json.loads(log_path.read_text())
    return history[-1] if history else None


# ---------------------------------------------------------------- timelines


def story_shots(minutes: float, *, seed: int = 0) -> tuple[list[ShotSpec], dict[int, int],
                                                           list[TimelineMarker]]:
    """Shots (in record order), dissolves and markers of an N-minute story timeline."""
    rng = np.random.default_rng(seed + 101)
    fps = int(RATE)
    total_f = round(minutes * 60 * fps)
    n_cycles = max(1, round(total_f / fps / CYCLE_S))
    bounds = np.linspace(0, total_f, n_cycles + 1).round().astype(int)
    cursor = {m: float(rng.uniform(0.5, 3.0)) for m in MOODS}
    shots: list[ShotSpec] = []
    dissolves: dict[int, int] = {}
    markers: list[TimelineMarker] = []
    record_f = 0
    for c in range(n_cycles):
        cycle_f = int(bounds[c + 1] - bounds[c])
        shares = np.cumsum([SECTION_SHARE[m] for m in MOODS])
        ends = [int(bounds[c]) + round(cycle_f * s) for s in shares]
        ends[-1] = int(bounds[c + 1])
        for mood, end_f in zip(MOODS, ends):
            section_start = record_f
            lo, hi = SHOT_S[mood]
            first = True
            while record_f < end_f:
                n = round(rng.uniform(lo, hi) * fps)
                rest = end_f - record_f
                if rest - n < round(lo * fps):  # no shot shorter than lo: share the rest
                    n = rest if rest <= round(hi * fps) else rest // 2
                start_s = cursor[mood]
                if start_s + n / fps > SOURCE_S - 1.0:  # wrap: reuse the source
                    start_s = float(rng.uniform(0.5, 3.0))
                start_s = round(start_s * fps) / fps
                if first and mood == "resolution" and shots:
                    dissolves[len(shots)] = DISSOLVE_FRAMES
                shots.append(ShotSpec(source_path(mood), frames=n, media_start_s=start_s,
                                      name=f"{mood} {len(shots) + 1}",
                                      media_duration_s=SOURCE_S))
                cursor[mood] = start_s + n / fps + float(rng.uniform(0.2, 1.5))
                record_f += n
                first = False
            if mood == "resolution":
                markers.append(TimelineMarker("mood: hopeful", "the ending should lift",
                                              section_start / fps,
                                              (record_f - section_start) / fps))
    assert record_f == total_f
    return shots, dissolves, markers


def timeline_path(minutes: float) -> Path:
    return CACHE / "timelines" / f"story_{minutes:g}min_{_timeline_hash(minutes)}.otio"


def _timeline_hash(minutes: float) -> str:
    parts = [str(RECIPE_VERSION), f"{minutes:g}", CYCLE_S, SECTION_SHARE, SHOT_S,
             [_recipe_hash(m) for m in MOODS]]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


def ensure_timeline(minutes: float) -> Path:
    """Write (once) the N-minute timeline over the cached sources; return its path."""
    path = timeline_path(minutes)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    shots, dissolves, markers = story_shots(minutes)
    audio = [ShotSpec(s.media, frames=s.frames, media_start_s=s.media_start_s,
                      name=f"{s.name} sound", media_duration_s=s.media_duration_s)
             for s in shots]
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.otio")
    write_timeline(tmp, name=f"Scorebridge bench story {minutes:g} min", rate=RATE,
                   shots=shots, audio=audio, markers=markers, dissolves=dissolves)
    os.replace(tmp, path)
    return path


def media_seconds_used(minutes: float) -> dict[str, float]:
    """Seconds of each source the N-minute timeline's shots show (with reuse counted)."""
    shots, _, _ = story_shots(minutes)
    used: dict[str, float] = {}
    for s in shots:
        key = Path(s.media).name
        used[key] = used.get(key, 0.0) + s.frames / float(RATE)
    return used


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("minutes", type=float, nargs="*", default=[1.0, 10.0])
    args = parser.parse_args(argv)
    ensure_sources()
    for m in args.minutes:
        shots, dissolves, markers = story_shots(m)
        print(f"{ensure_timeline(m)}: {len(shots)} shots, {len(dissolves)} dissolves, "
              f"{len(markers)} markers")


if __name__ == "__main__":
    main()
