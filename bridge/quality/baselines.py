"""Baselines every quality figure is compared against.

Each baseline is the same analysis with information taken away, rendered by the same music
backend, so a difference in a metric isolates what that information buys:

* ``constant-tempo``: no cuts and a flat affect curve: steady tempo from t=0 that ignores
  the picture's structure and its emotional arc.
* ``flat-affect``: the real cuts, but the affect curve flattened to its mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.music import MusicOutput, MusicRequest, music_backends
from bridge.types import AffectCurve, Analysis

BASELINES = ("constant-tempo", "flat-affect")


def flattened(curve: AffectCurve) -> AffectCurve:
    """The same curve with every value at its (confidence-weighted) mean."""
    weights = np.maximum(curve.confidence, 1e-6)
    return replace(
        curve,
        valence=np.full(len(curve), np.average(curve.valence, weights=weights)),
        arousal=np.full(len(curve), np.average(curve.arousal, weights=weights)),
        source=f"{curve.source} (flattened)",
    )


def baseline_analysis(analysis: Analysis, name: str) -> Analysis:
    if name == "constant-tempo":
        return replace(analysis, cuts=(), affect=flattened(analysis.affect))
    if name == "flat-affect":
        return replace(analysis, affect=flattened(analysis.affect))
    raise InvalidOptionError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def render_baseline(
    analysis: Analysis,
    name: str,
    out_dir: str | Path,
    request: MusicRequest = MusicRequest(),
    *,
    backend: str = "symbolic",
    backend_options: Mapping[str, str] | None = None,
) -> MusicOutput:
    """Render one baseline into `out_dir` as `<name>.wav` (and `.mid`) with the backend
    (and its options) the score used. Its loudness and true peak are `bridge.eval`'s to
    measure, so the master does not measure the written file's true peak itself."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return music_backends.create(backend, **(backend_options or {})).generate(
        baseline_analysis(analysis, name),
        replace(request, stems=False, measure_true_peak=False),
        wav_path=out_dir / f"{name}.wav",
        midi_path=out_dir / f"{name}.mid",
        stems_dir=out_dir / f"{name}-stems",
    )
