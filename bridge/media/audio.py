"""Sound from a media file as mono float32 at a chosen sample rate."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np

from bridge.media._container import open_media, origin_s
from bridge.media.frames import _check_range


def decode_audio(
    path: str | Path, start_s: float = 0.0, end_s: float | None = None, *, sr: int = 16_000
) -> np.ndarray:
    """Mono float32 samples of media time [start_s, end_s) (to the end when None).

    Resampled with libswresample; sample i lies at ``start_s + i / sr``. A file without
    an audio stream gives an empty array.
    """
    path = Path(path)
    _check_range(path, start_s, start_s if end_s is None else end_s, sr=sr)
    with open_media(path) as container:
        if not container.streams.audio:
            return np.zeros(0, np.float32)
        stream = container.streams.audio[0]
        origin = origin_s(container)
        if start_s > 0:
            offset = math.floor((start_s + origin) / float(stream.time_base))
            container.seek(offset, stream=stream, backward=True)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks: list[np.ndarray] = []
        first_s: float | None = None
        want = None if end_s is None else round((end_s - start_s) * sr)
        got = 0
        for frame in container.decode(stream):
            if first_s is None:
                first_s = float(frame.time or 0.0) - origin
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                got += out.samples
            if want is not None and first_s is not None and (
                got - (start_s - first_s) * sr >= want
            ):
                break
        else:
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        if not chunks:
            return np.zeros(0, np.float32)
        samples = np.concatenate(chunks).astype(np.float32, copy=False)
        skip = max(0, round((start_s - (first_s or 0.0)) * sr))
        samples = samples[skip:]
        return samples if want is None else samples[:want]
