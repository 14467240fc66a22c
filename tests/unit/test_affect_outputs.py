"""Affect markers from a curve, and the CSV / JSON / PNG files."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.affect.markers import affect_markers, colour, quadrant
from bridge.affect.outputs import (
    UnreadableAffectError,
    plot_affect_png,
    read_affect_json,
    write_affect_csv,
    write_affect_json,
)
from bridge.errors import BridgeError, InvalidOptionError
from bridge.outputs import atomic_write
from bridge.types import AffectCurve, Clip, Cut, Edit


def two_part_curve(seed=0):
    """20 s calm-positive then 20 s excited, with small noise; unknown hops 30..32."""
    rng = np.random.default_rng(seed)
    v = np.r_[np.full(20, 0.5), np.full(20, 0.6)] + 0.05 * rng.standard_normal(40)
    a = np.r_[np.full(20, -0.6), np.full(20, 0.7)] + 0.05 * rng.standard_normal(40)
    c = np.ones(40)
    c[30:33] = 0.0
    return AffectCurve(hop_s=1.0, valence=v, arousal=a, confidence=c)


CUTS = (Cut(5.0, "edit"), Cut(19.2, "edit"), Cut(33.0, "detected", strength=0.6))


def test_quadrant_colours():
    assert (quadrant(0.5, 0.7), colour(0.5, 0.7)) == ("excited", "RED")
    assert colour(0.1, 0.2) == "ORANGE"
    assert (quadrant(-0.5, 0.6), colour(-0.5, 0.6)) == ("tense", "PURPLE")
    assert (quadrant(0.5, -0.6), colour(0.5, -0.6)) == ("calm", "GREEN")
    assert colour(0.2, -0.1) == "CYAN"
    assert (quadrant(-0.5, -0.5), colour(-0.5, -0.5)) == ("sad", "BLUE")


def test_two_part_curve_gives_two_sections_snapped_to_the_cut():
    markers = affect_markers(two_part_curve(), density="sections", cuts=CUTS)
    assert len(markers) == 2
    calm, excited = markers
    assert (calm.quadrant, calm.color) == ("calm", "GREEN")
    assert (excited.quadrant, excited.color) == ("excited", "RED")
    assert calm.start_s == 0.0 and excited.start_s == pytest.approx(19.2)  # snapped
    assert calm.duration_s + excited.duration_s == pytest.approx(40.0)
    assert excited.name == f"excited ↑{excited.arousal:.1f}" and calm.name.startswith("calm ↓")
    assert "valence +0.6" in excited.note or "valence +0.5" in excited.note


def test_noise_near_a_quadrant_border_does_not_shatter_sections():
    rng = np.random.default_rng(1)
    jitter = AffectCurve(hop_s=1.0, valence=0.4 + 0.05 * rng.standard_normal(60),
                         arousal=0.1 * rng.standard_normal(60), confidence=np.ones(60))
    markers = affect_markers(jitter)
    assert 1 <= len(markers) <= 60 / 4  # no section shorter than the 4 s minimum
    assert all(m.duration_s >= 4.0 for m in markers)


def test_peaks_and_every_n():
    t = np.arange(60.0)
    a = np.exp(-((t - 15) ** 2) / 8) + 0.8 * np.exp(-((t - 45) ** 2) / 8) - 0.5
    curve = AffectCurve(hop_s=1.0, valence=np.zeros(60), arousal=a, confidence=np.ones(60))
    peaks = affect_markers(curve, density="peaks")
    assert [m.start_s for m in peaks] == [15.0, 45.0]
    assert peaks[0].name.startswith("peak ↑")
    every = affect_markers(curve, density="every:25")
    assert [(m.start_s, m.duration_s) for m in every] == [(0, 25), (25, 25), (50, 10)]
    for bad in ("every:0", "every:x", "lots"):
        with pytest.raises(InvalidOptionError, match=r"markers|every|sections"):
            affect_markers(curve, density=bad)


def test_csv_and_json_round_trip(tmp_path: Path):
    curve = two_part_curve()
    csv_path = write_affect_csv(curve, tmp_path / "affect.csv")
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 40 and rows[3]["time_s"] == "3.000"
    np.testing.assert_allclose([float(r["arousal"]) for r in rows], curve.arousal, atol=1e-4)
    markers = affect_markers(curve, cuts=CUTS)
    json_path = write_affect_json(curve, tmp_path / "affect.json", markers=markers, cuts=CUTS)
    back = read_affect_json(json_path)
    assert back.hop_s == curve.hop_s and back.source == curve.source
    np.testing.assert_array_equal(back.valence, curve.valence)
    np.testing.assert_array_equal(back.arousal, curve.arousal)
    np.testing.assert_array_equal(back.confidence, curve.confidence)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["affect.csv", "affect.json"]


def test_bad_json_names_file_and_field(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UnreadableAffectError, match=r"bad\.json"):
        read_affect_json(bad)
    bad.write_text('{"format": "scorebridge.affect", "version": 1, "hop_s": 1,'
                   ' "valence": [0], "arousal": [0, 1], "confidence": [1]}')
    with pytest.raises(UnreadableAffectError, match="same length"):
        read_affect_json(bad)
    bad.write_text('{"format": "scorebridge.affect", "version": 1, "hop_s": -1,'
                   ' "valence": [0], "arousal": [0], "confidence": [1]}')
    with pytest.raises(UnreadableAffectError, match="hop_s"):
        read_affect_json(bad)
    with pytest.raises(UnreadableAffectError, match="no such file"):
        read_affect_json(tmp_path / "missing.json")


def test_failed_write_leaves_nothing(tmp_path: Path):
    target = tmp_path / "out.bin"

    def half_then_fail(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BridgeError, match="no_such_dir"):
        write_affect_csv(two_part_curve(), tmp_path / "no_such_dir" / "a.csv")


def test_png_has_the_right_size_and_is_not_blank(tmp_path: Path):
    shots = tuple(
        Clip(name=f"shot {i}", kind="video", record_start_s=s, record_end_s=e,
             media_path=None, media_start_s=0.0)
        for i, (s, e) in enumerate([(0, 5), (5, 19.2), (19.2, 33), (33, 40)])
    )
    edit = Edit(name="reel 1", source_path=tmp_path / "reel1.otio", rate=Fraction(25),
                drop_frame=False, start_timecode="00:00:00:00", start_frame=0,
                duration_frames=1000, shots=shots)
    png = plot_affect_png(two_part_curve(), tmp_path / "affect.png", edit=edit, cuts=CUTS)
    image = np.asarray(Image.open(png).convert("RGB"), dtype=np.float64)
    assert image.shape == (500, 1600, 3)
    assert image.std() > 10
    red = (image[..., 0] > 180) & (image[..., 1] < 90) & (image[..., 2] < 90)
    assert red.sum() > 1000  # the arousal line is drawn
