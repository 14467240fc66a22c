"""bridge.analysis.cuts on Edits over real encoded media with known cut times."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bridge.analysis.cuts import (
    DEFAULT_THRESHOLD,
    change_indices,
    find_cuts,
    histogram_distance,
    successive_distances,
)
from bridge.analysis.picture import hsv_histogram, observe_picture, problems
from bridge.errors import CancelledError
from bridge.media import sample_frames
from bridge.media.synth import SceneSpec, encode_scenes, write_not_media
from bridge.progress import CancelToken
from bridge.types import Clip, Cut, Edit, Transition

RATE = Fraction(25)
FRAME_S = 1 / 25
DURATIONS = [4.36, 6.12, 3.2, 7.84, 2.48, 6.0]  # 30 s, irregular
COLOURS = [(200, 40, 40), (30, 30, 30), (40, 180, 60), (240, 220, 200), (30, 60, 200),
           (150, 60, 170)]
FLASH_AT_S = 6.0  # absolute; inside scene 1, on a 2 Hz sample time so the detector sees it


def make_edit(shots, *, duration_s: float, transitions=()) -> Edit:
    return Edit(
        name="test", source_path=Path("test.otio"), rate=RATE, drop_frame=False,
        start_timecode="00:00:00:00", start_frame=0,
        duration_frames=round(duration_s * 25), shots=tuple(shots),
        transitions=tuple(transitions),
    )


def shot(name, start, end, path, media_start, **kw) -> Clip:
    return Clip(name=name, kind="video", record_start_s=start, record_end_s=end,
                media_path=path, media_start_s=media_start, **kw)


@pytest.fixture(scope="session")
def six(tmp_path_factory):
    """Six scenes with moving squares and one single-frame flash; returns (path, cut times)."""
    path = tmp_path_factory.mktemp("cuts") / "six.mp4"
    scenes = [
        SceneSpec(d, c, shapes=3, speed_px_s=60, speed_end_px_s=160, shape_size_px=16,
                  flash_at_s=FLASH_AT_S - DURATIONS[0] if i == 1 else None)
        for i, (d, c) in enumerate(zip(DURATIONS, COLOURS))
    ]
    cuts = encode_scenes(path, scenes, rate=RATE, audio=False)
    return path, cuts


def test_histogram_distance_known_answers():
    red = np.full((8, 8, 3), (220, 20, 20), np.uint8)
    blue = np.full((8, 8, 3), (20, 20, 220), np.uint8)
    half = red.copy()
    half[:4] = blue[:4]
    h_red, h_blue, h_half = (hsv_histogram(x) for x in (red, blue, half))
    assert h_red.sum() == pytest.approx(1.0)
    assert histogram_distance(h_red, h_red) == 0.0
    assert histogram_distance(h_red, h_blue) == pytest.approx(1.0)
    assert histogram_distance(h_red, h_half) == pytest.approx(0.5)
    # greys do not scatter over hues: slightly tinted greys share a bin
    grey_a = np.full((4, 4, 3), (120, 122, 121), np.uint8)
    grey_b = np.full((4, 4, 3), (122, 120, 121), np.uint8)
    assert histogram_distance(hsv_histogram(grey_a), hsv_histogram(grey_b)) == 0.0


def test_neighbouring_hues_are_told_apart_but_shades_are_not():
    # red (3 deg) and orange (26 deg): a real cut, once missed because both fell in one bin
    red = np.full((8, 8, 3), (230, 40, 30), np.uint8)
    orange = np.full((8, 8, 3), (250, 120, 20), np.uint8)
    assert histogram_distance(hsv_histogram(red), hsv_histogram(orange)) > DEFAULT_THRESHOLD
    # the same red a few percent brighter is no cut
    red_lit = np.full((8, 8, 3), (240, 44, 33), np.uint8)
    assert histogram_distance(hsv_histogram(red), hsv_histogram(red_lit)) < 0.1


def test_change_indices_skips_flashes():
    labels = ["a", "a", "b", "b", "w", "b", "c", "c"]  # w: one frame unlike both neighbours
    hists = {k: np.eye(4)[i] for i, k in enumerate("abcw")}
    seq = [hists[x] for x in labels]
    dist = successive_distances(seq)
    skip = np.array([histogram_distance(seq[i], seq[i + 2]) for i in range(len(seq) - 2)])
    assert change_indices(dist, skip_dist=skip, threshold=0.35) == [1, 5]


def cuts_of(edit: Edit, **options) -> tuple[Cut, ...]:
    """find_cuts after the picture pass it takes as input, as the pipeline runs them."""
    return find_cuts(edit, picture=observe_picture(edit), **options)


def test_detected_cuts_match_encoded_cuts_within_a_frame(six):
    path, encoded = six
    assert len(encoded) == 5
    edit = make_edit([shot("one", 0.0, 30.0, path, 0.0)], duration_s=30.0)
    cuts = cuts_of(edit)
    assert [c.kind for c in cuts] == ["detected"] * 5
    assert np.abs(np.array([c.time_s for c in cuts]) - encoded).max() <= FRAME_S + 1e-6
    assert all(0.35 <= c.strength <= 1.0 for c in cuts)


def test_a_flash_is_not_a_cut(six):
    path, _ = six
    seen = sample_frames(path, FLASH_AT_S, FLASH_AT_S + 0.5, rate_hz=2.0, width=32)
    assert seen[0].rgb.mean() > 240  # the detector's samples really do land on the flash
    edit = make_edit([shot("one", 0.0, 30.0, path, 0.0)], duration_s=30.0)
    assert all(abs(c.time_s - FLASH_AT_S) > 1.0 for c in cuts_of(edit))


def test_edit_points_gaps_transitions_and_detected_cuts(six):
    path, encoded = six
    shots = [
        shot("A", 0.0, 3.0, path, 0.0),  # inside scene 0: no change
        # gap 3.0 .. 4.0
        shot("B", 4.0, 9.0, path, 8.0),  # media 8..13 holds the cut at 10.48
        shot("C", 9.0, 12.0, path, 20.0),  # media 20..23 holds the cut at 21.52
    ]
    edit = make_edit(shots, duration_s=12.0,
                     transitions=[Transition("SMPTE_Dissolve", 8.5, 9.5)])
    cuts = cuts_of(edit)
    edits = [c for c in cuts if c.kind == "edit"]
    assert [c.time_s for c in edits] == [3.0, 4.0, 9.0]
    assert [c.transition for c in edits] == [None, None, "SMPTE_Dissolve"]
    assert all(c.strength == 1.0 for c in edits)
    detected = [c.time_s for c in cuts if c.kind == "detected"]
    expected = [4.0 + (encoded[1] - 8.0), 9.0 + (encoded[3] - 20.0)]
    assert detected == pytest.approx(expected, abs=FRAME_S + 1e-6)
    assert [c.time_s for c in cuts] == sorted(c.time_s for c in cuts)
    only_edits = cuts_of(edit, detect_inside=False)
    assert only_edits == tuple(edits)


def test_time_warped_shot_maps_back_to_record_frames(six):
    path, encoded = six
    edit = make_edit([shot("fast", 0.0, 5.0, path, 0.0, speed=2.0)], duration_s=5.0)
    cuts = cuts_of(edit)
    # media cut 4.36 s at double speed shows first on record frame ceil(54.5) = 55
    assert cuts == (Cut(time_s=2.2, kind="detected", strength=cuts[0].strength),)
    assert cuts[0].time_s * 2 == pytest.approx(encoded[0], abs=2 * FRAME_S)


def test_missing_media_keeps_edit_points(six, tmp_path):
    path, _ = six
    shots = [
        shot("offline", 0.0, 5.0, None, 0.0, media_missing=True),
        shot("gone", 5.0, 10.0, tmp_path / "gone.mp4", 0.0),
        shot("real", 10.0, 15.0, path, 0.0),
    ]
    cuts = cuts_of(make_edit(shots, duration_s=15.0))
    assert [(round(c.time_s, 3), c.kind) for c in cuts] == [
        (5.0, "edit"), (10.0, "edit"), (14.36, "detected")]


def test_undecodable_media_is_reported_and_its_edit_points_stand(six, tmp_path):
    # Like missing media, one broken file must not sink the cut list of a whole film.
    path, _ = six
    bad = tmp_path / "bad.mp4"
    write_not_media(bad)
    edit = make_edit([shot("good shot", 0.0, 6.0, path, 0.0),
                      shot("broken shot", 6.0, 11.0, bad, 0.0)], duration_s=11.0)
    picture = observe_picture(edit)
    cuts = find_cuts(edit, picture=picture)
    assert [(c.time_s, c.kind) for c in cuts if c.kind == "edit"] == [(6.0, "edit")]
    (line,) = problems(picture)
    assert "broken shot" in line and "bad.mp4" in line


def test_progress_and_cancel(six):
    path, _ = six
    edit = make_edit([shot("a", 0.0, 12.0, path, 0.0), shot("b", 12.0, 24.0, path, 12.0)],
                     duration_s=24.0)
    calls = []
    record = lambda stage, f, msg: calls.append((stage, f))  # noqa: E731
    find_cuts(edit, picture=observe_picture(edit, progress=record), progress=record)
    # the picture pass reports itself; cut detection only its own work
    assert [s for s, _ in calls] == ["picture"] * 3 + ["cuts"] * 4
    for stage in ("picture", "cuts"):
        fractions = [f for s, f in calls if s == stage]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        cuts_of(edit, cancel=token)


def test_changes_next_to_an_edit_point_are_not_localised(six, monkeypatch):
    """A scene change within min_shot_s of an edit point is dropped without decoding for it."""
    import bridge.analysis.cuts as cuts_module

    path, scene_cuts = six
    first, second = scene_cuts[0], scene_cuts[1]
    # shot b starts 0.4 s before the first scene change, so it lands 0.4 s after the edit
    # point at 3.0; the second scene change lands well clear of any edit point.
    b_start = first - 0.4
    edit = make_edit([shot("a", 0.0, 3.0, path, 0.0),
                      shot("b", 3.0, 3.0 + (second - b_start) + 2.0, path, b_start)],
                     duration_s=3.0 + (second - b_start) + 2.0)
    localised = []
    real = cuts_module._clean_cut

    def counting(shot_, t0, *args, **kw):
        localised.append(t0)
        return real(shot_, t0, *args, **kw)

    monkeypatch.setattr(cuts_module, "_clean_cut", counting)
    found = cuts_of(edit, min_shot_s=1.0)
    detected = [c.time_s for c in found if c.kind == "detected"]
    assert detected == pytest.approx([3.0 + second - b_start], abs=1 / float(RATE) + 1e-6)
    assert len(localised) == 1  # only the change that is kept was localised


def test_short_gop_cuts_are_found_by_bisection_and_long_gop_ones_by_the_scan(
        six, tmp_path, monkeypatch):
    """A keyframe every second: bisection, no full scan; the same cuts, frame-exact. The
    six-scene file (one keyframe per scene) makes decoding up to a candidate costly, so the
    scan goes first there, and the bisection is not paid for on top."""
    import bridge.analysis.cuts as cuts_module

    path = tmp_path / "gop25.mp4"
    scenes = [SceneSpec(d, c, shapes=3, speed_px_s=60, shape_size_px=16)
              for d, c in zip(DURATIONS, COLOURS)]
    encoded = encode_scenes(path, scenes, rate=RATE, audio=False, gop=25)
    calls = {"bisect": 0, "scan": 0}
    bisect, scan = cuts_module.find_change, cuts_module.frames_between

    def counted(name, fn):
        def wrapper(*args, **kw):
            calls[name] += 1
            return fn(*args, **kw)
        return wrapper

    monkeypatch.setattr(cuts_module, "find_change", counted("bisect", bisect))
    monkeypatch.setattr(cuts_module, "frames_between", counted("scan", scan))
    cuts = cuts_of(make_edit([shot("one", 0.0, 30.0, path, 0.0)], duration_s=30.0))
    assert np.abs(np.array([c.time_s for c in cuts]) - encoded).max() <= FRAME_S + 1e-6
    assert calls == {"bisect": 5, "scan": 0}

    calls.update(bisect=0, scan=0)
    long_gop, _ = six
    cuts_of(make_edit([shot("one", 0.0, 30.0, long_gop, 0.0)], duration_s=30.0))
    assert calls["scan"] >= 1 and calls["bisect"] < calls["scan"]
