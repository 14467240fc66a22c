"""Pick one style for the whole piece, by name or from the affect statistics of the timeline.

The statistics are confidence-weighted over the whole curve (hops with no picture count
for nothing): mean arousal, peak arousal (95th percentile), mean valence and variability
(standard deviation of arousal). The rules, first match wins:

| condition                                        | preset               |
|--------------------------------------------------|----------------------|
| peak arousal >= 0.6 and variability >= 0.3       | hybrid-trailer       |
| mean arousal >= 0.3, mean valence >= 0.1         | synthwave            |
| mean arousal >= 0.3                              | hybrid-trailer       |
| mean arousal <= -0.3, mean valence < -0.1        | solo-piano           |
| mean arousal <= -0.3                             | ambient-electronic   |
| mean valence >= 0.3                              | acoustic-folk        |
| variability < 0.15 and mean arousal < 0.1        | lofi                 |
| otherwise                                        | cinematic-orchestral |

An empty curve (nothing known about the picture) gets cinematic-orchestral.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.style.presets import STYLES
from bridge.types import AffectCurve, Style

DEFAULT_STYLE = "cinematic-orchestral"


@dataclass(frozen=True)
class AffectStats:
    mean_arousal: float
    peak_arousal: float
    mean_valence: float
    variability: float


def affect_stats(curve: AffectCurve) -> AffectStats:
    """Confidence-weighted statistics of a whole curve; neutral zeros for an empty curve."""
    if len(curve) == 0:
        return AffectStats(0.0, 0.0, 0.0, 0.0)
    weights = np.clip(np.asarray(curve.confidence, dtype=np.float64), 0.0, 1.0)
    if weights.sum() <= 0:
        weights = np.ones(len(curve))  # no confidence anywhere: treat every hop alike
    arousal = np.asarray(curve.arousal, dtype=np.float64)
    valence = np.asarray(curve.valence, dtype=np.float64)
    mean_a = float(np.average(arousal, weights=weights))
    known = arousal[weights > 0]
    return AffectStats(
        mean_arousal=mean_a,
        peak_arousal=float(np.percentile(known, 95)),
        mean_valence=float(np.average(valence, weights=weights)),
        variability=float(np.sqrt(np.average((arousal - mean_a) ** 2, weights=weights))),
    )


def style_name_for(stats: AffectStats) -> str:
    """The rule table in this module's docstring."""
    a, v = stats.mean_arousal, stats.mean_valence
    if stats.peak_arousal >= 0.6 and stats.variability >= 0.3:
        return "hybrid-trailer"
    if a >= 0.3:
        return "synthwave" if v >= 0.1 else "hybrid-trailer"
    if a <= -0.3:
        return "solo-piano" if v < -0.1 else "ambient-electronic"
    if v >= 0.3:
        return "acoustic-folk"
    if stats.variability < 0.15 and a < 0.1:
        return "lofi"
    return DEFAULT_STYLE


def choose_style(curve: AffectCurve, *, name: str | None = None) -> Style:
    """The named preset, or the one the curve's statistics select (see the module docstring)."""
    if name is not None:
        if name not in STYLES:
            raise InvalidOptionError(
                f"unknown style {name!r}; choose one of: {', '.join(sorted(STYLES))}",
                field="style",
            )
        return STYLES[name]
    if len(curve) == 0:
        return STYLES[DEFAULT_STYLE]  # nothing known about the picture
    return STYLES[style_name_for(affect_stats(curve))]
