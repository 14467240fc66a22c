"""Sound from a media file as mono float32 at a chosen sample rate."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from bridge.media._container import open_media, open_shared, origin_s
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
    # From the first sample a file is read afresh: a seek to its start and a read from the
    # top give different first samples.
    with open_shared(path, "audio", share=start_s > 0) as file:
        container = file.container
        if not container.streams.audio:
            return np.zeros(0, np.float32)
        stream = container.streams.audio[0]
        if not file.reused:
            return _decode(container, stream, container.decode(stream), start_s, end_s, sr)
        decoder = _new_decoder(stream)
        if decoder is not None:
            return _decode(container, stream, _decoded(container, stream, decoder), start_s,
                           end_s, sr)
    with open_media(path) as container:  # kept open, but no decoder known to match a new one
        stream = container.streams.audio[0]
        return _decode(container, stream, container.decode(stream), start_s, end_s, sr)


# Codecs whose decoder, made anew from the stream's parameters (extradata, rate, layout),
# decodes exactly as the one a newly opened file has (checked: AAC mono and stereo, in MP4
# and Matroska). Others reopen the file for each read.
NEW_DECODER_CODECS = ("aac",)


def _new_decoder(stream: av.AudioStream) -> av.CodecContext | None:
    params = stream.codec_context
    if params.name not in NEW_DECODER_CODECS:
        return None
    decoder = av.CodecContext.create(params.name, "r")
    decoder.extradata = params.extradata
    decoder.sample_rate = params.sample_rate
    decoder.layout = params.layout
    return decoder


def _decoded(container: av.container.InputContainer, stream: av.AudioStream,
             decoder: av.CodecContext) -> Iterator[av.AudioFrame]:
    """``container.decode(stream)`` through ``decoder``."""
    for packet in container.demux(stream):
        yield from decoder.decode(packet)


def _decode(container: av.container.InputContainer, stream: av.AudioStream,
            frames: Iterator[av.AudioFrame], start_s: float, end_s: float | None,
            sr: int) -> np.ndarray:
    """The samples of [start_s, end_s) from ``frames``, decoded from the stream's start or,
    when ``start_s`` > 0, from a seek to it."""
    origin = origin_s(container)
    if start_s > 0:
        offset = math.floor((start_s + origin) / float(stream.time_base))
        container.seek(offset, stream=stream, backward=True)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
    chunks: list[np.ndarray] = []
    first_s: float | None = None
    want = None if end_s is None else round((end_s - start_s) * sr)
    got = 0
    # Decoded frames (about 1024 samples each) go to the resampler in batches: one call
    # per frame cost more than the decoding, and libswresample's output is the same
    # however its input is cut.
    batch = _Batch()
    for frame in frames:
        if first_s is None:
            first_s = float(frame.time or 0.0) - origin
        if not batch.takes(frame):
            got += _resample(resampler, batch.frame(), chunks)
        batch.add(frame)
        enough = want is not None and (
            got + batch.samples * sr / frame.sample_rate - (start_s - first_s) * sr >= want)
        if enough or batch.samples >= BATCH_SAMPLES:
            got += _resample(resampler, batch.frame(), chunks)
        if want is not None and got - (start_s - first_s) * sr >= want:
            break
    else:
        if batch.samples:
            _resample(resampler, batch.frame(), chunks)
        _resample(resampler, None, chunks)
    if not chunks:
        return np.zeros(0, np.float32)
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    skip = max(0, round((start_s - (first_s or 0.0)) * sr))
    samples = samples[skip:]
    return samples if want is None else samples[:want]


BATCH_SAMPLES = 1 << 16  # decoded samples resampled in one call (1.4 s at 48 kHz)


class _Batch:
    """Decoded audio frames of one format, joined into one frame for the resampler."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.samples = 0
        self.kind: tuple | None = None

    def takes(self, frame: av.AudioFrame) -> bool:
        return not self.arrays or self.kind == _kind(frame)

    def add(self, frame: av.AudioFrame) -> None:
        self.kind = _kind(frame)
        self.arrays.append(frame.to_ndarray())
        self.samples += frame.samples

    def frame(self) -> av.AudioFrame:
        """The batch as one frame; the batch is emptied."""
        assert self.kind is not None
        fmt, layout, rate = self.kind
        joined = av.AudioFrame.from_ndarray(np.concatenate(self.arrays, axis=1), format=fmt,
                                            layout=layout)
        joined.sample_rate = rate
        self.arrays, self.samples = [], 0
        return joined


def _kind(frame: av.AudioFrame) -> tuple:
    return frame.format.name, frame.layout.name, frame.sample_rate


def _resample(resampler: av.AudioResampler, frame: av.AudioFrame | None,
              chunks: list[np.ndarray]) -> int:
    """Resample ``frame`` (None: flush) into ``chunks``; the number of samples out."""
    got = 0
    for out in resampler.resample(frame):
        chunks.append(out.to_ndarray().reshape(-1))
        got += out.samples
    return got
