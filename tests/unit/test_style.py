"""Style presets and the affect-driven choice of one."""

import numpy as np
import pytest

from bridge.errors import InvalidOptionError
from bridge.style import ROLES, STYLES, affect_stats, cadence_kind, choose_style
from bridge.types import AffectCurve

REQUIRED = {
    "cinematic-orchestral",
    "ambient-electronic",
    "solo-piano",
    "acoustic-folk",
    "synthwave",
    "hybrid-trailer",
    "lofi",
}


def _curve(valence, arousal, confidence=None):
    valence = np.asarray(valence, dtype=float)
    arousal = np.asarray(arousal, dtype=float)
    conf = np.ones_like(valence) if confidence is None else np.asarray(confidence, dtype=float)
    return AffectCurve(hop_s=1.0, valence=valence, arousal=arousal, confidence=conf)


def test_presets_are_complete_and_sane():
    assert set(STYLES) >= REQUIRED
    for name, style in STYLES.items():
        assert style.name == name
        assert set(ROLES) <= set(style.programs)
        assert all(0 <= p <= 127 for p in style.programs.values())
        assert 40 <= style.bpm_min < style.bpm_max <= 200
        assert all([style.genre, style.instrumentation, style.atmosphere, style.rhythm])
        assert style.genre in style.prompt()
    assert STYLES["solo-piano"].percussion is False
    assert cadence_kind(STYLES["ambient-electronic"]) == "plagal"
    assert cadence_kind(STYLES["cinematic-orchestral"]) == "authentic"


def test_calm_sad_and_intense_curves_pick_different_presets():
    n = 120
    calm_sad = _curve(np.full(n, -0.6), np.full(n, -0.7))
    intense = _curve(np.full(n, 0.4), np.full(n, 0.7))
    calm_style = choose_style(calm_sad)
    intense_style = choose_style(intense)
    assert calm_style.name == "solo-piano"
    assert intense_style.name == "synthwave"
    assert calm_style.bpm_max < intense_style.bpm_max


def test_volatile_curve_with_peaks_picks_trailer():
    t = np.arange(200)
    arousal = np.where((t // 20) % 2 == 0, -0.5, 0.9)
    assert choose_style(_curve(np.zeros(200), arousal)).name == "hybrid-trailer"


def test_unknown_hops_do_not_count():
    # Half the curve is unknown (confidence 0) and reads as frantic; only the calm half counts.
    arousal = np.r_[np.full(50, -0.7), np.full(50, 1.0)]
    valence = np.r_[np.full(50, -0.5), np.full(50, 1.0)]
    conf = np.r_[np.ones(50), np.zeros(50)]
    stats = affect_stats(_curve(valence, arousal, conf))
    assert stats.mean_arousal == pytest.approx(-0.7)
    assert choose_style(_curve(valence, arousal, conf)).name == "solo-piano"


def test_choose_by_name_and_unknown_name():
    curve = _curve(np.zeros(10), np.zeros(10))
    assert choose_style(curve, name="lofi") is STYLES["lofi"]
    with pytest.raises(InvalidOptionError) as err:
        choose_style(curve, name="polka")
    assert err.value.field == "style"
    assert "polka" in str(err.value)
    for name in REQUIRED:
        assert name in str(err.value)


def test_empty_curve_gets_the_default():
    empty = _curve([], [])
    assert choose_style(empty).name == "cinematic-orchestral"
