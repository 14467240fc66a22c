"""The picture pass: decode each shot once and keep only what later stages measure.

Decoding is the cost of analysis. Cut detection needs a colour histogram per sampled frame
and the affect sensor needs brightness, saturation, colourfulness, warmth, darkness and
motion; both used to decode the same frames separately. Here each shot is sampled once (at
``rate_hz``, downscaled to ``width``), every measurement is taken from those frames, and the
pixels are dropped, so an hour of picture costs a few megabytes.

Frame measures take one RGB frame ``(H, W, 3) uint8``. Units: brightness, saturation and
darkness share are fractions 0..1; warmth is a red-versus-blue balance -1..1; colourfulness
is Hasler & Süsstrunk's M on the 0..255 scale (about 0 grey, 33 moderately, 59 quite, 109
extremely colourful); motion is the mean absolute luma change per 1/25 s, as a fraction of
full scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bridge import media
from bridge.cache import AnalysisCache
from bridge.errors import MissingMediaError, UndecodableMediaError
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Clip, Edit

STAGE = "picture"
PICTURE_VERSION = 1  # bump when a measurement changes: cached entries of older versions go unused
MEDIA_MISSING = "media missing"
DARK_LUMA = 0.15  # luma below this (fraction of full scale) counts as a dark pixel
MOTION_REF_DT_S = 1 / 25  # motion is expressed per this frame interval
FADE_GAIN_RANGE = (2 / 3, 1.5)  # per-frame brightness gains taken as a fade (a flash jumps more)
COLOUR_FEATURES = ("brightness", "saturation", "colourfulness", "warmth", "dark_share")
_HUE_BINS, _SAT_BINS, _VAL_BINS, _GREY_BINS = 18, 2, 3, 4
_GREY_SAT = 0.15  # below this saturation hue is noise: such pixels are binned by value only
HISTOGRAM_BINS = _HUE_BINS * _SAT_BINS * _VAL_BINS + _GREY_BINS


# ---------------------------------------------------------------- frame measures


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB frame as float32 in 0..1."""
    x = rgb.astype(np.float32) / 255.0
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def brightness(rgb: np.ndarray) -> float:
    """Mean luma, 0 (black) .. 1 (white)."""
    return float(luma(rgb).mean())


def dark_share(rgb: np.ndarray, *, threshold: float = DARK_LUMA) -> float:
    """Fraction of pixels whose luma is below ``threshold`` (low-key lighting)."""
    return float((luma(rgb) < threshold).mean())


def _max_min(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel largest and smallest channel (as ``x.max(axis=-1)``, several times faster:
    numpy reduces an axis of three slowly)."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    return np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)


def saturation(rgb: np.ndarray) -> float:
    """Mean HSV saturation (max - min) / max; black pixels count as unsaturated."""
    hi, lo = _max_min(rgb.astype(np.float32))
    return _saturation(hi, lo)


def _saturation(hi: np.ndarray, lo: np.ndarray) -> float:
    sat = np.divide(hi - lo, hi, out=np.zeros_like(hi), where=hi > 0)
    return float(sat.mean())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness M on the 0..255 scale."""
    return _colourfulness(rgb.astype(np.float32))


def _colourfulness(x: np.ndarray) -> float:
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    spread = np.hypot(rg.std(), yb.std())
    mean = np.hypot(rg.mean(), yb.mean())
    return float(spread + 0.3 * mean)


def warmth(rgb: np.ndarray) -> float:
    """Warm/cool hue balance -1 (all blue) .. +1 (all red/orange/yellow).

    The red-minus-blue opponent signal divided by the brightest channel, as a ratio of
    sums over the frame so that dark noisy pixels carry little weight and the answer does
    not depend on exposure: pure red and pure yellow give 1, pure blue and cyan -1, grey 0.
    """
    x = rgb.astype(np.float32)
    return _warmth(x, _max_min(x)[0])


def _warmth(x: np.ndarray, hi: np.ndarray) -> float:
    peak = float(hi.sum())
    if peak <= 0:
        return 0.0
    return float((x[..., 0] - x[..., 2]).sum() / peak)


def motion(rgb: np.ndarray, successor: np.ndarray, *, dt_s: float) -> float:
    """Mean absolute luma change between a frame and the next, per 1/25 s, after the
    overall brightness change is taken out.

    A fade scales every pixel by the same gain: that is light, not movement, so the next
    frame is compared with this one times the gain between their means. Scaled linearly
    by ``MOTION_REF_DT_S / dt_s`` (small displacements change the picture in proportion to
    time) so 24p, 25p and 60p material compare.
    """
    if rgb.shape != successor.shape:
        raise ValueError(f"frame shapes differ: {rgb.shape} vs {successor.shape}")
    if dt_s <= 0:
        raise ValueError(f"dt_s must be positive, got {dt_s}")
    y0, y1 = luma(rgb), luma(successor)
    m0, m1 = float(y0.mean()), float(y1.mean())
    gain = float(np.clip(m1 / m0, *FADE_GAIN_RANGE)) if m0 > 1e-3 else 1.0
    diff = float(np.abs(y1 - gain * y0).mean())
    return diff * MOTION_REF_DT_S / dt_s


def hsv_histogram(rgb: np.ndarray) -> np.ndarray:
    """Normalised colour histogram of an (H, W, 3) uint8 RGB image, in HSV bins.

    Saturated pixels fall into hue x saturation x value bins; near-grey pixels into a
    few value-only bins, so that greys do not scatter across random hues. Hue is binned
    softly (each pixel split between its two nearest bin centres, circularly): with hard
    bins two clearly different hues, red and orange say, can share a bin and look equal.
    """
    x = rgb.reshape(-1, 3).astype(np.float32) / 255.0
    mx, mn = _max_min(x)
    chroma = mx - mn
    sat = np.where(mx > 0, chroma / np.maximum(mx, 1e-6), 0.0)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    safe = np.maximum(chroma, 1e-6)
    # hue in sextants: (g - b) / chroma mod 6 where red is largest, (b - r) / chroma + 2
    # where green is, (r - g) / chroma + 4 where blue is; one division, and the modulo as
    # "+ 6 below 0" (the quotient lies in -1..1): the same values, twice as fast
    red_top, green_top = mx == r, mx == g
    part = np.where(red_top, g - b, np.where(green_top, b - r, r - g)) / safe
    offset = np.where(green_top, np.float32(2), np.float32(4))
    hue = np.where(red_top, np.where(part < 0, part + 6, part), part + offset) / 6.0  # 0..1
    hue_pos = hue * _HUE_BINS
    floor = np.floor(hue_pos)
    h_lo = floor.astype(int) % _HUE_BINS
    h_hi = (h_lo + 1) % _HUE_BINS
    w_hi = hue_pos - floor
    s_bin = np.minimum(((sat - _GREY_SAT) / (1 - _GREY_SAT) * _SAT_BINS).astype(int), _SAT_BINS - 1)
    v_bin = np.minimum((mx * _VAL_BINS).astype(int), _VAL_BINS - 1)
    grey_idx = _HUE_BINS * _SAT_BINS * _VAL_BINS + np.minimum(
        (mx * _GREY_BINS).astype(int), _GREY_BINS - 1
    )
    grey = sat < _GREY_SAT
    idx_lo = np.where(grey, grey_idx, (h_lo * _SAT_BINS + s_bin) * _VAL_BINS + v_bin)
    idx_hi = np.where(grey, grey_idx, (h_hi * _SAT_BINS + s_bin) * _VAL_BINS + v_bin)
    w_hi = np.where(grey, 0.0, w_hi)
    hist = np.bincount(idx_lo, weights=1.0 - w_hi, minlength=HISTOGRAM_BINS)
    hist += np.bincount(idx_hi, weights=w_hi, minlength=HISTOGRAM_BINS)
    return hist / max(hist.sum(), 1.0)


def colour_measures(rgb: np.ndarray) -> tuple[float, ...]:
    """The frame's measures in ``COLOUR_FEATURES`` order: the values of ``brightness``,
    ``saturation``, ``colourfulness``, ``warmth`` and ``dark_share``, each pixel array
    computed once for all five."""
    x = rgb.astype(np.float32)
    hi, lo = _max_min(x)
    y = luma(rgb)
    return (float(y.mean()), _saturation(hi, lo), _colourfulness(x), _warmth(x, hi),
            float((y < DARK_LUMA).mean()))


# ---------------------------------------------------------------- the pass


@dataclass(frozen=True, eq=False)
class ShotPicture:
    """What one decode pass measured in one shot (sample i at ``media_times_s[i]``)."""

    shot: Clip
    media_times_s: np.ndarray  # (n,)
    record_times_s: np.ndarray  # (n,)
    histograms: np.ndarray  # (n, HISTOGRAM_BINS), for cut detection
    colour: np.ndarray  # (n, 5) in COLOUR_FEATURES order, for affect
    motion: np.ndarray  # (n,), NaN where the frame had no successor
    problem: str = ""  # why nothing could be read, e.g. "media missing"

    def __len__(self) -> int:
        return len(self.media_times_s)


def readable(clip: Clip) -> bool:
    """True when the clip points at a file that exists (decodability is found out later)."""
    return clip.media_path is not None and not clip.media_missing and clip.media_path.is_file()


def media_range(clip: Clip) -> tuple[float, float]:
    """The media-time interval a clip shows (reversed clips included), from 0 at the least."""
    a = clip.media_time(clip.record_start_s)
    b = clip.media_time(clip.record_end_s)
    return max(0.0, min(a, b)), max(a, b)


def record_time(clip: Clip, media_s: float) -> float:
    """Record time at which a (moving) clip shows media time ``media_s``."""
    return clip.record_start_s + (media_s - clip.media_start_s) / clip.speed


def _empty(shot: Clip, problem: str) -> ShotPicture:
    none = np.zeros(0)
    return ShotPicture(shot, none, none, np.zeros((0, HISTOGRAM_BINS)),
                       np.zeros((0, len(COLOUR_FEATURES))), none, problem=problem)


def _measure_media(shot: Clip, start_s: float, end_s: float, *, rate_hz: float, width: int,
                   cancel: CancelToken) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(media times, histograms, colour, motion) of samples in media [start_s, end_s)."""
    frames = media.sample_frames(shot.media_path, start_s, end_s, rate_hz=rate_hz,
                                 width=width, cancel=cancel)
    # a reversed or sped-up clip shows the change over |speed| times the interval
    motions = np.array([
        motion(f.rgb, f.successor, dt_s=f.successor_dt_s / abs(shot.speed))
        if f.successor is not None and f.successor_dt_s > 0 else np.nan
        for f in frames
    ])
    return (np.array([f.time_s for f in frames]),
            np.stack([hsv_histogram(f.rgb) for f in frames]) if frames
            else np.zeros((0, HISTOGRAM_BINS)),
            np.array([colour_measures(f.rgb) for f in frames]) if frames
            else np.zeros((0, len(COLOUR_FEATURES))),
            motions)


def measure_shot(shot: Clip, *, rate_hz: float = 2.0, width: int = 160,
                 cancel: CancelToken = NEVER_CANCELLED,
                 cache: AnalysisCache | None = None) -> ShotPicture:
    """Sample one shot's media once and measure every frame; never raises for bad media.

    With a cache, a shot whose (media, source range) was measured before decodes nothing,
    and a trimmed one decodes only the media time the earlier measurement did not cover.
    """
    if not readable(shot):
        return _empty(shot, MEDIA_MISSING)
    freeze = abs(shot.speed) < 1e-6
    start_s, end_s = media_range(shot)
    try:
        if freeze:
            # A held frame is exactly the frame at the clip's source in; sampling would
            # snap to the nearest keyframe instead.
            held = media.frames_between(shot.media_path, start_s, start_s + 0.1,
                                        width=width)[:1]
            if not held:
                return _empty(shot, "no frames in the clip's range")
            record = np.arange(shot.record_start_s, shot.record_end_s, 1.0 / rate_hz)
            n = len(record)
            return ShotPicture(shot, np.full(n, held[0].time_s), record,
                               np.tile(hsv_histogram(held[0].rgb), (n, 1)),
                               np.tile(colour_measures(held[0].rgb), (n, 1)), np.zeros(n))
        if cache is None:
            times, hists, colour, motions = _measure_media(
                shot, start_s, end_s, rate_hz=rate_hz, width=width, cancel=cancel)
        else:
            times, hists, colour, motions = _measure_cached(
                shot, start_s, end_s, rate_hz=rate_hz, width=width, cancel=cancel, cache=cache)
    except (MissingMediaError, UndecodableMediaError) as err:
        return _empty(shot, str(err))
    record = np.array([record_time(shot, t) for t in times])
    inside = (record >= shot.record_start_s - 1e-6) & (record < shot.record_end_s + 1e-6)
    if not inside.any():
        return _empty(shot, "no frames in the clip's range")
    return ShotPicture(shot=shot, media_times_s=times[inside], record_times_s=record[inside],
                       histograms=hists[inside], colour=colour[inside], motion=motions[inside])


_FIELDS = ("times", "histograms", "colour", "motion")


def _measure_cached(shot: Clip, start_s: float, end_s: float, *, rate_hz: float, width: int,
                    cancel: CancelToken, cache: AnalysisCache):
    key = media.content_key(shot.media_path)
    kind = f"{STAGE}-v{PICTURE_VERSION}-r{rate_hz:g}-w{width}-s{abs(shot.speed):g}"
    found = cache.get(key, kind, start_s, end_s)
    if found is not None:
        return tuple(found[f] for f in _FIELDS)
    parts = []
    covered = (start_s, start_s)
    for a, b in cache.overlapping(key, kind, start_s, end_s)[:1]:
        earlier = cache.get_range(key, kind, a, b)
        if earlier is not None:
            keep = (earlier["times"] >= start_s) & (earlier["times"] < end_s)
            parts.append(tuple(earlier[f][keep] for f in _FIELDS))
            covered = (max(a, start_s), min(b, end_s))
            cache.stats.partial += 1
    frame_s = 1e-3  # a sliver narrower than this holds no frame worth decoding
    for a, b in ((start_s, covered[0]), (covered[1], end_s)) if parts else ((start_s, end_s),):
        if b - a > frame_s:
            parts.append(_measure_media(shot, a, b, rate_hz=rate_hz, width=width, cancel=cancel))
    merged = [np.concatenate([p[k] for p in parts]) for k in range(len(_FIELDS))]
    order = np.argsort(merged[0], kind="stable")
    result = tuple(x[order] for x in merged)
    cache.put(key, kind, start_s, end_s, dict(zip(_FIELDS, result)))
    return result


def observe_picture(edit: Edit, *, rate_hz: float = 2.0, width: int = 160,
                    progress: ProgressFn = no_progress,
                    cancel: CancelToken = NEVER_CANCELLED,
                    cache: AnalysisCache | None = None) -> tuple[ShotPicture, ...]:
    """One ShotPicture per shot of the edit, in the edit's order."""
    total_s = sum(s.duration_s for s in edit.shots) or 1.0
    done_s = 0.0
    out = []
    for shot in edit.shots:
        cancel.raise_if_cancelled()
        progress(STAGE, done_s / total_s, f"reading {shot.name}")
        out.append(measure_shot(shot, rate_hz=rate_hz, width=width, cancel=cancel, cache=cache))
        done_s += shot.duration_s
    progress(STAGE, 1.0, f"{sum(len(p) for p in out)} frames measured")
    return tuple(out)


def problems(picture: Sequence[ShotPicture], *, include_missing: bool = True) -> list[str]:
    """One line per shot that could not be read, naming the clip."""
    return [f"clip {p.shot.name!r}: {p.problem}" for p in picture
            if p.problem and (include_missing or p.problem != MEDIA_MISSING)]
