"""Quality measures of a rendered soundtrack, taken from the audio by an independent analyser.

`evaluate` gathers them all; the pieces are usable alone. Nothing here reads the music
plan or imports the composer.
"""

from bridge.eval.analyse import (
    Features,
    brightness_curve,
    detect_beats,
    harmonic_changes,
    intensity_curve,
    mode_curve,
    style_stability,
    valence_proxy_curve,
)
from bridge.eval.audio_io import LoadedAudio, load_audio
from bridge.eval.evaluate import EvalReport, evaluate
from bridge.eval.level import Loudness, loudness, true_peak_dbtp
from bridge.eval.metrics import (
    ChordAtCut,
    HitRate,
    LengthCheck,
    StyleStability,
    beat_hit_coverage,
    ccc,
    chord_at_cut,
    cut_beat_hit_rate,
    length_check,
    pearson,
)

__all__ = [
    "ChordAtCut",
    "EvalReport",
    "Features",
    "HitRate",
    "LengthCheck",
    "LoadedAudio",
    "Loudness",
    "StyleStability",
    "beat_hit_coverage",
    "brightness_curve",
    "ccc",
    "chord_at_cut",
    "cut_beat_hit_rate",
    "detect_beats",
    "evaluate",
    "harmonic_changes",
    "intensity_curve",
    "length_check",
    "load_audio",
    "loudness",
    "mode_curve",
    "pearson",
    "style_stability",
    "true_peak_dbtp",
    "valence_proxy_curve",
]
