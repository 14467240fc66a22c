"""Join finished WAVs into one: copy samples where a piece is kept, cross-fade at the joins.

A re-score keeps the previous version's audio wherever the recut kept the picture and
renders only the stretches between (see `bridge.recut.rescore`). This module writes the new
WAV (and stems) from those pieces, streaming in blocks: copied stretches are copied as the
24-bit integers they are, so kept audio is sample-identical to the version it came from;
each join is a short amplitude-complementary (half-cosine) cross-fade over samples both
sides carry, so where the two agree the fade changes nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from bridge.errors import BridgeError
from bridge.music.loudness import LevelMeter
from bridge.progress import NEVER_CANCELLED, CancelToken

BLOCK_N = 1 << 18


@dataclass(frozen=True)
class Source:
    """Output sample t read from ``path`` at ``t - offset`` (between its joins).

    ``stems`` maps role -> that role's WAV, laid out like ``path``."""

    path: Path
    offset: int = 0
    stems: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Join:
    """Between source i and i+1: fade from i to i+1 over output samples [start, end)."""

    start: int
    end: int


def _read(path: Path, start: int, n: int) -> np.ndarray:
    """(n, 2) int32 samples of a 24-bit WAV (the 24-bit value in the top bits)."""
    with soundfile.SoundFile(path) as f:
        if start < 0 or start + n > f.frames:
            raise BridgeError(f"needs samples {start}..{start + n} of {f.frames}", path=path)
        f.seek(start)
        return f.read(n, dtype="int32", always_2d=True)


def _fade(a: np.ndarray, b: np.ndarray, pos: np.ndarray, length: int) -> np.ndarray:
    """a fading out into b; ``pos`` is each sample's place in the fade (0..length-1)."""
    w = (0.5 - 0.5 * np.cos(np.pi * (pos + 0.5) / length))[:, None]
    x = a.astype(np.float64) * (1.0 - w) + b.astype(np.float64) * w
    # back to 24-bit steps in the top bits, as read
    return (np.clip(np.round(x / 256.0), -(2**23), 2**23 - 1) * 256).astype(np.int32)


def splice(sources: Sequence[Source], joins: Sequence[Join], *, out_path: Path,
           n_samples: int, sr: int, stems: Mapping[str, Path] | None = None,
           meter: LevelMeter | None = None, cancel: CancelToken = NEVER_CANCELLED) -> None:
    """Write ``out_path`` (and each stem in ``stems``: role -> path) from the pieces.

    Sources tile [0, n_samples); join i lies inside both source i and source i + 1. The mix
    is fed to ``meter`` as it is written. Files appear only when all of them were written."""
    if len(joins) != len(sources) - 1:
        raise ValueError("one join between each two sources")
    targets = {"": Path(out_path), **{role: Path(p) for role, p in (stems or {}).items()}}
    token = uuid.uuid4().hex[:8]
    temps = {k: p.with_name(f".{p.stem}.{token}.tmp") for k, p in targets.items()}
    try:
        for key, temp in temps.items():
            with soundfile.SoundFile(temp, "w", samplerate=sr, channels=2, subtype="PCM_24",
                                     format="WAV") as w:
                _write_one(w, key, sources, joins, n_samples, cancel,
                           meter if key == "" else None)
        for key in sorted(temps, key=lambda k: k == ""):  # the mix last
            os.replace(temps[key], targets[key])
    except BaseException as err:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise BridgeError(f"cannot write audio: {err}", path=out_path) from err
        raise


def _path(source: Source, key: str) -> Path:
    return source.path if key == "" else source.stems[key]


def _write_one(w, key: str, sources: Sequence[Source], joins: Sequence[Join],
               n_samples: int, cancel: CancelToken, meter: LevelMeter | None) -> None:
    # Cut the output into stretches read from one source, and fades read from two.
    spans: list[tuple[int, int, int, int | None]] = []  # (start, end, source, fade-into)
    t = 0
    for i in range(len(sources)):
        stop = joins[i].start if i < len(joins) else n_samples
        if stop > t:
            spans.append((t, stop, i, None))
        if i < len(joins):
            spans.append((joins[i].start, joins[i].end, i, i + 1))
            t = joins[i].end
    for start, end, i, j in spans:
        for a in range(start, end, BLOCK_N):
            cancel.raise_if_cancelled()
            n = min(BLOCK_N, end - a)
            src = sources[i]
            x = _read(_path(src, key), a - src.offset, n)
            if j is not None:
                other = sources[j]
                y = _read(_path(other, key), a - other.offset, n)
                x = _fade(x, y, np.arange(a - start, a - start + n), end - start)
            w.write(x)
            if meter is not None:
                meter.add(x / float(2**31))
