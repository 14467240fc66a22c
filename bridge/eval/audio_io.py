"""Reading rendered audio for analysis (soundfile to read, scipy to resample)."""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile

from bridge.errors import MissingMediaError, UndecodableMediaError


@dataclass(frozen=True, eq=False)
class LoadedAudio:
    """Mono analysis signal plus the facts about the file it came from."""

    y: np.ndarray  # mono float32 at sr
    sr: int
    native_sr: int
    native_n_samples: int  # per channel, as stored in the file
    channels: int

    @property
    def native_duration_s(self) -> float:
        return self.native_n_samples / self.native_sr


def read_native(path: str | Path) -> tuple[np.ndarray, int]:
    """The file's samples as float32, shape (n_samples, channels), and its sample rate."""
    p = Path(path)
    if not p.is_file():
        raise MissingMediaError("audio file not found", path=p)
    try:
        data, sr = soundfile.read(p, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as err:
        raise UndecodableMediaError(f"cannot read audio: {err}", path=p) from err
    return data, int(sr)


def resample(y: np.ndarray, *, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling along axis 0 (exact rational ratio, e.g. 48000 -> 22050)."""
    if sr_in == sr_out:
        return y
    g = gcd(sr_in, sr_out)
    out = scipy.signal.resample_poly(y, sr_out // g, sr_in // g, axis=0)
    return out.astype(np.float32, copy=False)


def to_mono(data: np.ndarray) -> np.ndarray:
    return data.mean(axis=1, dtype=np.float32) if data.ndim == 2 else data.astype(np.float32)


def load_audio(path: str | Path, *, sr: int = 22050) -> LoadedAudio:
    """Read a file, mix to mono and resample to `sr` for analysis."""
    data, native_sr = read_native(path)
    return loaded_from(data, native_sr=native_sr, sr=sr)


def loaded_from(data: np.ndarray, *, native_sr: int, sr: int) -> LoadedAudio:
    """`LoadedAudio` from samples already read (n_samples, channels)."""
    mono = resample(to_mono(data), sr_in=native_sr, sr_out=sr)
    return LoadedAudio(
        y=np.ascontiguousarray(mono, dtype=np.float32),
        sr=sr,
        native_sr=native_sr,
        native_n_samples=int(data.shape[0]),
        channels=int(data.shape[1]) if data.ndim == 2 else 1,
    )
