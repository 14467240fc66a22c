"""Picture samples for analysis: a few downscaled RGB frames per second, fast.

Decoding is the cost of analysis, so the sampler plans its reads from the container's
keyframe index. It decodes forward, and jumps (seeks) only where the next sample lies
beyond a keyframe far enough ahead that skipping the frames in between pays for the seek.
Where a keyframe lies within a quarter of the sample spacing of a wanted time, it samples
the keyframe itself, so a short-GOP or intra-only file costs about two decoded frames per
sample (the frame and its successor). Only kept frames are converted (libswscale scales
and converts to RGB in one step).

Media time here is seconds from the start of the file (the container's start time).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np

from bridge.errors import InvalidOptionError
from bridge.media._container import is_image_format, open_media, origin_s, video_stream
from bridge.media.probe import upright_rotation
from bridge.progress import CancelToken
from bridge.types import FrameSample

Strategy = Literal["auto", "sequential", "seek"]

# A seek costs about as much as decoding this many frames. Measured (CPU time) with
# bench/bench_decode.py on 1080p H.264: seeking pays almost as soon as it skips anything.
SEEK_COST_FRAMES = 2
# Without a keyframe index we cannot tell what a seek skips: seek only over long gaps.
NO_INDEX_SEEK_GAP_S = 5.0
_EPS_S = 1e-6


@dataclass
class _Reader:
    """One open video stream with a one-frame look-ahead (the sample's successor)."""

    container: av.container.InputContainer
    stream: av.VideoStream
    origin_s: float
    frames: Iterator[av.VideoFrame] | None = None
    current: av.VideoFrame | None = None
    ahead: av.VideoFrame | None = None

    def time_s(self, frame: av.VideoFrame) -> float:
        return float(frame.time or 0.0) - self.origin_s

    def seek(self, t_s: float) -> None:
        """Jump to the keyframe at or before media time ``t_s``; prime the look-ahead."""
        offset = math.floor((t_s + self.origin_s) / float(self.stream.time_base))
        self.container.seek(max(offset, 0), stream=self.stream, backward=True)
        self.frames = self.container.decode(self.stream)
        self.current = None
        self.ahead = next(self.frames, None)

    def start(self) -> None:
        self.frames = self.container.decode(self.stream)
        self.current = None
        self.ahead = next(self.frames, None)

    def advance_to(self, t_s: float) -> None:
        """Decode until ``current`` is the frame on screen at ``t_s`` (or the first frame)."""
        assert self.frames is not None
        while self.ahead is not None and (
            self.current is None or self.time_s(self.ahead) <= t_s + _EPS_S
        ):
            self.current = self.ahead
            self.ahead = next(self.frames, None)

    def next_time_s(self) -> float:
        return math.inf if self.ahead is None else self.time_s(self.ahead)


def _out_size(*, stored_w: int, stored_h: int, rotation_deg: int, width: int) -> tuple[int, int]:
    """Stored-orientation (w, h) to scale to, so the upright result is ``width`` wide."""
    up_w, up_h = (stored_h, stored_w) if rotation_deg in (90, 270) else (stored_w, stored_h)
    height = max(1, round(width * up_h / up_w))
    return (height, width) if rotation_deg in (90, 270) else (width, height)


def _to_rgb(frame: av.VideoFrame, *, size: tuple[int, int], rotation_deg: int) -> np.ndarray:
    rgb = frame.to_ndarray(width=size[0], height=size[1], format="rgb24", interpolation="AREA")
    if rotation_deg:
        rgb = np.ascontiguousarray(np.rot90(rgb, rotation_deg // 90))
    return rgb


def _keyframe_times_s(stream: av.VideoStream, origin: float) -> np.ndarray | None:
    """Keyframe times from the container index (decode timestamps: close enough to plan)."""
    tb = float(stream.time_base)
    times = [e.timestamp * tb - origin for e in stream.index_entries if e.is_keyframe]
    return np.asarray(sorted(times)) if times else None


def _targets_s(start_s: float, end_s: float, rate_hz: float) -> np.ndarray:
    n = max(0, math.ceil((end_s - start_s) * rate_hz - 1e-9))
    return start_s + np.arange(n) / rate_hz


def _check_range(path: Path, start_s: float, end_s: float, **positive: float) -> None:
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or start_s < 0 or end_s < start_s:
        raise InvalidOptionError(f"bad time range [{start_s}, {end_s})", path=path, field="range")
    for name, value in positive.items():
        if not value > 0:
            raise InvalidOptionError(f"{name} must be > 0, got {value}", path=path, field=name)


def sample_frames(
    path: str | Path,
    start_s: float,
    end_s: float,
    *,
    rate_hz: float = 2.0,
    width: int = 160,
    with_successor: bool = True,
    cancel: CancelToken | None = None,
    strategy: Strategy = "auto",
) -> list[FrameSample]:
    """About ``rate_hz`` upright RGB frames per second of media time [start_s, end_s).

    Each sample is ``width`` px wide (aspect kept). ``successor`` is the next decoded
    frame and ``successor_dt_s`` its time gap (a still repeats its one image). An
    audio-only file gives []. ``strategy`` forces the read plan (for benchmarks).
    """
    path = Path(path)
    _check_range(path, start_s, end_s, rate_hz=rate_hz, width=width)
    targets = _targets_s(start_s, end_s, rate_hz)
    with open_media(path) as container:
        stream = video_stream(container)
        if stream is None or len(targets) == 0:
            return []
        if is_image_format(container):
            return _repeat_still(container, stream, targets, width, rate_hz)
        stream.thread_type = "AUTO"  # frame threads: the long sequential runs dominate
        reader = _Reader(container, stream, origin_s(container))
        keyframes = _keyframe_times_s(stream, reader.origin_s)
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        snap_s = 0.25 / rate_hz
        samples: list[FrameSample] = []
        size = None
        rotation = 0
        for t in targets:
            if cancel is not None:
                cancel.raise_if_cancelled()
            jump = reader.frames is None or _worth_seeking(
                t_s=t + snap_s, next_s=reader.next_time_s(), keyframes_s=keyframes,
                fps=fps, strategy=strategy,
            )
            if jump:
                if reader.frames is None and t <= _EPS_S and strategy != "seek":
                    reader.start()
                else:
                    reader.seek(t + snap_s)
                if reader.ahead is not None and reader.time_s(reader.ahead) >= t - snap_s:
                    reader.current, reader.ahead = reader.ahead, next(reader.frames, None)
                else:
                    reader.advance_to(t)
            else:
                reader.advance_to(t)
            frame = reader.current
            if frame is None:
                break
            time_s = reader.time_s(frame)
            if time_s >= end_s - _EPS_S or (samples and time_s <= samples[-1].time_s + _EPS_S):
                continue  # past the range, or the same frame as the last sample
            if size is None:
                rotation = upright_rotation(frame)
                size = _out_size(stored_w=frame.width, stored_h=frame.height,
                                 rotation_deg=rotation, width=width)
            rgb = _to_rgb(frame, size=size, rotation_deg=rotation)
            succ, dt = None, 0.0
            if with_successor and reader.ahead is not None:
                succ = _to_rgb(reader.ahead, size=size, rotation_deg=rotation)
                dt = reader.time_s(reader.ahead) - time_s
            samples.append(FrameSample(time_s=time_s, rgb=rgb, successor=succ, successor_dt_s=dt))
        return samples


def _worth_seeking(
    *, t_s: float, next_s: float, keyframes_s: np.ndarray | None, fps: float, strategy: Strategy
) -> bool:
    """Seek when the keyframe before ``t_s`` lies far enough past the next frame to decode."""
    if strategy == "sequential":
        return False
    if keyframes_s is None:
        return t_s - next_s > NO_INDEX_SEEK_GAP_S
    i = int(np.searchsorted(keyframes_s, t_s, side="right")) - 1
    if i < 0:
        return False
    skipped_frames = (keyframes_s[i] - next_s) * fps
    threshold = 0 if strategy == "seek" else SEEK_COST_FRAMES
    return skipped_frames > threshold


def _repeat_still(container, stream, targets: np.ndarray, width: int, rate_hz: float):
    frame = next(container.decode(stream), None)
    if frame is None:
        return []
    rotation = upright_rotation(frame)
    size = _out_size(stored_w=frame.width, stored_h=frame.height, rotation_deg=rotation,
                     width=width)
    rgb = _to_rgb(frame, size=size, rotation_deg=rotation)
    rgb.setflags(write=False)  # one array shared by every sample
    return [
        FrameSample(time_s=float(t), rgb=rgb, successor=rgb, successor_dt_s=1.0 / rate_hz)
        for t in targets
    ]


def frames_between(
    path: str | Path, start_s: float, end_s: float, *, width: int = 160
) -> list[FrameSample]:
    """Every frame with media time in [start_s, end_s), each with its successor."""
    path = Path(path)
    _check_range(path, start_s, end_s, width=width)
    with open_media(path) as container:
        stream = video_stream(container)
        if stream is None or is_image_format(container):
            return []
        stream.thread_type = "AUTO"
        reader = _Reader(container, stream, origin_s(container))
        reader.seek(start_s)
        out: list[FrameSample] = []
        size = None
        rotation = 0
        pending: tuple[float, np.ndarray] | None = None
        frame = reader.ahead
        while frame is not None:
            time_s = reader.time_s(frame)
            if time_s >= start_s - _EPS_S or pending is not None:
                if size is None:
                    rotation = upright_rotation(frame)
                    size = _out_size(stored_w=frame.width, stored_h=frame.height,
                                     rotation_deg=rotation, width=width)
                rgb = _to_rgb(frame, size=size, rotation_deg=rotation)
                if pending is not None:
                    out.append(FrameSample(pending[0], pending[1], rgb, time_s - pending[0]))
                pending = (time_s, rgb) if time_s < end_s - _EPS_S else None
                if pending is None:
                    break
            frame = next(reader.frames, None)
        if pending is not None:
            out.append(FrameSample(pending[0], pending[1]))
        return out
