"""Kept and composed pieces: old music kept on its own bar lines, the rest composed."""

from itertools import pairwise

import numpy as np
import pytest

from bridge.recut.diff import KeptSpan
from bridge.recut.pieces import Piece, plan_pieces

BARS = np.arange(0.0, 20.0, 2.0)  # a bar every 2 s over a 20 s piece


def pieces(spans, new_duration, old_duration=20.0):
    out = plan_pieces(spans, old_bar_starts_s=BARS, old_duration_s=old_duration,
                      new_duration_s=new_duration, tol_s=0.02)
    assert out[0].start_s == 0.0 and out[-1].end_s == pytest.approx(new_duration)
    for a, b in pairwise(out):
        assert a.end_s == pytest.approx(b.start_s)  # they tile the timeline
    return [(p.kind, round(p.start_s, 3), round(p.end_s, 3), round(p.shift_s, 3)) for p in out]


def test_unchanged_timeline_keeps_everything():
    assert pieces([KeptSpan(0, 20, 0)], 20) == [("kept", 0, 20, 0)]


def test_trim_in_the_middle_composes_a_bridge_between_bar_lines():
    # picture unchanged 0..9, then old 11..20 plays 2 s earlier at 9..18
    got = pieces([KeptSpan(0, 9, 0), KeptSpan(9, 18, -2)], 18)
    assert got == [("kept", 0, 6, 0), ("composed", 6, 12, 0), ("shifted", 12, 18, -2)]


def test_insert_at_the_start_keeps_the_rest_shifted():
    got = pieces([KeptSpan(3, 23, 3)], 23)
    assert got == [("composed", 0, 5, 0), ("shifted", 5, 23, 3)]


def test_short_kept_stretch_is_composed_again():
    got = pieces([KeptSpan(0, 7, 0), KeptSpan(7.3, 10.1, 1.3), KeptSpan(12, 20, 0)], 20)
    assert [k for k, *_ in got] == ["kept", "composed", "kept"]


def test_everything_replaced_is_one_composed_piece():
    assert pieces([], 31) == [("composed", 0, 31, 0)]


def test_piece_is_plain_data():
    p = Piece(1.0, 3.5, "shifted", -2.0)
    assert p.duration_s == 2.5
