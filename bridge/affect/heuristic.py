"""The embedded affect sensor: signal features -> valence and arousal, no model weights.

Arousal follows Hanjalic & Xu (2005, "Affective video content representation and
modeling"): motion activity, cut rhythm and sound energy, each normalised, combined with
weights and smoothed with a Kaiser window so that the curve swells into a climax instead
of jittering frame to frame. Weights: motion 0.45 (the strongest single cue in their
study), rhythm 0.30 (shot length, their c(k); an editor may also cut fast in quiet
dialogue coverage, so it leads less than motion), loudness 0.25 (often absent or dominated
by dialogue level). Rhythm maps shot length on a log scale: 1 s shots -> 1, 20 s -> 0.

Valence follows the colour-affect literature: Valdez & Mehrabian (1994) found pleasure
rises with brightness and, about a third as strongly, with saturation (P = .69 B + .22 S);
film colour practice adds warm = positive, cold = negative, and low-key lighting (a large
share of dark pixels) reads as negative. Weights: brightness 0.40, warmth 0.27,
darkness share 0.20 (negative), saturation 0.13 (keeping V&M's 3:1 ratio to brightness).

Normalisation: each feature is mapped to 0..1 twice: against absolute anchors (fixed
ranges such as -50..-10 dBFS) and against the timeline's own 5th..95th percentiles. The
relative part gets at most half the weight, and only as much as the timeline actually
varies on the absolute scale, so a uniformly static, quiet film stays low instead of
being stretched into a wildly varying curve.

Unknown hops (no picture) get values interpolated from their neighbours and confidence 0;
confidence elsewhere is the observed share of the hop, times 0.85 where sound is unknown
(one of the three arousal cues is missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.affect.features import FeatureTable
from bridge.analysis.picture import ShotPicture
from bridge.errors import MissingMediaError
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import AffectCurve, Cut, Edit, SoundTrack

AROUSAL_WEIGHTS = {"motion": 0.45, "rhythm": 0.30, "loudness": 0.25}
VALENCE_WEIGHTS = {"brightness": 0.40, "warmth": 0.27, "dark_share": -0.20, "saturation": 0.13}

# absolute anchors: feature value that maps to 0 and to 1 (log scale where marked)
MOTION_ANCHORS = (0.003, 0.1)  # log; below 0.3 % mean luma change per 1/25 s is stillness
SHOT_LENGTH_ANCHORS_S = (20.0, 1.0)  # log; long takes calm, one-second shots frantic
LOUDNESS_ANCHORS_DB = (-50.0, -10.0)
BRIGHTNESS_ANCHORS = (0.05, 0.6)
WARMTH_ANCHORS = (-0.4, 0.4)
DARK_SHARE_ANCHORS = (0.1, 0.8)
SATURATION_ANCHORS = (0.05, 0.6)

BLACK_BRIGHTNESS = 0.06  # mean luma below which a hop's picture is black (rest)

RELATIVE_MAX = 0.5  # most weight the timeline-relative normalisation can get
SPREAD_FULL = 0.3  # absolute 5..95 % spread at which the relative part gets RELATIVE_MAX
MEDIAN_S = 1.5  # removes one-hop events (a flash frame) before smoothing
AROUSAL_SMOOTH_S = 5.0
VALENCE_SMOOTH_S = 3.0
KAISER_BETA = 5.0
NO_SOUND_CONFIDENCE = 0.85


def absolute_scale(values: np.ndarray, *, lo: float, hi: float, log: bool = False) -> np.ndarray:
    """Map values to 0..1 between two anchors (``lo`` -> 0, ``hi`` -> 1); NaN stays NaN."""
    x = np.asarray(values, dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log(np.maximum(x, 1e-12))
        lo, hi = np.log(lo), np.log(hi)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def blended_scale(values: np.ndarray, *, lo: float, hi: float, log: bool = False,
                  relative_max: float = RELATIVE_MAX, spread_full: float = SPREAD_FULL
                  ) -> np.ndarray:
    """Absolute anchors blended with the timeline's own percentiles, as 0..1."""
    absolute = absolute_scale(values, lo=lo, hi=hi, log=log)
    known = absolute[np.isfinite(absolute)]
    if len(known) < 2:
        return absolute
    p05, p95 = np.percentile(known, [5, 95])
    spread = p95 - p05
    if spread <= 1e-9:
        return absolute
    relative = np.clip((absolute - p05) / spread, 0.0, 1.0)
    weight = relative_max * min(1.0, spread / spread_full)
    return (1 - weight) * absolute + weight * relative


def weighted_mean(parts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Per-hop weighted mean of 0..1 parts, skipping NaN parts; negative weight = inverted."""
    total = np.zeros_like(next(iter(parts.values())))
    norm = np.zeros_like(total)
    for name, w in weights.items():
        x = parts[name] if w >= 0 else 1.0 - parts[name]
        ok = np.isfinite(x)
        total[ok] += abs(w) * x[ok]
        norm[ok] += abs(w)
    out = np.full_like(total, np.nan)
    np.divide(total, norm, out=out, where=norm > 0)
    return out


def fill_unknown(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Linear interpolation over unknown hops from known neighbours; ends held."""
    idx = np.arange(len(values))
    return np.interp(idx, idx[known], values[known])


def smooth(values: np.ndarray, *, hop_s: float, median_s: float, window_s: float,
           beta: float = KAISER_BETA) -> np.ndarray:
    """Median filter (kills one-hop outliers) then a normalised Kaiser window; edges held."""
    # numpy, not scipy (ndimage.median_filter, signal.windows.kaiser: the same values),
    # whose import alone cost an analysis ~0.45 s of CPU
    med = _odd(median_s / hop_s, minimum=3)
    x = _median_filter(values, med) if len(values) >= med else values
    n = _odd(window_s / hop_s, minimum=1)
    if n == 1 or len(x) < 2:
        return x
    w = np.kaiser(n, beta)
    w /= w.sum()
    padded = np.pad(x, n // 2, mode="edge")
    return np.convolve(padded, w, mode="valid")


def _median_filter(values: np.ndarray, size: int) -> np.ndarray:
    """Running median over ``size`` (odd) values centred on each, the ends repeated."""
    padded = np.pad(np.asarray(values, dtype=np.float64), size // 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, size), axis=1)


def _odd(hops: float, *, minimum: int) -> int:
    n = max(minimum, round(hops))
    return n if n % 2 else n + 1


def arousal_parts(table: FeatureTable) -> dict[str, np.ndarray]:
    """The three arousal cues, each 0..1 (NaN where unknown).

    Black (and near-black) picture is rest: a black leader between two cuts is not a
    frantic one-second shot, and the flicker of a dark frame is not movement, so motion and
    rhythm read 0 there.
    """
    shot_len_s = np.maximum(table.since_cut_s + table.until_cut_s, 1e-3)
    black = np.isfinite(table.brightness) & (table.brightness < BLACK_BRIGHTNESS)
    parts = {
        "motion": blended_scale(table.motion, lo=MOTION_ANCHORS[0], hi=MOTION_ANCHORS[1],
                                log=True),
        "rhythm": blended_scale(shot_len_s, lo=SHOT_LENGTH_ANCHORS_S[0],
                                hi=SHOT_LENGTH_ANCHORS_S[1], log=True),
        "loudness": blended_scale(table.loudness_db, lo=LOUDNESS_ANCHORS_DB[0],
                                  hi=LOUDNESS_ANCHORS_DB[1]),
    }
    for name in ("motion", "rhythm"):
        parts[name] = np.where(black, 0.0, parts[name])
    return parts


def valence_parts(table: FeatureTable) -> dict[str, np.ndarray]:
    """The four valence cues, each 0..1 (NaN where unknown)."""
    return {
        "brightness": blended_scale(table.brightness, lo=BRIGHTNESS_ANCHORS[0],
                                    hi=BRIGHTNESS_ANCHORS[1]),
        "warmth": blended_scale(table.warmth, lo=WARMTH_ANCHORS[0], hi=WARMTH_ANCHORS[1]),
        "dark_share": blended_scale(table.dark_share, lo=DARK_SHARE_ANCHORS[0],
                                    hi=DARK_SHARE_ANCHORS[1]),
        "saturation": blended_scale(table.saturation, lo=SATURATION_ANCHORS[0],
                                    hi=SATURATION_ANCHORS[1]),
    }


def curve_from_features(table: FeatureTable, *, timeline: str = "",
                        source_path: str | Path | None = None,
                        problems: Sequence[str] = ()) -> AffectCurve:
    """Valence/arousal per hop from a feature table; raises if nothing was observed."""
    known = (table.picture > 0) & np.isfinite(table.brightness)
    if not known.any():
        detail = "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")
        raise MissingMediaError(
            f"no picture could be read for any shot of timeline {timeline!r} "
            f"(all media missing or undecodable); relink its media"
            + (f" ({detail})" if detail else ""), path=source_path)
    arousal_raw = weighted_mean(arousal_parts(table), AROUSAL_WEIGHTS)
    valence_raw = weighted_mean(valence_parts(table), VALENCE_WEIGHTS)
    arousal = smooth(fill_unknown(arousal_raw, known), hop_s=table.hop_s,
                     median_s=MEDIAN_S, window_s=AROUSAL_SMOOTH_S)
    valence = smooth(fill_unknown(valence_raw, known), hop_s=table.hop_s,
                     median_s=MEDIAN_S, window_s=VALENCE_SMOOTH_S)
    sound = np.where(np.isfinite(table.loudness_db), 1.0, NO_SOUND_CONFIDENCE)
    confidence = np.where(known, np.clip(table.picture, 0, 1) * sound, 0.0)
    return AffectCurve(
        hop_s=table.hop_s,
        valence=np.clip(2 * valence - 1, -1, 1),
        arousal=np.clip(2 * arousal - 1, -1, 1),
        confidence=confidence,
        source="heuristic",
    )


@dataclass
class HeuristicEstimator:
    """Signal features -> valence/arousal; runs anywhere, no weights. See module doc."""

    name: str = "heuristic"
    width: int = 160  # frame width the features are computed at

    def estimate(self, edit: Edit, cuts: tuple[Cut, ...], *, picture: Sequence[ShotPicture],
                 sound: SoundTrack, hop_s: float = 1.0, rate_hz: float = 2.0,
                 progress: ProgressFn = no_progress,
                 cancel: CancelToken = NEVER_CANCELLED) -> AffectCurve:
        from bridge.affect.observe import observe
        from bridge.analysis.picture import problems

        cancel.raise_if_cancelled()
        table = observe(edit, cuts, picture=picture, sound=sound, hop_s=hop_s,
                        progress=progress)
        return curve_from_features(table, timeline=edit.name, source_path=edit.source_path,
                                   problems=problems(picture))
