"""The shared picture pass: one decode per shot, measurements kept, pixels dropped."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bridge.analysis.picture import (
    COLOUR_FEATURES,
    HISTOGRAM_BINS,
    MEDIA_MISSING,
    brightness,
    colour_measures,
    colourfulness,
    dark_share,
    measure_shot,
    observe_picture,
    problems,
    saturation,
    warmth,
)
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.types import Clip, Edit

RATE = Fraction(25)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("picture") / "two.mp4"
    encode_scenes(path, [SceneSpec(4.0, background=(200, 30, 30)),
                         SceneSpec(4.0, background=(20, 20, 200), shapes=3, speed_px_s=200)],
                  width=160, height=96, rate=RATE, audio=False)
    return path


def clip(name, start, end, path, media_start, **kw) -> Clip:
    return Clip(name=name, kind="video", record_start_s=start, record_end_s=end,
                media_path=path, media_start_s=media_start, **kw)


def test_measurements_per_sample(clip_file):
    shot = measure_shot(clip(
        "both scenes", 10.0, 18.0, clip_file, 0.0), rate_hz=2.0)
    assert not shot.problem
    assert len(shot) == 16  # 8 s at 2 Hz
    assert shot.histograms.shape == (16, HISTOGRAM_BINS)
    assert np.allclose(shot.histograms.sum(axis=1), 1.0)
    assert shot.colour.shape == (16, len(COLOUR_FEATURES))
    # record times follow media times, offset to where the shot sits in the timeline
    assert np.allclose(shot.record_times_s - shot.media_times_s, 10.0, atol=1e-6)
    warmth = shot.colour[:, COLOUR_FEATURES.index("warmth")]
    assert warmth[:8].min() > 0.5 and warmth[8:].max() < -0.5  # red scene, then blue
    # the static red scene has no motion; the blue one has moving squares
    assert np.nanmax(shot.motion[:7]) < 0.002 < np.nanmean(shot.motion[9:])


def test_freeze_frame_and_missing_media(clip_file, tmp_path):
    held = measure_shot(clip("held", 0.0, 3.0, clip_file, 1.0, speed=0.0), rate_hz=2.0)
    assert len(held) == 6 and np.all(held.motion == 0.0)
    assert np.ptp(held.colour, axis=0).max() == 0.0  # the same frame throughout
    gone = measure_shot(clip("gone", 0.0, 3.0, tmp_path / "nope.mp4", 0.0), rate_hz=2.0)
    assert len(gone) == 0 and gone.problem == MEDIA_MISSING


def test_observe_picture_reports_progress_and_problems(clip_file, tmp_path):
    edit = Edit(name="e", source_path=tmp_path / "e.otio", rate=RATE, drop_frame=False,
                start_timecode="00:00:00:00", start_frame=0, duration_frames=150,
                shots=(clip("a", 0.0, 4.0, clip_file, 0.0),
                       clip("offline", 4.0, 6.0, None, 0.0, media_missing=True)))
    calls = []
    picture = observe_picture(edit, progress=lambda stage, f, m: calls.append((stage, f)))
    assert [len(p) for p in picture] == [8, 0]
    assert {s for s, _ in calls} == {"picture"} and calls[-1][1] == 1.0
    assert problems(picture) == ["clip 'offline': media missing"]
    assert problems(picture, include_missing=False) == []


def test_freeze_frame_holds_the_frame_at_its_source_in(tmp_path):
    # A keyframe every second, and a new (blue) picture from the keyframe at 4.0 s: a hold
    # at 3.8 s must show the red frame there, not snap to the nearby keyframe.
    path = tmp_path / "gop25.mp4"
    encode_scenes(path, [SceneSpec(4.0, background=(200, 30, 30)),
                         SceneSpec(2.0, background=(20, 20, 200))],
                  width=160, height=96, rate=RATE, audio=False, gop=25)
    held = measure_shot(clip("held", 0.0, 2.0, path, 3.8, speed=0.0), rate_hz=2.0)
    assert held.media_times_s[0] == pytest.approx(3.8, abs=0.5 / float(RATE))
    assert held.colour[0, COLOUR_FEATURES.index("warmth")] > 0.5  # red, not blue


def test_colour_measures_are_the_single_measures_exactly():
    """colour_measures shares its pixel arrays between the five measures: the values are
    bit for bit those of the single functions (noise, flat colours, black, white, a
    gradient through every hue)."""
    rng = np.random.default_rng(7)
    hue = np.linspace(0, 1, 160)[None, :, None]
    gradient = (255 * np.clip(np.abs((hue * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1)
                * np.linspace(0.2, 1, 90)[:, None, None]).astype(np.uint8)
    frames = [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8), gradient,
              np.zeros((54, 96, 3), np.uint8), np.full((54, 96, 3), 255, np.uint8),
              np.broadcast_to(np.array([200, 30, 30], np.uint8), (9, 16, 3))]
    for rgb in frames:
        singles = (brightness(rgb), saturation(rgb), colourfulness(rgb), warmth(rgb),
                   dark_share(rgb))
        assert colour_measures(rgb) == singles
        assert len(singles) == len(COLOUR_FEATURES)
