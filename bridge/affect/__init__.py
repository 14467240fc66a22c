"""Affect: a per-hop valence/arousal curve from the picture (NarraScore §3.3), plus hints.

    curve, warnings = estimate_affect(edit, cuts, picture=picture, sound=sound)
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
from bridge.affect.vlm import VLM_OPTIONS, VlmEstimator, vlm_unavailable
from bridge.analysis.picture import ShotPicture, readable
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import Registry
from bridge.types import AffectCurve, Cut, Edit, SoundTrack

__all__ = [
    "MOODS",
    "AffectEstimator",
    "HeuristicEstimator",
    "VlmEstimator",
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

    def estimate(self, edit: Edit, cuts: tuple[Cut, ...], *, picture: Sequence[ShotPicture],
                 sound: SoundTrack, hop_s: float = 1.0, rate_hz: float = 2.0,
                 progress: ProgressFn = no_progress,
                 cancel: CancelToken = NEVER_CANCELLED) -> AffectCurve:
        """``picture`` and ``sound`` are the shared passes of ``bridge.analysis``; an
        estimator that reads frames its own way (a VLM, at ``rate_hz``) may ignore them."""
        ...


estimators: Registry[AffectEstimator] = Registry(
    "affect estimator", entry_point_group="scorebridge.affect_backends"
)
estimators.register("heuristic")(HeuristicEstimator)
# torch and transformers are imported only when a VlmEstimator is built
estimators.register("vlm", check=vlm_unavailable, options=VLM_OPTIONS)(VlmEstimator)


def estimate_affect(edit: Edit, cuts: tuple[Cut, ...], *, picture: Sequence[ShotPicture],
                    sound: SoundTrack, backend: str = "heuristic",
                    backend_options: Mapping[str, str] | None = None,
                    estimator: AffectEstimator | None = None, hop_s: float = 1.0,
                    rate_hz: float = 2.0, progress: ProgressFn = no_progress,
                    cancel: CancelToken = NEVER_CANCELLED) -> tuple[AffectCurve, list[str]]:
    """Run the named estimator (or ``estimator``, already built from the registry), then
    apply the editors' hints from ``edit.markers``.

    ``hop_s`` and ``rate_hz`` are bounded by ``ScoreOptions.validated()``, once per job.
    """
    if estimator is None:
        estimator = estimators.create(backend, **(backend_options or {}))
    curve = estimator.estimate(edit, cuts, picture=picture, sound=sound, hop_s=hop_s,
                               rate_hz=rate_hz, progress=progress, cancel=cancel)
    warnings = [f"affect: no picture for clip {s.name!r} (media missing); its affect is "
                "interpolated from its neighbours" for s in edit.shots if not readable(s)]
    curve, hint_warnings = apply_hints(curve, edit.markers, duration_s=edit.duration_s)
    return curve, warnings + hint_warnings
