"""Timeline diff: shots identified by the media range they show, not by name or position."""

from fractions import Fraction
from pathlib import Path

import pytest

from bridge.recut import diff_edits
from bridge.types import Clip, Edit

RATE = Fraction(25)


def clip(name, media, record_start, media_start, length, speed=1.0):
    return Clip(name=name, kind="video", record_start_s=record_start,
                record_end_s=record_start + length, media_path=Path(f"/m/{media}.mov"),
                media_start_s=media_start, speed=speed)


def edit(*shots):
    end = max(s.record_end_s for s in shots)
    return Edit(name="t", source_path=Path("/t.otio"), rate=RATE, drop_frame=False,
                start_timecode="00:00:00:00", start_frame=0,
                duration_frames=round(end * RATE), shots=tuple(shots))


def kinds(d):
    return sorted((c.kind, c.old_index, c.new_index) for c in d.changes)


OLD = edit(clip("A", "a", 0, 10, 4), clip("B", "b", 4, 0, 6), clip("C", "c", 10, 5, 5),
           clip("D", "d", 15, 0, 5))


def test_identical_edits_are_all_kept_and_one_span():
    d = diff_edits(OLD, OLD)
    assert d.unchanged
    assert kinds(d) == [("kept", i, i) for i in range(4)]
    assert [(s.start_s, s.end_s, s.shift_s) for s in d.kept_spans] == [(0, 20, 0)]


def test_trimmed_middle_shot_shifts_what_follows():
    # B loses 2 s at its tail: C and D move 2 s earlier.
    new = edit(clip("A", "a", 0, 10, 4), clip("B", "b", 4, 0, 4), clip("C", "c", 8, 5, 5),
               clip("D", "d", 13, 0, 5))
    d = diff_edits(OLD, new)
    assert kinds(d) == [("kept", 0, 0), ("moved", 2, 2), ("moved", 3, 3), ("trimmed", 1, 1)]
    b = next(c for c in d.changes if c.kind == "trimmed")
    assert b.head_trim_s == pytest.approx(0) and b.tail_trim_s == pytest.approx(2)
    assert b.shift_s == pytest.approx(0)  # the part of B that stayed did not move
    spans = [(s.start_s, s.end_s, s.shift_s) for s in d.kept_spans]
    assert spans == [(0, 8, 0), (8, 18, -2)]
    assert not d.unchanged


def test_head_trim_moves_the_remaining_picture():
    # B loses 1 s at its head; the rest of B plays 1 s earlier than before.
    new = edit(clip("A", "a", 0, 10, 4), clip("B", "b", 4, 1, 5), clip("C", "c", 9, 5, 5))
    d = diff_edits(OLD, new)
    b = next(c for c in d.changes if c.new_index == 1)
    assert (b.kind, b.head_trim_s, b.tail_trim_s, b.shift_s) == ("trimmed", 1, 0, -1)
    assert ("deleted", 3, None) in kinds(d)


def test_swap_insert_and_delete_are_named():
    new = edit(clip("A", "a", 0, 10, 4), clip("C", "c", 4, 5, 5), clip("X", "x", 9, 0, 3),
               clip("B", "b", 12, 0, 6))
    d = diff_edits(OLD, new)
    assert kinds(d) == [("deleted", 3, None), ("inserted", None, 2), ("kept", 0, 0),
                        ("moved", 1, 3), ("moved", 2, 1)]
    assert d.summary() == "1 kept, 2 moved, 1 inserted, 1 deleted"
    assert [(s.start_s, s.end_s, s.shift_s) for s in d.kept_spans] == [
        (0, 4, 0), (4, 9, -6), (12, 18, 8)]


def test_same_media_used_twice_matches_the_nearest_use():
    old = edit(clip("A1", "a", 0, 0, 2), clip("B", "b", 2, 0, 2), clip("A2", "a", 4, 0, 2))
    new = edit(clip("B", "b", 0, 0, 2), clip("A1", "a", 2, 0, 2), clip("A2", "a", 4, 0, 2))
    d = diff_edits(old, new)
    assert ("kept", 2, 2) in kinds(d)  # the later use stays where it was
    assert ("moved", 0, 1) in kinds(d)


def test_media_id_decides_identity():
    relinked = edit(*(Clip(**{**c.__dict__, "media_path": Path("/elsewhere") / c.media_path.name})
                      for c in OLD.shots))
    by_path = diff_edits(OLD, relinked)
    assert by_path.count("inserted") == 4 and by_path.count("deleted") == 4
    by_name = diff_edits(OLD, relinked, media_id=lambda c: c.media_path.name)
    assert by_name.unchanged


def test_everything_replaced():
    new = edit(clip("X", "x", 0, 0, 7), clip("Y", "y", 7, 0, 7))
    d = diff_edits(OLD, new)
    assert d.count("inserted") == 2 and d.count("deleted") == 4 and d.kept_spans == ()
