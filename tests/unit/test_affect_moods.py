"""Mood words, hint parsing and how hints override the affect curve."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.affect.moods import DEFAULT_SPAN_S, MOODS, apply_hints, mood_va, parse_hint
from bridge.types import AffectCurve, TimelineMarker

REQUIRED = ["tense", "calm", "sad", "joyful", "epic", "mysterious", "romantic", "fearful",
            "angry", "triumphant", "melancholic", "playful", "suspenseful", "peaceful", "dark",
            "hopeful", "happy", "excited", "nostalgic", "dreamy"]


def marker(name="", note="", start_s=0.0, duration_s=0.0, **metadata):
    return TimelineMarker(name=name, note=note, start_s=start_s, duration_s=duration_s,
                          metadata=metadata)


def flat_curve(n=40, v=0.5, a=0.2, c=0.8):
    return AffectCurve(hop_s=1.0, valence=np.full(n, v), arousal=np.full(n, a),
                       confidence=np.full(n, c))


def test_every_required_word_is_on_the_circumplex():
    for word in REQUIRED:
        v, a = MOODS[word]
        assert -1 <= v <= 1 and -1 <= a <= 1, word
    # one word per quadrant, checked by sign
    assert mood_va("joyful")[0] > 0 < mood_va("joyful")[1]
    assert mood_va("tense")[0] < 0 < mood_va("tense")[1]
    assert mood_va("sad")[0] < 0 and mood_va("sad")[1] < 0
    assert mood_va("peaceful")[0] > 0 > mood_va("peaceful")[1]
    assert mood_va(" Fear ") == MOODS["fearful"]  # alias, case and spaces
    assert mood_va("zxcv") is None


def test_parse_keys_and_values():
    assert parse_hint(marker("mood: tense")) == (*MOODS["tense"], [])
    assert parse_hint(marker("Scene 4", "energy: 0.8")) == (None, 0.8, [])
    assert parse_hint(marker("valence: -0.5; arousal: 0.6")) == (-0.5, 0.6, [])
    v, a, _ = parse_hint(marker("mood: dark mysterious"))
    assert v == pytest.approx((MOODS["dark"][0] + MOODS["mysterious"][0]) / 2)
    assert a == pytest.approx((MOODS["dark"][1] + MOODS["mysterious"][1]) / 2)
    # an explicit number wins over the mood word for its dimension
    assert parse_hint(marker("mood: sad, energy: 0.9")) == (MOODS["sad"][0], 0.9, [])
    assert parse_hint(marker("just a note about the grade")) == (None, None, [])


def test_bad_hints_warn_and_never_crash():
    v, a, warnings = parse_hint(marker("mood: zorbish", start_s=12.0))
    assert (v, a) == (None, None)
    assert len(warnings) == 1 and "zorbish" in warnings[0] and "12.00 s" in warnings[0]
    v, a, warnings = parse_hint(marker("energy: lots"))
    assert a is None and "not a number" in warnings[0]
    v, a, warnings = parse_hint(marker("arousal: 3"))
    assert a == 1.0 and "clipped" in warnings[0]


def test_hint_overrides_exactly_its_range():
    curve = flat_curve()
    out, warnings = apply_hints(curve, [marker("mood: sad", start_s=10.0, duration_s=8.0)])
    assert warnings == []
    sad_v, sad_a = MOODS["sad"]
    np.testing.assert_allclose(out.valence[10:18], sad_v)
    np.testing.assert_allclose(out.arousal[10:18], sad_a)
    np.testing.assert_allclose(out.confidence[10:18], 1.0)
    outside = np.r_[0:10, 18:40]
    np.testing.assert_array_equal(out.valence[outside], curve.valence[outside])
    np.testing.assert_array_equal(out.arousal[outside], curve.arousal[outside])


def test_partial_hop_blend_and_one_dimension():
    curve = flat_curve(10, v=0.5)
    out, _ = apply_hints(curve, [marker("valence: -0.5", start_s=2.5, duration_s=1.0)])
    # hops 2 and 3 are each half covered
    assert out.valence[2] == pytest.approx(0.0) and out.valence[3] == pytest.approx(0.0)
    np.testing.assert_array_equal(out.arousal, curve.arousal)  # only valence was asked for
    half, _ = apply_hints(curve, [marker("valence: -0.5", start_s=0, duration_s=10)],
                          blend=0.5)
    np.testing.assert_allclose(half.valence, 0.0)


def test_zero_duration_hint_runs_to_next_hint_or_default_span():
    curve = flat_curve(100, v=0.5, a=0.0)
    hints = [marker("mood: sad", start_s=5.0), marker("energy: 0.9", start_s=12.0),
             marker("note without a hint", start_s=8.0)]
    out, _ = apply_hints(curve, hints)
    np.testing.assert_allclose(out.valence[5:12], MOODS["sad"][0])
    assert out.valence[12] == 0.5  # the energy hint leaves valence alone
    end = int(12 + DEFAULT_SPAN_S)
    np.testing.assert_allclose(out.arousal[12:end], 0.9)
    assert out.arousal[end] == 0.0


def test_our_own_output_markers_are_ignored():
    curve = flat_curve()
    ours = marker("mood: sad", start_s=0.0, duration_s=40.0, scorebridge={"quadrant": "sad"})
    out, warnings = apply_hints(curve, [ours])
    assert out is curve and warnings == []


def test_hint_reaching_the_last_frame_covers_the_partial_last_hop():
    # 10.06 s timeline -> 11 hops; the last hop holds only 0.06 s of picture.
    curve = flat_curve(n=11, v=0.9, a=-0.9)
    hint = marker("mood: sad", start_s=5.0, duration_s=5.06)
    out, _ = apply_hints(curve, [hint], duration_s=10.06)
    v_sad, a_sad = MOODS["sad"]
    assert out.valence[10] == pytest.approx(v_sad)
    assert out.arousal[10] == pytest.approx(a_sad)
    assert out.valence[4] == pytest.approx(0.9)
    # Without the timeline length the last hop counts as mostly uncovered.
    legacy, _ = apply_hints(curve, [hint])
    assert legacy.valence[10] > 0.5
