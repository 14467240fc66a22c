"""Affect: a per-hop valence/arousal curve from the picture (NarraScore §3.3), plus hints.

    curve, warnings = estimate_affect(edit, cuts)            # picture -> curve, then hints
    markers = affect_markers(curve, density="sections", cuts=cuts)

Estimators register by name in ``estimators``; "heuristic" (signal features, no weights)
is always there, a VLM estimator registers beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bridge.affect.heuristic import HeuristicEstimator
from bridge.affect.markers import affect_markers
from bridge.affect.moods import MOODS, apply_hints, mood_va
from bridge.affect.outputs import (
    plot_affect_png,
    read_affect_json,
    write_affect_csv,
    write_affect_json,
)
from bridge.errors import InvalidOptionError
from bridge.picture import ShotPicture, readable
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import Registry
from bridge.types import AffectCurve, Cut, Edit

__all__ = [
    "MOODS",
    "AffectEstimator",
    "HeuristicEstimator",
    "affect_markers",
    "apply_hints",
    "estimate_affect",
    "estimators",
    "mood_va",
    "plot_affect_png",
    "read_affect_json",
    "write_affect_csv",
    "write_affect_json",
]


class AffectEstimator(Protocol):
    """Turns an edit's picture (and sound) into a valence/arousal curve in record time."""

    name: str

    def estimate(self, edit: Edit, cuts: tuple[Cut, ...], *, hop_s: float = 1.0,
                 rate_hz: float = 2.0, picture: Sequence[ShotPicture] | None = None,
                 progress: ProgressFn = no_progress,
                 cancel: CancelToken = NEVER_CANCELLED) -> AffectCurve:
        """``picture`` is the shared decode pass's measurements; an estimator that reads
        frames its own way (a VLM) may ignore it."""
        ...


estimators: Registry[AffectEstimator] = Registry(
    "affect estimator", entry_point_group="scorebridge.affect_backends"
)
estimators.register("heuristic")(HeuristicEstimator)


def estimate_affect(edit: Edit, cuts: tuple[Cut, ...], *, backend: str = "heuristic",
                    backend_options: Mapping[str, str] | None = None, hop_s: float = 1.0,
                    rate_hz: float = 2.0,
                    picture: Sequence[ShotPicture] | None = None,
                    progress: ProgressFn = no_progress,
                    cancel: CancelToken = NEVER_CANCELLED) -> tuple[AffectCurve, list[str]]:
    """Run the named estimator, then apply the editors' hints from ``edit.markers``."""
    if not 0 < hop_s <= 10:
        raise InvalidOptionError(f"hop_s {hop_s} is outside (0, 10] s", field="affect_hop_s")
    if not 0 < rate_hz <= 30:
        raise InvalidOptionError(f"rate_hz {rate_hz} is outside (0, 30]",
                                 field="analysis_rate_hz")
    estimator = estimators.create(backend, **(backend_options or {}))
    curve = estimator.estimate(edit, cuts, hop_s=hop_s, rate_hz=rate_hz, picture=picture,
                               progress=progress, cancel=cancel)
    warnings = [f"affect: no picture for clip {s.name!r} (media missing); its affect is "
                "interpolated from its neighbours" for s in edit.shots if not readable(s)]
    curve, hint_warnings = apply_hints(curve, edit.markers, duration_s=edit.duration_s)
    return curve, warnings + hint_warnings
