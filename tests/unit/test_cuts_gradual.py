"""Fades and dissolves are transitions with a start and an end, never hard cuts; a picture
that only changes colour is no cut; motion is no transition."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bridge.analysis.cuts import change_shape, find_cuts, same_layout, transition_span
from bridge.analysis.picture import observe_picture
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.types import Clip, Edit

RATE = Fraction(25)
FRAME_S = 1 / float(RATE)


def _frames(values) -> list[np.ndarray]:
    return [np.full((8, 8, 3), v, np.uint8) for v in values]


def test_change_shape_known_answers():
    assert change_shape(_frames([50] * 5 + [200] * 5)) == "hard"
    assert change_shape(_frames(np.linspace(50, 200, 10))) == "gradual"
    # A square moving across a flat field: lots of steps, but back where it started.
    moving = []
    for x in (0, 2, 4, 6, 4, 2, 0):
        f = np.zeros((8, 8, 3), np.uint8)
        f[2:4, x:x + 2] = 255
        moving.append(f)
    assert change_shape(moving) == "motion"
    assert change_shape(_frames([80] * 6)) == "motion"  # no change at all


def test_a_cut_in_busy_motion_is_hard():
    # Every frame moves a lot (grain, animation); the cut only stands out from the typical
    # step, it does not carry half of the interval's change.
    rng = np.random.default_rng(1)
    before = rng.integers(60, 120, (16, 16, 3))
    after = rng.integers(140, 200, (16, 16, 3))
    frames = [np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8)
              for base in [before] * 7 + [after] * 7]
    assert change_shape(frames) == "hard"
    assert change_shape(frames[:7]) == "motion"


def test_a_recoloured_picture_has_the_same_layout():
    rng = np.random.default_rng(0)
    text = rng.random((32, 32)) > 0.8  # a pattern that stays put (digits on a card)
    a = np.where(text[..., None], 240, np.array([90, 100, 110])).astype(np.uint8)
    b = np.where(text[..., None], 240, np.array([140, 90, 80])).astype(np.uint8)
    assert same_layout(a, b)
    assert change_shape([a, a, b, b]) == "motion"  # no cut
    other = np.where((rng.random((32, 32)) > 0.8)[..., None], 240,
                     np.array([100, 100, 100])).astype(np.uint8)
    assert not same_layout(a, other)
    flat_red, flat_blue = (np.full((32, 32, 3), c, np.uint8) for c in ((200, 0, 0), (0, 0, 200)))
    assert not same_layout(flat_red, flat_blue)  # flat colour: only colour can tell a cut


def test_transition_span_finds_both_ends_beyond_the_core():
    # Still, then a 10-frame ramp (frames 5..14 change), then still again.
    values = [40] * 5 + list(np.linspace(52, 160, 10)) + [160] * 6
    first, last = transition_span(_frames(np.round(values)), core=(8, 11))
    assert (first, last) == (5, 14)


@pytest.fixture(scope="module")
def gradual_clip(tmp_path_factory):
    """Moving squares on red; a 1 s dissolve to blue; a 0.8 s fade to black and a 0.8 s fade
    up to green; a hard cut to yellow."""
    path = tmp_path_factory.mktemp("gradual") / "gradual.mp4"
    cuts = encode_scenes(path, [
        SceneSpec(3.0, background=(200, 40, 40), shapes=2, speed_px_s=40),
        SceneSpec(2.4, background=(30, 60, 200), dissolve_in_s=1.0, fade_out_s=0.8),
        SceneSpec(2.4, background=(40, 180, 60), fade_in_s=0.8),
        SceneSpec(2.4, background=(230, 210, 40)),
    ], width=160, height=96, rate=RATE, audio=False)
    return path, cuts


def _one_shot_edit(path, duration_s: float) -> Edit:
    shot = Clip(name="one", kind="video", record_start_s=0.0, record_end_s=duration_s,
                media_path=path, media_start_s=0.0)
    return Edit(name="t", source_path=path, rate=RATE, drop_frame=False,
                start_timecode="00:00:00:00", start_frame=0,
                duration_frames=round(duration_s * RATE), shots=(shot,))


def test_dissolve_and_fades_inside_one_clip(gradual_clip):
    path, hard_cuts = gradual_clip
    assert hard_cuts == [pytest.approx(7.8)]  # the synth lists only the hard cut
    edit = _one_shot_edit(path, 10.2)
    cuts = find_cuts(edit, picture=observe_picture(edit))
    hard = [c for c in cuts if not c.is_gradual]
    soft = [(c.kind, c.start_s, c.end_s) for c in cuts if c.is_gradual]
    assert [c.kind for c in hard] == ["detected"]
    assert hard[0].time_s == pytest.approx(7.8, abs=FRAME_S + 1e-6)
    # Dissolve: first blended frame at 3.0, pure blue from 4.0. Fade out: 4.6 .. black
    # (no black frame is held: the darkest frame, one before 5.4, ends it). Fade up: that
    # frame .. pure green at 6.2.
    expected = [("dissolve", 3.0, 4.0), ("fade", 4.6, 5.4), ("fade", 5.4, 6.2)]
    assert [k for k, _, _ in soft] == [k for k, _, _ in expected]
    for (_, start, end), (_, want_start, want_end) in zip(soft, expected, strict=True):
        assert start == pytest.approx(want_start, abs=FRAME_S + 1e-6)
        assert end == pytest.approx(want_end, abs=FRAME_S + 1e-6)


def test_a_background_that_changes_colour_under_the_same_layout_is_no_cut(tmp_path):
    path = tmp_path / "card.mp4"
    band = (250, 250, 250)  # the same layout on both sides: a white band on top
    encode_scenes(path, [SceneSpec(3.0, background=(90, 100, 110), band=band),
                         SceneSpec(3.0, background=(140, 90, 80), band=band)],
                  width=160, height=96, rate=RATE, audio=False)
    edit = _one_shot_edit(path, 6.0)
    cuts = find_cuts(edit, picture=observe_picture(edit))
    assert cuts == ()
