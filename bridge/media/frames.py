"""Picture samples for analysis: a few downscaled RGB frames per second, fast.

Decoding is the cost of analysis, so the sampler plans its reads from the container's
keyframe index. Two plans:

* Keyframes (short GOP, intra-only): where every keyframe interval around the range is at
  most ``MAX_KEYFRAME_INTERVAL_S`` (1 s), samples sit on keyframes and each costs the
  keyframe plus the one frame after it (the successor, for motion): nothing else is decoded.
  See :func:`_keyframe_plan` for which keyframes are taken.
* Grid (long GOP, no index): samples at ``start_s + i / rate_hz``, the frame on screen at
  each time. It decodes forward, and jumps (seeks) only where the next sample lies beyond a
  keyframe far enough ahead that skipping the frames in between pays for the seek; a
  keyframe within a quarter of the sample spacing of a wanted time is sampled itself.

Only kept frames are converted (libswscale scales and converts to RGB in one step).
Media time here is seconds from the start of the file (the container's start time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from bridge.errors import InvalidOptionError
from bridge.media._container import OpenFile, is_image_format, open_shared, origin_s, video_stream
from bridge.media.probe import upright_rotation
from bridge.progress import CancelToken
from bridge.types import FrameSample

Strategy = Literal["auto", "keyframes", "grid", "sequential", "seek"]

# A seek costs about as much as decoding this many frames. Measured (CPU time) with
# bench/bench_decode.py on 1080p H.264: seeking pays almost as soon as it skips anything.
SEEK_COST_FRAMES = 2
# Without a keyframe index we cannot tell what a seek skips: seek only over long gaps.
NO_INDEX_SEEK_GAP_S = 5.0
_EPS_S = 1e-6
# The keyframe plan applies where no keyframe interval around the range is longer than this
# (the DESIGN's floor of one sample a second), with half a frame of tolerance.
MAX_KEYFRAME_INTERVAL_S = 1.0
# Keyframes a median interval of at least this fraction of the sample spacing apart are all
# taken (the sample rate becomes the keyframe rate, at most ~10 % above rate_hz); denser ones
# are snapped to the grid.
ALL_KEYFRAMES_SPACING = 0.9
# ... except a keyframe closer than this fraction of the spacing after the previous sample
# (an extra keyframe at a scene cut; VFR intervals vary by a frame or so around the median).
MIN_GAP_SPACING = 0.75
# Each keyframe sample starts a fresh decode of a few frames: frame threads would decode
# ahead in vain (measured: more CPU than slice threads on 1080p H.264).
KEYFRAME_THREAD_TYPE = "SLICE"
# Long sequential runs (the grid plan, every frame of a range): frame threads.
SEQUENTIAL_THREAD_TYPE = "AUTO"
# Containers kept open between media calls (``reuse_open_files``) are told apart by use,
# since a decoder's thread type is fixed once it has decoded.
_KEYFRAME_USE, _SEQUENTIAL_USE = "video-keyframes", "video-sequential"


@dataclass
class DecodeStats:
    """What one call cost: packets sent to the decoder, frames it returned, seeks, frames
    converted to RGB, the plan."""

    packets: int = 0
    frames: int = 0
    seeks: int = 0
    converted: int = 0
    plan: str = ""  # "keyframes", "grid" or "still"


@dataclass
class _Keyframes:
    """Keyframes from the container index: their approximate presentation times and where
    to seek to land on each. MP4/MOV index decode times; with B-frames those lie before the
    presentation times by about the stream's first-frame delay (exactly, at a constant
    frame rate), which is added back. Seeks go to the middle of each keyframe's interval,
    so that a keyframe lands on itself even where the estimate is a frame or two off."""

    times_s: np.ndarray  # presentation times, media seconds (estimates)
    seek_ts: np.ndarray  # int, stream time base: seeking (backward) here lands on the keyframe


@dataclass
class _Reader:
    """One open video stream with a one-frame look-ahead (the sample's successor)."""

    container: av.container.InputContainer
    stream: av.VideoStream
    origin_s: float
    frames: Iterator[av.VideoFrame] | None = None
    current: av.VideoFrame | None = None
    ahead: av.VideoFrame | None = None
    stats: DecodeStats = field(default_factory=DecodeStats)

    def _decode(self) -> Iterator[av.VideoFrame]:
        # not a generator method: one holding ``self`` while ``self.frames`` holds it would
        # make a reference cycle, keeping decoded frames alive until the cyclic GC runs
        return _counted_decode(self.container, self.stream, self.stats)

    def time_s(self, frame: av.VideoFrame) -> float:
        return float(frame.time or 0.0) - self.origin_s

    def seek(self, t_s: float) -> None:
        """Jump to the keyframe at or before media time ``t_s``; prime the look-ahead."""
        offset = math.floor((t_s + self.origin_s) / float(self.stream.time_base))
        self.seek_ts(max(offset, 0))

    def seek_ts(self, ts: int) -> None:
        """Jump to the keyframe at or before timestamp ``ts``; prime the look-ahead."""
        self.container.seek(int(ts), stream=self.stream, backward=True)
        self.stats.seeks += 1
        self.frames = self._decode()
        self.current = None
        self.ahead = next(self.frames, None)

    def start(self) -> None:
        self.frames = self._decode()
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

    def step(self) -> None:
        """Move to the next frame (``current`` becomes None at the end)."""
        assert self.frames is not None
        self.current = self.ahead
        self.ahead = None if self.ahead is None else next(self.frames, None)

    def next_time_s(self) -> float:
        return math.inf if self.ahead is None else self.time_s(self.ahead)


def _counted_decode(container: av.container.InputContainer, stream: av.VideoStream,
                    stats: DecodeStats) -> Iterator[av.VideoFrame]:
    """``container.decode(stream)``, counting packets in and frames out."""
    for packet in container.demux(stream):
        if packet.size:
            stats.packets += 1
        for frame in packet.decode():
            stats.frames += 1
            yield frame


@dataclass
class _Scaler:
    """Converts frames to upright RGB ``width`` px wide (size fixed by the first frame).

    One libswscale context serves every frame (``frame.to_ndarray`` would set up a new one,
    with its filters and threads, for each), on this thread: the cost of a conversion is
    then the area filter over the full-size picture, about 1 ms for 1080p."""

    width: int
    size: tuple[int, int] | None = None
    rotation: int = 0
    stats: DecodeStats | None = None
    reformatter: VideoReformatter = field(default_factory=VideoReformatter)

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self.stats is not None:
            self.stats.converted += 1
        if self.size is None:
            self.rotation = upright_rotation(frame)
            self.size = _out_size(stored_w=frame.width, stored_h=frame.height,
                                  rotation_deg=self.rotation, width=self.width)
        rgb = self.reformatter.reformat(frame, width=self.size[0], height=self.size[1],
                                        format="rgb24", interpolation="AREA",
                                        threads=1).to_ndarray()
        return _upright(rgb, self.rotation)


def _take(reader: _Reader, scale: _Scaler, with_successor: bool) -> FrameSample:
    """The reader's current frame as a sample, with the next frame as its successor."""
    frame = reader.current
    assert frame is not None
    time_s = reader.time_s(frame)
    succ, dt = None, 0.0
    if with_successor and reader.ahead is not None:
        succ = scale(reader.ahead)
        dt = reader.time_s(reader.ahead) - time_s
    return FrameSample(time_s=time_s, rgb=scale(frame), successor=succ, successor_dt_s=dt)


def _out_size(*, stored_w: int, stored_h: int, rotation_deg: int, width: int) -> tuple[int, int]:
    """Stored-orientation (w, h) to scale to, so the upright result is ``width`` wide."""
    up_w, up_h = (stored_h, stored_w) if rotation_deg in (90, 270) else (stored_w, stored_h)
    height = max(1, round(width * up_h / up_w))
    return (height, width) if rotation_deg in (90, 270) else (width, height)


def _upright(rgb: np.ndarray, rotation_deg: int) -> np.ndarray:
    if rotation_deg:
        rgb = np.ascontiguousarray(np.rot90(rgb, rotation_deg // 90))
    return rgb


def _keyframe_times_s(stream: av.VideoStream, origin: float) -> np.ndarray | None:
    """Keyframe times from the container index (decode timestamps: close enough to plan)."""
    tb = float(stream.time_base)
    times = [e.timestamp * tb - origin for e in stream.index_entries if e.is_keyframe]
    return np.asarray(sorted(times)) if times else None


def _keyframe_index(stream: av.VideoStream, origin: float) -> _Keyframes | None:
    """Keyframe timestamps and presentation times, or None without an index."""
    entries = sorted(e.timestamp for e in stream.index_entries if e.is_keyframe)
    if not entries:
        return None
    tb = float(stream.time_base)
    shift = 0  # MP4 indexes decode times: with B-frames the first keyframe shows later
    if stream.start_time is not None and 0 < (stream.start_time - entries[0]) * tb <= 1.0:
        shift = stream.start_time - entries[0]
    ts = np.asarray(entries, dtype=np.int64) + shift
    half = np.diff(ts) // 2
    seek_ts = ts + np.concatenate([half, half[-1:] if len(half) else [0]])
    return _Keyframes(times_s=ts * tb - origin, seek_ts=seek_ts)


def _file_keyframe_index(file: OpenFile, stream: av.VideoStream) -> _Keyframes | None:
    """``_keyframe_index`` of a file's video stream, built once per open file."""
    if "keyframe_index" not in file.memo:
        file.memo["keyframe_index"] = _keyframe_index(stream, origin_s(file.container))
    return file.memo["keyframe_index"]


def _file_keyframe_times_s(file: OpenFile, stream: av.VideoStream) -> np.ndarray | None:
    if "keyframe_times" not in file.memo:
        file.memo["keyframe_times"] = _keyframe_times_s(stream, origin_s(file.container))
    return file.memo["keyframe_times"]


def _set_thread_type(stream: av.VideoStream, thread_type: str) -> None:
    """Set before the decoder first runs; a reused one keeps what it was opened with (the
    callers sharing it ask for the same)."""
    if not stream.codec_context.is_open:
        stream.thread_type = thread_type


def _keyframe_plan(
    keyframes_s: np.ndarray, start_s: float, end_s: float, rate_hz: float, *,
    frame_s: float, force: bool = False,
) -> np.ndarray | None:
    """Indices of the keyframes to sample in [start_s, end_s), or None where the GOP is long.

    The plan applies when every keyframe interval overlapping the range (from the keyframe
    at or before ``start_s`` to the first at or after ``end_s``, or to ``end_s`` at the end
    of the file) is at most MAX_KEYFRAME_INTERVAL_S (1 s, plus half a frame); ``force``
    applies it whatever the intervals. With S = 1 / rate_hz and K the median interval:

    * K >= 0.9 S (keyframes at most ~10 % denser than rate_hz: GOP 12 at 25 fps for 2 Hz,
      GOP 25 at 25 fps): every keyframe in the range, except one closer than 0.75 S after
      the previous sample (an extra keyframe at a scene cut). The sample rate is the
      keyframe rate: between 1 / MAX_KEYFRAME_INTERVAL_S and ~1.1 rate_hz.
    * K < 0.9 S (denser, intra-only included): the keyframe nearest each grid time
      ``start_s + i S`` (ties to the earlier), each once: about rate_hz samples, each
      within K / 2 of its grid time (intra-only: the frame nearest the grid time).

    Only keyframes inside the range are taken, so the result may be empty (a range shorter
    than a GOP); the caller then samples the first frame of the range.
    """
    kf = keyframes_s
    lo = int(np.searchsorted(kf, start_s + _EPS_S, side="right")) - 1  # last at/before start
    hi = int(np.searchsorted(kf, end_s - _EPS_S, side="left"))  # first at/after end
    bounds = kf[max(lo, 0): hi + 1]
    if lo < 0:
        bounds = np.concatenate([[start_s], bounds])
    if hi >= len(kf):
        bounds = np.concatenate([bounds, [end_s]])
    gaps = np.diff(bounds)
    if not force and (len(gaps) == 0 or gaps.max() > MAX_KEYFRAME_INTERVAL_S + frame_s / 2):
        return None
    full = np.diff(kf[max(lo, 0): min(hi, len(kf) - 1) + 1])
    interval = float(np.median(full)) if len(full) else float(gaps.max(initial=math.inf))
    spacing = 1.0 / rate_hz
    inside = np.flatnonzero((kf >= start_s - _EPS_S) & (kf < end_s - _EPS_S))
    if len(inside) == 0:
        return inside
    if interval >= ALL_KEYFRAMES_SPACING * spacing:
        taken = [int(inside[0])]
        for i in inside[1:]:
            if kf[i] - kf[taken[-1]] >= MIN_GAP_SPACING * spacing - _EPS_S:
                taken.append(int(i))
        return np.asarray(taken, dtype=np.int64)
    times = kf[inside]
    taken = []
    for t in _targets_s(start_s, end_s, rate_hz):
        j = int(np.searchsorted(times, t))  # times[j - 1] < t <= times[j]
        if j == len(times) or (j > 0 and t - times[j - 1] <= times[j] - t + _EPS_S):
            j -= 1
        if not taken or taken[-1] != inside[j]:
            taken.append(int(inside[j]))
    return np.asarray(taken, dtype=np.int64)


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
    stats: DecodeStats | None = None,
) -> list[FrameSample]:
    """About ``rate_hz`` upright RGB frames per second of media time [start_s, end_s).

    Each sample is ``width`` px wide (aspect kept); ``time_s`` is its own media time, always
    inside the range. ``successor`` is the next decoded frame and ``successor_dt_s`` its
    time gap (a still repeats its one image). An audio-only file gives [].

    Read plans (``strategy``; the others force one, for benchmarks):

    * "auto": "keyframes" where the GOP is short (every keyframe interval around the range
      at most 1 s, intra-only included), else "grid".
    * "keyframes": samples on keyframes, each decoded with its successor and nothing else
      (see ``_keyframe_plan``): between 1 and ~1.1 ``rate_hz`` samples a second on a short
      GOP; a range holding no keyframe gets one sample, its first frame. Forced on a long
      GOP it takes every keyframe in the range.
    * "grid": a sample at ``start_s + i / rate_hz`` (the frame on screen then), seeking
      where that skips enough frames; "sequential" never seeks, "seek" always does.

    ``stats``, when given, receives what the call decoded (for tests and benchmarks).
    """
    path = Path(path)
    _check_range(path, start_s, end_s, rate_hz=rate_hz, width=width)
    stats = DecodeStats() if stats is None else stats
    targets = _targets_s(start_s, end_s, rate_hz)
    with open_shared(path, _KEYFRAME_USE) as file:
        container = file.container
        stream = video_stream(container)
        if stream is None or len(targets) == 0:
            return []
        if is_image_format(container):
            stats.plan = "still"
            return _repeat_still(container, stream, targets, width, rate_hz)
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        if strategy in ("auto", "keyframes"):
            index = _file_keyframe_index(file, stream)
            plan = None if index is None else _keyframe_plan(
                index.times_s, start_s, end_s, rate_hz, frame_s=1.0 / fps,
                force=strategy == "keyframes")
            if index is not None and plan is not None:
                stats.plan = "keyframes"
                _set_thread_type(stream, KEYFRAME_THREAD_TYPE)
                reader = _Reader(container, stream, origin_s(container), stats=stats)
                return _sample_keyframes(reader, index, plan, start_s, end_s,
                                         scale=_Scaler(width, stats=stats),
                                         with_successor=with_successor, cancel=cancel)
    stats.plan = "grid"
    with open_shared(path, _SEQUENTIAL_USE) as file:
        container = file.container
        stream = video_stream(container)
        if stream is None:
            return []
        _set_thread_type(stream, SEQUENTIAL_THREAD_TYPE)
        reader = _Reader(container, stream, origin_s(container), stats=stats)
        scale = _Scaler(width, stats=stats)
        keyframes = _file_keyframe_times_s(file, stream)
        snap_s = 0.25 / rate_hz
        samples: list[FrameSample] = []
        for t in targets:
            if cancel is not None:
                cancel.raise_if_cancelled()
            jump = reader.frames is None or _worth_seeking(
                t_s=t + snap_s, next_s=reader.next_time_s(), keyframes_s=keyframes,
                fps=fps, strategy=strategy,
            )
            if jump:
                # a container lent again is wherever its last reader left it: seek
                if reader.frames is None and t <= _EPS_S and strategy != "seek" and (
                        not file.reused):
                    reader.start()
                else:
                    reader.seek(t + snap_s)
                if reader.ahead is not None and reader.time_s(reader.ahead) >= t - snap_s:
                    reader.step()
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
            samples.append(_take(reader, scale, with_successor))
        return samples


def _sample_keyframes(
    reader: _Reader, index: _Keyframes, plan: np.ndarray, start_s: float, end_s: float, *,
    scale: _Scaler, with_successor: bool, cancel: CancelToken | None,
) -> list[FrameSample]:
    """Decode each planned keyframe and its successor; the range's first frame if none."""
    samples: list[FrameSample] = []

    def keep() -> None:
        if reader.current is None:
            return
        time_s = reader.time_s(reader.current)
        if start_s - _EPS_S <= time_s < end_s - _EPS_S and (
            not samples or time_s > samples[-1].time_s + _EPS_S
        ):
            samples.append(_take(reader, scale, with_successor))

    for i in plan:
        if cancel is not None:
            cancel.raise_if_cancelled()
        reader.seek_ts(int(index.seek_ts[i]))
        reader.step()  # the first frame decoded after the seek: the keyframe
        keep()
    if not samples:  # no keyframe in the range: its first frame, decoded from the one before
        if cancel is not None:
            cancel.raise_if_cancelled()
        reader.seek(start_s)
        reader.advance_to(start_s)
        if reader.current is not None and reader.time_s(reader.current) < start_s - _EPS_S:
            reader.step()
        keep()
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
    rgb = _Scaler(width)(frame)
    rgb.setflags(write=False)  # one array shared by every sample
    return [
        FrameSample(time_s=float(t), rgb=rgb, successor=rgb, successor_dt_s=1.0 / rate_hz)
        for t in targets
    ]


def frames_between(
    path: str | Path, start_s: float, end_s: float, *, width: int = 160,
    stats: DecodeStats | None = None,
) -> list[FrameSample]:
    """Every frame with media time in [start_s, end_s), each with its successor."""
    path = Path(path)
    _check_range(path, start_s, end_s, width=width)
    stats = DecodeStats() if stats is None else stats
    with open_shared(path, _SEQUENTIAL_USE) as file:
        container = file.container
        stream = video_stream(container)
        if stream is None or is_image_format(container):
            return []
        _set_thread_type(stream, SEQUENTIAL_THREAD_TYPE)
        reader = _Reader(container, stream, origin_s(container), stats=stats)
        reader.seek(start_s)
        out: list[FrameSample] = []
        scale = _Scaler(width, stats=stats)
        pending: tuple[float, np.ndarray] | None = None
        frame = reader.ahead
        while frame is not None:
            time_s = reader.time_s(frame)
            if time_s >= start_s - _EPS_S or pending is not None:
                rgb = scale(frame)
                if pending is not None:
                    out.append(FrameSample(pending[0], pending[1], rgb, time_s - pending[0]))
                pending = (time_s, rgb) if time_s < end_s - _EPS_S else None
                if pending is None:
                    break
            frame = next(reader.frames, None)
        if pending is not None:
            out.append(FrameSample(pending[0], pending[1]))
        return out


# Frames decoded between two checks while looking for a change: a change costs about
# n / stride + log2(stride) RGB conversions instead of n, and at most this many decoded
# frames are held (4 x 12 MB at 4K).
CHANGE_STRIDE = 4


@dataclass
class Change:
    """Where a picture change happens: the last frame before it, the first after it, and the
    frame after that (None at the end of the file), so a caller can tell a flash."""

    before: FrameSample
    after: FrameSample
    after_next: np.ndarray | None


def find_change(
    path: str | Path,
    start_s: float,
    end_s: float,
    is_after: Callable[[np.ndarray], bool],
    *,
    width: int = 160,
    stats: DecodeStats | None = None,
    accepted_at_s: float | None = None,
) -> Change | None:
    """The first frame in media time [start_s, end_s) that ``is_after`` accepts.

    ``is_after`` takes an upright RGB frame ``width`` px wide and must be monotone over the
    range (False up to the change, True from it on), as "looks more like the picture after
    the cut than before it" is across one cut. Instead of converting every frame, the
    search bisects: first over the keyframes inside the range (each probe decodes one
    keyframe), then, decoding forward from the keyframe before what is left, it checks
    every ``CHANGE_STRIDE``-th frame and bisects the held frames between the last rejected
    and the first accepted check. Decoding stops one frame after the change.

    ``accepted_at_s``: the media time of a frame the caller knows ``is_after`` accepts (a
    sample it has judged already): the search ends there, without decoding it to ask.

    None when the first frame is already accepted, nothing is, or the file has no
    decodable video: the caller then knows the predicate told it nothing.
    """
    path = Path(path)
    _check_range(path, start_s, end_s, width=width)
    stats = DecodeStats() if stats is None else stats
    with open_shared(path, _KEYFRAME_USE) as file:
        container = file.container
        stream = video_stream(container)
        if stream is None or is_image_format(container):
            return None
        _set_thread_type(stream, KEYFRAME_THREAD_TYPE)  # short runs that stop early
        reader = _Reader(container, stream, origin_s(container), stats=stats)
        scale = _Scaler(width, stats=stats)
        index = _file_keyframe_index(file, stream)
        if accepted_at_s is not None and start_s < accepted_at_s < end_s:
            end_s = accepted_at_s + 2 * _EPS_S  # as if a probe there had accepted it
        if index is not None:
            start_s, end_s = _narrow_by_keyframes(reader, index, start_s, end_s, is_after, scale,
                                                  accepted_at_s=accepted_at_s)
        return _scan_for_change(reader, start_s, end_s, is_after, scale)


def preroll_s(path: str | Path, t_s: float) -> float | None:
    """Seconds between the keyframe at or before media time ``t_s`` and ``t_s``: what a
    decoder must get through before showing ``t_s``. None without a keyframe index."""
    with open_shared(Path(path), _KEYFRAME_USE) as file:
        stream = video_stream(file.container)
        if stream is None or is_image_format(file.container):
            return None
        index = _file_keyframe_index(file, stream)
    if index is None:
        return None
    i = int(np.searchsorted(index.times_s, t_s + _EPS_S, side="right")) - 1
    return float(t_s - index.times_s[i]) if i >= 0 else float(t_s)


def _narrow_by_keyframes(
    reader: _Reader, index: _Keyframes, start_s: float, end_s: float,
    is_after: Callable[[np.ndarray], bool], scale: _Scaler, *,
    accepted_at_s: float | None = None,
) -> tuple[float, float]:
    """Bisect over the keyframes strictly inside the range (and before ``accepted_at_s``):
    the new range starts at the last rejected keyframe and ends just after the first
    accepted one."""
    stop_s = end_s if accepted_at_s is None else min(end_s, accepted_at_s)
    inside = np.flatnonzero((index.times_s > start_s + _EPS_S)
                            & (index.times_s < stop_s - _EPS_S))
    lo, hi = 0, len(inside)  # keyframes inside[:lo] rejected, inside[hi:] accepted
    while lo < hi:
        mid = (lo + hi) // 2
        reader.seek_ts(int(index.seek_ts[inside[mid]]))
        frame = reader.ahead  # the keyframe, decoded alone (its successor is not needed)
        if frame is None:
            break
        time_s = reader.time_s(frame)
        if not start_s - _EPS_S < time_s < end_s - _EPS_S:
            break  # the index estimate was off: leave the rest to the forward scan
        if is_after(scale(frame)):
            end_s, hi = time_s + _EPS_S * 2, mid
        else:
            start_s, lo = time_s, mid + 1
    return start_s, end_s


def _scan_for_change(
    reader: _Reader, start_s: float, end_s: float,
    is_after: Callable[[np.ndarray], bool], scale: _Scaler,
) -> Change | None:
    """Decode forward from ``start_s``: check every CHANGE_STRIDE-th frame, then bisect the
    frames held since the last rejected check."""
    reader.seek(start_s)
    rejected: tuple[av.VideoFrame, np.ndarray] | None = None
    held: list[av.VideoFrame] = []  # decoded since the last rejected check, unconverted
    while True:
        frame = reader.ahead
        if frame is not None and reader.time_s(frame) < start_s - _EPS_S:
            reader.step()
            continue
        in_range = frame is not None and reader.time_s(frame) < end_s - _EPS_S
        if in_range:
            held.append(frame)
            reader.step()
        if not held or (in_range and rejected is not None and len(held) < CHANGE_STRIDE):
            if not in_range:
                return None
            continue
        rgb = scale(held[-1])
        if not is_after(rgb):
            if not in_range:
                return None
            rejected, held = (held[-1], rgb), []
            continue
        if rejected is None:
            return None  # accepted from the first frame on: no change seen in the range
        return _bisect_held(reader, rejected, held, rgb, is_after, scale)


def _bisect_held(
    reader: _Reader, rejected: tuple[av.VideoFrame, np.ndarray], held: list[av.VideoFrame],
    last_rgb: np.ndarray, is_after: Callable[[np.ndarray], bool], scale: _Scaler,
) -> Change:
    """The change among ``held`` (its last frame accepted, the frame before it rejected)."""
    rgbs: dict[int, np.ndarray] = {-1: rejected[1], len(held) - 1: last_rgb}
    lo, hi = -1, len(held) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        rgbs[mid] = scale(held[mid])
        if is_after(rgbs[mid]):
            hi = mid
        else:
            lo = mid
    before = rejected[0] if lo < 0 else held[lo]
    nxt = held[hi + 1] if hi + 1 < len(held) else reader.ahead
    return Change(
        before=FrameSample(time_s=reader.time_s(before), rgb=rgbs[lo]),
        after=FrameSample(time_s=reader.time_s(held[hi]), rgb=rgbs[hi]),
        after_next=None if nxt is None else scale(nxt),
    )
