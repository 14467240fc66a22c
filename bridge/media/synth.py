"""Synthetic test media, encoded with PyAV: deterministic, with known cut times.

Everyone's tests, the demo and the benchmarks use these files instead of real footage.

    from bridge.media.synth import SceneSpec, encode_scenes

    cuts_s = encode_scenes(
        tmp / "a.mp4",
        [
            SceneSpec(2.0, background=(200, 30, 30), audio="tone", tone_hz=440),
            SceneSpec(3.0, background=(20, 20, 200), shapes=3, speed_px_s=80, audio="speech"),
        ],
        width=320, height=180, rate=Fraction(25),
    )  # -> [2.0]: the first frame of each scene after the first, in seconds

* Scenes start exactly on frame boundaries (frame ``round(t * rate)``); the returned cut
  times are those frames' timestamps, so a detector must find them within one frame.
* Video is H.264 (libx264) in MP4, yuv420p, BT.601 limited range; audio is mono AAC.
* Variants: ``rate=Fraction(30000, 1001)``; ``vfr=True`` (irregular frame timestamps);
  ``rotation_deg=90`` (a phone-style file: the picture is stored turned and a display
  matrix tells players to turn it back; the upright picture is ``width`` x ``height``);
  :func:`encode_still` (PNG/JPEG), :func:`encode_audio` (WAV or M4A, no video) and
  :func:`write_not_media` (random bytes).
* The drawn pictures and sounds are deterministic. The encoded bytes almost always are
  too, but PyAV's x264 build is occasionally not bit-exact between runs (differences at
  the quantisation-noise level), so compare decoded pictures with a small tolerance.
* Large sizes (1920x1080) are fast enough for benchmarks: frames are drawn straight into
  YUV planes, and a static scene reuses one frame.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np

RGB = tuple[int, int, int]
AudioKind = Literal["silence", "tone", "noise", "speech"]

_VFR_TIME_BASE = Fraction(1, 90_000)


@dataclass(frozen=True)
class SceneSpec:
    """One scene: a solid background, optional moving squares, a flash, and its sound.

    ``speed_px_s`` is the squares' speed at the scene start; ``speed_end_px_s`` (if set)
    is their speed at its end, ramped linearly. ``flash_at_s`` puts one all-white frame
    at that time from the scene start. ``band`` paints the top quarter of the picture
    in another colour (shows which way is up). ``level_dbfs`` is the audio peak level.

    Gradual transitions blend the planes linearly: a dissolve or fade-in of ``d`` seconds
    spans [scene start, scene start + d) (its first frame already part-way, the frame at
    start + d the pure picture); a fade-out spans [scene end - d, scene end).
    """

    duration_s: float
    background: RGB = (128, 128, 128)
    shapes: int = 0
    speed_px_s: float = 0.0
    speed_end_px_s: float | None = None
    shape_size_px: int = 24
    shape_color: RGB = (240, 240, 240)
    flash_at_s: float | None = None
    band: RGB | None = None
    audio: AudioKind = "silence"
    tone_hz: float = 440.0
    level_dbfs: float = -18.0
    dissolve_in_s: float = 0.0  # blend in from the previous scene's last picture
    fade_in_s: float = 0.0  # rise from ``fade_colour`` at the start
    fade_out_s: float = 0.0  # sink into ``fade_colour`` at the end
    fade_colour: RGB = (0, 0, 0)


# ---------------------------------------------------------------- picture


def _yuv601(rgb: RGB) -> tuple[int, int, int]:
    """BT.601 limited-range YCbCr of an RGB colour (what swscale assumes by default)."""
    r, g, b = (float(c) for c in rgb)
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return tuple(int(np.clip(round(c), 0, 255)) for c in (y, u, v))  # type: ignore[return-value]


def _fill(planes: tuple[np.ndarray, np.ndarray, np.ndarray], rgb: RGB,
          x0: int, y0: int, x1: int, y1: int) -> None:
    """Paint an upright rectangle (full-resolution pixel coordinates) into Y, U, V planes."""
    y, u, v = _yuv601(rgb)
    planes[0][y0:y1, x0:x1] = y
    planes[1][y0 // 2:(y1 + 1) // 2, x0 // 2:(x1 + 1) // 2] = u
    planes[2][y0 // 2:(y1 + 1) // 2, x0 // 2:(x1 + 1) // 2] = v


def _blank(width: int, height: int, rgb: RGB) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, u, v = _yuv601(rgb)
    return (
        np.full((height, width), y, np.uint8),
        np.full((height // 2, width // 2), u, np.uint8),
        np.full((height // 2, width // 2), v, np.uint8),
    )


def _bounce(pos: np.ndarray, span: float) -> np.ndarray:
    """Fold an unbounded coordinate into [0, span] as if it bounced off both walls."""
    if span <= 0:
        return np.zeros_like(pos)
    m = np.mod(pos, 2 * span)
    return np.where(m > span, 2 * span - m, m)


class _ScenePainter:
    """Draws the frames of one scene; static scenes are drawn once."""

    def __init__(self, spec: SceneSpec, index: int, width: int, height: int) -> None:
        self.spec, self.width, self.height = spec, width, height
        base = _blank(width, height, spec.background)
        if spec.band is not None:
            _fill(base, spec.band, 0, 0, width, max(2, height // 4))
        self.base = base
        rng = np.random.default_rng(1000 + index)
        n = spec.shapes
        self.start_xy = rng.uniform(0, 1, size=(n, 2)) * [width, height]
        angle = rng.uniform(0, 2 * np.pi, size=n)
        self.direction = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        self.static = n == 0 or (spec.speed_px_s == 0 and not spec.speed_end_px_s)

    def distance_px(self, t_s: float) -> float:
        """Distance travelled since the scene start under the linear speed ramp."""
        v0 = self.spec.speed_px_s
        v1 = v0 if self.spec.speed_end_px_s is None else self.spec.speed_end_px_s
        dur = max(self.spec.duration_s, 1e-9)
        return v0 * t_s + (v1 - v0) * t_s * t_s / (2 * dur)

    def planes(self, t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.static:
            return self.base
        out = tuple(p.copy() for p in self.base)
        size = self.spec.shape_size_px
        xy = self.start_xy + self.direction * self.distance_px(t_s)
        xs = _bounce(xy[:, 0], self.width - size)
        ys = _bounce(xy[:, 1], self.height - size)
        for x, y in zip(xs.astype(int), ys.astype(int)):
            _fill(out, self.spec.shape_color, x, y, x + size, y + size)  # type: ignore[arg-type]
        return out  # type: ignore[return-value]


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def _to_frame(planes: Planes, rotation_deg: int) -> av.VideoFrame:
    """Pack upright planes into a yuv420p frame, stored turned by -rotation_deg."""
    if rotation_deg:
        k = -(rotation_deg // 90)  # stored picture is turned clockwise; the matrix turns it back
        planes = tuple(np.ascontiguousarray(np.rot90(p, k)) for p in planes)  # type: ignore[assignment]
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, data in zip(frame.planes, planes):
        pad = plane.line_size - data.shape[1]  # rows may be padded for alignment
        plane.update(np.pad(data, ((0, 0), (0, pad))) if pad else data)
    return frame


# ---------------------------------------------------------------- sound


def _scene_audio(spec: SceneSpec, n: int, sr: int, seed: int) -> np.ndarray:
    """Mono float32 samples for one scene, peak near ``level_dbfs``."""
    amp = 10 ** (spec.level_dbfs / 20)
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    if spec.audio == "silence" or n == 0:
        return np.zeros(n, np.float32)
    if spec.audio == "tone":
        return (amp * np.sin(2 * np.pi * spec.tone_hz * t)).astype(np.float32)
    if spec.audio == "noise":
        signal = rng.standard_normal(n)
    elif spec.audio == "speech":
        signal = _speech_like(n=n, sr=sr, rng=rng)
    else:
        raise ValueError(f"unknown audio kind {spec.audio!r}")
    return (amp * signal / max(np.abs(signal).max(), 1e-12)).astype(np.float32)


def _speech_like(*, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Voiced noise in syllables (~4-5 per second), phrases of 3-7 syllables, pauses between."""
    t = np.arange(n) / sr
    f0 = 140 + 25 * np.sin(2 * np.pi * 0.7 * t)  # a slowly gliding pitch
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    carrier = 0.6 * voiced / 2.6 + 0.4 * np.clip(rng.standard_normal(n) / 3, -1, 1)
    env = np.zeros(n)
    pos = int(rng.uniform(0.05, 0.3) * sr)
    while pos < n:
        for _ in range(int(rng.integers(3, 8))):
            syl = int(rng.uniform(0.12, 0.24) * sr)
            end = min(pos + syl, n)
            env[pos:end] = np.hanning(syl)[: end - pos]
            pos += syl + int(rng.uniform(0.02, 0.08) * sr)
            if pos >= n:
                break
        pos += int(rng.uniform(0.3, 0.8) * sr)  # pause between phrases
    return np.clip(carrier * env, -1, 1)


def _audio_track(scenes: Sequence[SceneSpec], bounds_s: Sequence[float], sr: int) -> np.ndarray:
    parts = []
    for i, spec in enumerate(scenes):
        n = round(bounds_s[i + 1] * sr) - round(bounds_s[i] * sr)
        parts.append(_scene_audio(spec, n, sr, seed=2000 + i))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _audio_frame(samples: np.ndarray, sr: int, start: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples[np.newaxis, :], format="fltp", layout="mono")
    frame.sample_rate = sr
    frame.pts = start
    frame.time_base = Fraction(1, sr)
    return frame


# ---------------------------------------------------------------- files


def _atomic_target(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def _frame_times(total_s: float, rate: Fraction, vfr: bool) -> list[Fraction]:
    """Presentation times of every frame; irregular (but increasing) when ``vfr``."""
    n = round(Fraction(total_s) * rate)
    if not vfr:
        return [Fraction(i) / rate for i in range(n)]
    rng = np.random.default_rng(7)
    step = 1 / rate
    times, t = [], Fraction(0)
    end = Fraction(total_s)
    while t < end - step / 4:
        times.append(t)
        # gaps between 0.5 and 1.6 frames, on a 90 kHz clock, like a phone under load
        gap = Fraction(round(float(step) * rng.choice([0.5, 1.0, 1.0, 1.6]) * 90_000), 90_000)
        t += gap
    return times


def _gradual_start(scenes: Sequence[SceneSpec], s: int) -> bool:
    """Whether scene ``s`` begins without a hard cut (a dissolve, or a fade through a colour)."""
    return bool(scenes[s].dissolve_in_s or scenes[s].fade_in_s or scenes[s - 1].fade_out_s)


def _blend_weight(spec: SceneSpec, scenes: Sequence[SceneSpec], s: int, local_t: float,
                  rate: Fraction) -> tuple[RGB | None, float] | None:
    """(what to blend with: a colour, or None for the previous scene; its weight) or None."""
    k = round(local_t * float(rate))  # frame index in the scene
    if spec.dissolve_in_s and s > 0 and local_t < spec.dissolve_in_s - 1e-9:
        n = round(spec.dissolve_in_s * float(rate))
        return None, 1 - (k + 1) / (n + 1)
    if spec.fade_in_s and local_t < spec.fade_in_s - 1e-9:
        n = round(spec.fade_in_s * float(rate))
        return spec.fade_colour, 1 - (k + 1) / (n + 1)
    if spec.fade_out_s:
        n = round(spec.fade_out_s * float(rate))
        total = round(spec.duration_s * float(rate))
        j = k - (total - n)  # frame index in the fade-out
        if 0 <= j < n:
            return spec.fade_colour, (j + 1) / (n + 1)
    return None


def encode_scenes(
    path: str | Path,
    scenes: Sequence[SceneSpec],
    *,
    width: int = 320,
    height: int = 180,
    rate: Fraction = Fraction(25),
    audio: bool = True,
    sr: int = 48_000,
    gop: int | None = None,
    vfr: bool = False,
    rotation_deg: int = 0,
    preset: str = "veryfast",
    crf: int = 23,
) -> list[float]:
    """Encode scenes back to back into one video file; return the cut times in seconds.

    ``gop`` is the keyframe interval in frames (x264's default, 250, when None).
    ``rotation_deg`` (0/90/180/270, counter-clockwise, as read back by ``probe``) stores
    the picture turned the other way so that players show it upright.
    """
    path = Path(path)
    rate = Fraction(rate)
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even, got {width}x{height}")
    if rotation_deg % 90:
        raise ValueError(f"rotation_deg must be a multiple of 90, got {rotation_deg}")
    rotation_deg %= 360
    # scene boundaries snapped to frame boundaries (exact for CFR)
    bounds_f = [Fraction(0)]
    for spec in scenes:
        bounds_f.append(Fraction(round((bounds_f[-1] + Fraction(spec.duration_s)) * rate)) / rate)
    total = bounds_f[-1]
    times = _frame_times(float(total), rate, vfr)
    if not times:
        raise ValueError("scenes add up to less than one frame")
    scene_of = np.searchsorted([float(b) for b in bounds_f[1:-1]], [float(t) for t in times],
                               side="right")
    painters = [_ScenePainter(s, i, width, height) for i, s in enumerate(scenes)]
    stored_w, stored_h = (height, width) if rotation_deg in (90, 270) else (width, height)

    tmp = _atomic_target(path)
    try:
        with av.open(str(tmp), "w", format="mp4") as out:
            vs = out.add_stream("libx264", rate=rate)
            vs.width, vs.height, vs.pix_fmt = stored_w, stored_h, "yuv420p"
            opts = {"preset": preset, "crf": str(crf)}
            if gop is not None:
                vs.codec_context.gop_size = gop
                opts["keyint"] = str(gop)
                opts["min-keyint"] = str(min(gop, 25))
                opts["scenecut"] = "0"
            vs.codec_context.options = opts
            vs.time_base = _VFR_TIME_BASE if vfr else 1 / rate
            vs.codec_context.time_base = vs.time_base
            if rotation_deg:
                vs.set_display_rotation(rotation_deg)
            track = None
            as_ = None
            if audio:
                track = _audio_track(scenes, [float(b) for b in bounds_f], sr)
                as_ = out.add_stream("aac", rate=sr, layout="mono")
            written = 0  # audio samples muxed so far
            cuts: list[float] = []
            last_scene = -1
            static_frames: dict[int, av.VideoFrame] = {}
            for i, t in enumerate(times):
                s = int(scene_of[i])
                if s != last_scene and s > 0 and not _gradual_start(scenes, s):
                    cuts.append(float(t))
                last_scene = s
                painter = painters[s]
                local_t = float(t - bounds_f[s])
                spec = scenes[s]
                flash_here = spec.flash_at_s is not None and (
                    abs(local_t - spec.flash_at_s) < 0.5 / float(rate)
                )
                blend = _blend_weight(spec, scenes, s, local_t, rate)
                if flash_here:
                    frame = _to_frame(_blank(width, height, (255, 255, 255)), rotation_deg)
                elif blend is not None:
                    other, weight = blend
                    if other is None:  # the previous scene's last picture
                        prev = scenes[s - 1]
                        other_planes = painters[s - 1].planes(
                            float(bounds_f[s] - bounds_f[s - 1]) - 1 / float(rate))
                        if prev.fade_out_s:
                            other_planes = _blank(width, height, prev.fade_colour)
                    else:
                        other_planes = _blank(width, height, other)
                    mixed = tuple(
                        np.round((1 - weight) * a.astype(np.float32)
                                 + weight * b.astype(np.float32)).astype(np.uint8)
                        for a, b in zip(painter.planes(local_t), other_planes)
                    )
                    frame = _to_frame(mixed, rotation_deg)  # type: ignore[arg-type]
                elif painter.static:
                    if s not in static_frames:
                        static_frames = {s: _to_frame(painter.base, rotation_deg)}
                    frame = static_frames[s]
                else:
                    frame = _to_frame(painter.planes(local_t), rotation_deg)
                frame.pts = int(t / vs.time_base)
                frame.time_base = vs.time_base
                out.mux(vs.encode(frame))
                if as_ is not None and track is not None:
                    upto = min(len(track), round((float(t) + 1.0 / float(rate)) * sr))
                    while written < upto:
                        chunk = track[written: min(upto, written + 4096)]
                        out.mux(as_.encode(_audio_frame(chunk, sr, written)))
                        written += len(chunk)
            out.mux(vs.encode(None))
            if as_ is not None and track is not None:
                if written < len(track):
                    out.mux(as_.encode(_audio_frame(track[written:], sr, written)))
                out.mux(as_.encode(None))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return cuts


def encode_still(
    path: str | Path,
    *,
    width: int = 320,
    height: int = 180,
    color: RGB = (30, 160, 90),
    band: RGB | None = None,
) -> None:
    """Write a single image (PNG, or JPEG for .jpg/.jpeg) with a solid colour and optional band."""
    path = Path(path)
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:] = color
    if band is not None:
        rgb[: max(2, height // 4)] = band
    codec = "mjpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "png"
    tmp = _atomic_target(path)
    try:
        with av.open(str(tmp), "w", format="image2") as out:
            st = out.add_stream(codec, rate=1)
            st.width, st.height = width, height
            st.pix_fmt = "yuvj444p" if codec == "mjpeg" else "rgb24"
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if codec == "mjpeg":
                frame = frame.reformat(format="yuvj444p")
            frame.pts = 0
            out.mux(st.encode(frame))
            out.mux(st.encode(None))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def encode_audio(path: str | Path, scenes: Sequence[SceneSpec], *, sr: int = 48_000) -> None:
    """Write only the scenes' sound: 16-bit WAV for .wav, AAC in MP4 for .m4a."""
    path = Path(path)
    bounds = [0.0]
    for s in scenes:
        bounds.append(bounds[-1] + s.duration_s)
    track = _audio_track(scenes, bounds, sr)
    wav = path.suffix.lower() == ".wav"
    tmp = _atomic_target(path)
    try:
        with av.open(str(tmp), "w", format="wav" if wav else "mp4") as out:
            st = out.add_stream("pcm_s16le" if wav else "aac", rate=sr, layout="mono")
            for start in range(0, len(track), 4096):
                out.mux(st.encode(_audio_frame(track[start:start + 4096], sr, start)))
            out.mux(st.encode(None))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_not_media(path: str | Path, *, size_bytes: int = 4096, seed: int = 0) -> None:
    """Random bytes under a media-looking name (e.g. ``broken.mp4``)."""
    data = np.random.default_rng(seed).integers(0, 256, size_bytes, dtype=np.uint8).tobytes()
    Path(path).write_bytes(data)
