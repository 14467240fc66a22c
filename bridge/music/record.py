"""What a score remembers for its re-score: ``score.plan.json`` beside the audio.

It holds the plan (`MusicPlan.to_dict`), every note of the arrangement exactly as played
(JSON floats round-trip exactly), the static gain the master applied, the sample rate and
SoundFont, and the shots of the timeline it was scored for (with each media file's content
key, so the next re-score can tell which picture it kept). A re-score reads it back,
keeps what the recut did not touch, and writes a new record for the new version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from bridge.compose.plan import MusicPlan
from bridge.errors import BridgeError
from bridge.media import content_key
from bridge.outputs import write_text_atomic
from bridge.types import Arrangement, Clip, Edit, Note, Track

RECORD_VERSION = 1
RECORD_SUFFIX = ".plan.json"


def record_path_for(wav_path: Path) -> Path:
    """``score.wav`` -> ``score.plan.json``; ``score.v2.wav`` -> ``score.v2.plan.json``."""
    return wav_path.with_name(wav_path.stem + RECORD_SUFFIX)


@dataclass(frozen=True, eq=False)
class ScoreRecord:
    plan: MusicPlan
    arrangement: Arrangement
    gain_db: float
    sample_rate: int
    style: str
    seed: int
    soundfont: str | None
    edit: Edit  # shots only (what the diff compares), plus rate and duration
    media_keys: dict[str, str]  # media path -> content key, for the shots above
    duck_db: float = 0.0
    stems: tuple[str, ...] = ()  # roles written as stems beside the mix
    true_peak_dbtp: float = 0.0  # of the WAV (a re-score's: an upper bound, see rescore)
    path: Path | None = None  # where it was read from


def media_keys(shots: Sequence[Clip]) -> dict[str, str]:
    """Media path -> content key for every readable shot (what identifies its picture)."""
    keys = {}
    for c in shots:
        if c.media_path is not None and str(c.media_path) not in keys and c.media_path.is_file():
            keys[str(c.media_path)] = content_key(c.media_path)
    return keys


def _clip_dict(c: Clip) -> dict[str, Any]:
    return {"name": c.name, "record_start_s": c.record_start_s, "record_end_s": c.record_end_s,
            "media_path": str(c.media_path) if c.media_path else None,
            "media_start_s": c.media_start_s, "speed": c.speed}


def record_dict(record: ScoreRecord) -> dict[str, Any]:
    edit = record.edit
    return {
        "scorebridge_record": RECORD_VERSION,
        "style": record.style,
        "seed": record.seed,
        "sample_rate": record.sample_rate,
        "soundfont": record.soundfont,
        "gain_db": record.gain_db,
        "duck_db": record.duck_db,
        "true_peak_dbtp": record.true_peak_dbtp,
        "stems": list(record.stems),
        "edit": {"name": edit.name, "source": str(edit.source_path),
                 "rate": [edit.rate.numerator, edit.rate.denominator],
                 "duration_frames": edit.duration_frames,
                 "shots": [_clip_dict(c) for c in edit.shots]},
        "media_keys": record.media_keys,
        "plan": record.plan.to_dict(),
        "arrangement": {
            "duration_s": record.arrangement.duration_s,
            "tracks": [{"role": t.role, "program": t.program, "is_drum": t.is_drum,
                        "volume": t.volume,
                        "notes": [[n.start_s, n.end_s, n.pitch, n.velocity] for n in t.notes]}
                       for t in record.arrangement.tracks],
        },
    }


def write_record(record: ScoreRecord, path: Path) -> Path:
    return write_text_atomic(path, json.dumps(record_dict(record), ensure_ascii=False) + "\n")


def read_record(path: Path) -> ScoreRecord:
    """The record at ``path``; a missing, foreign or damaged file is one clear error."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BridgeError("no previous score record here (score with this version first)",
                          path=path) from err
    except (OSError, ValueError) as err:
        raise BridgeError(f"cannot read the previous score record: {err}", path=path) from err
    if not isinstance(d, dict) or d.get("scorebridge_record") != RECORD_VERSION:
        raise BridgeError("not a Scorebridge score record of this version", path=path)
    try:
        e = d["edit"]
        rate = Fraction(*e["rate"])
        shots = tuple(Clip(name=c["name"], kind="video", record_start_s=c["record_start_s"],
                           record_end_s=c["record_end_s"],
                           media_path=Path(c["media_path"]) if c["media_path"] else None,
                           media_start_s=c["media_start_s"], speed=c["speed"])
                      for c in e["shots"])
        edit = Edit(name=e["name"], source_path=Path(e["source"]), rate=rate, drop_frame=False,
                    start_timecode="", start_frame=0, duration_frames=int(e["duration_frames"]),
                    shots=shots)
        a = d["arrangement"]
        plan = MusicPlan.from_dict(d["plan"])
        arrangement = Arrangement(
            duration_s=float(a["duration_s"]), beat_times_s=plan.beat_times_s.copy(),
            tracks=tuple(Track(role=t["role"], program=int(t["program"]),
                               is_drum=bool(t["is_drum"]), volume=float(t["volume"]),
                               notes=tuple(Note(float(s), float(x), int(p), int(v))
                                           for s, x, p, v in t["notes"]))
                         for t in a["tracks"]))
        return ScoreRecord(plan=plan, arrangement=arrangement, gain_db=float(d["gain_db"]),
                           sample_rate=int(d["sample_rate"]), style=d["style"],
                           seed=int(d["seed"]), soundfont=d.get("soundfont"), edit=edit,
                           media_keys=dict(d.get("media_keys", {})),
                           duck_db=float(d.get("duck_db", 0.0)),
                           true_peak_dbtp=float(d.get("true_peak_dbtp", 0.0)),
                           stems=tuple(d.get("stems", ())), path=Path(path))
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise BridgeError(f"damaged score record ({type(err).__name__}: {err})",
                          path=path) from err
