"""The heuristic affect sensor end to end on video encoded with PyAV (bridge.media.synth)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from bridge.affect import MOODS, estimate_affect, estimators
from bridge.affect.heuristic import curve_from_features
from bridge.affect.observe import observe
from bridge.analysis.picture import observe_picture
from bridge.analysis.sound import observe_sound
from bridge.config import ScoreOptions
from bridge.errors import CancelledError, InvalidOptionError, MissingMediaError
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.progress import CancelToken
from bridge.timeline import ShotSpec, read_edit, write_timeline
from bridge.types import Clip, Cut, Edit, TimelineMarker

RATE = Fraction(12)
W, H = 160, 90


def make_edit(path: Path, bounds_s: list[float], *, audio: bool, name: str = "reel",
              markers: tuple[TimelineMarker, ...] = (), missing: set[int] = frozenset()
              ) -> tuple[Edit, tuple[Cut, ...]]:
    """One shot per scene of a synth file, in record time = media time."""
    shots = tuple(
        Clip(name=f"{name} shot {i}", kind="video", record_start_s=a, record_end_s=b,
             media_path=path if i not in missing else path.with_name("gone.mp4"),
             media_start_s=a, media_missing=i in missing)
        for i, (a, b) in enumerate(pairwise(bounds_s))
    )
    sound = (Clip(name=f"{name} audio", kind="audio", record_start_s=0.0,
                  record_end_s=bounds_s[-1], media_path=path, media_start_s=0.0),)
    edit = Edit(name=name, source_path=path.with_suffix(".otio"), rate=RATE, drop_frame=False,
                start_timecode="00:00:00:00", start_frame=0,
                duration_frames=round(bounds_s[-1] * RATE), shots=shots,
                audio_clips=sound if audio else (), markers=markers)
    cuts = tuple(Cut(t, "edit") for t in bounds_s[1:-1])
    return edit, cuts


def passes(edit: Edit) -> dict:
    """The shared analysis passes the estimator takes as input, as the pipeline runs them."""
    return {"picture": observe_picture(edit), "sound": observe_sound(edit)}


def affect_of(edit: Edit, cuts: tuple[Cut, ...], **options):
    return estimate_affect(edit, cuts, **passes(edit), **options)


def features_of(edit: Edit, cuts: tuple[Cut, ...]):
    return observe(edit, cuts, **passes(edit))


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("affect_media")


@pytest.fixture(scope="session")
def calm_then_agitated(media_dir):
    """15 s static, dark blue, quiet; then 15 s of 1.5 s shots: bright red, fast, loud."""
    calm = SceneSpec(15.0, background=(10, 20, 70), audio="tone", tone_hz=220,
                     level_dbfs=-45)
    agitated = [SceneSpec(1.5, background=(230, 40 + 20 * (i % 3), 20), shapes=10,
                          speed_px_s=250, audio="noise", level_dbfs=-6) for i in range(10)]
    path = media_dir / "calm_agitated.mp4"
    cuts = encode_scenes(path, [calm, *agitated], width=W, height=H, rate=RATE)
    return make_edit(path, [0.0, *cuts, 30.0], audio=True, name="calm then agitated")


@pytest.fixture(scope="session")
def warm_videos(media_dir):
    """The same 20 s warm mid-bright scene with slow shapes, without and with a flash at 10 s."""
    out = []
    for flash in (None, 10.0):
        path = media_dir / f"warm_{flash}.mp4"
        scene = SceneSpec(20.0, background=(170, 120, 60), shapes=3, speed_px_s=40,
                          flash_at_s=flash, audio="tone", level_dbfs=-20)
        encode_scenes(path, [scene], width=W, height=H, rate=RATE)
        out.append(make_edit(path, [0.0, 20.0], audio=True, name=f"warm flash={flash}"))
    return out


def test_agitated_section_is_more_aroused_and_warm_bright_is_more_positive(
        calm_then_agitated):
    edit, cuts = calm_then_agitated
    curve, warnings = affect_of(edit, cuts)
    assert warnings == [] and len(curve) == 30
    # hops 3 s either side of the change are left out: the 5 s smoothing blends them
    calm, agitated = slice(0, 12), slice(18, 30)
    # every arousal cue (motion, cut rhythm, loudness) moves from one end of its scale to
    # the other, so the sections should sit at least half the -1..1 range apart
    assert curve.arousal[agitated].mean() - curve.arousal[calm].mean() > 1.0
    # dark, cold blue against bright, warm red: valence at least 0.5 apart
    assert curve.valence[agitated].mean() - curve.valence[calm].mean() > 0.5
    assert curve.valence[calm].mean() < 0 < curve.valence[agitated].mean()
    assert np.all(curve.confidence == 1.0)


def test_record_time_not_media_time_places_the_features(calm_then_agitated):
    """Swap the halves on the timeline: agitated media first, calm media second."""
    edit, _ = calm_then_agitated
    path = edit.shots[0].media_path
    swapped = replace(edit, shots=(
        Clip("agitated", "video", 0.0, 15.0, path, media_start_s=15.0),
        Clip("calm", "video", 15.0, 30.0, path, media_start_s=0.0),
    ), audio_clips=(
        Clip("agitated sound", "audio", 0.0, 15.0, path, media_start_s=15.0),
        Clip("calm sound", "audio", 15.0, 30.0, path, media_start_s=0.0),
    ))
    table = features_of(swapped, (Cut(15.0, "edit"),))
    assert np.nanmin(table.loudness_db[:15]) - np.nanmax(table.loudness_db[15:]) > 15
    assert np.all(table.dark_share[15:] == 1.0) and np.all(table.dark_share[:15] < 0.1)
    curve, _ = affect_of(swapped, (Cut(15.0, "edit"),))
    assert curve.arousal[:12].mean() - curve.arousal[18:].mean() > 1.0


def test_speed_changes_and_freeze_frames(calm_then_agitated):
    edit, _ = calm_then_agitated
    path = edit.shots[0].media_path
    warped = replace(edit, duration_frames=round(17.5 * RATE), audio_clips=(), shots=(
        # 2x: the 15 s agitated half plays in 7.5 s of record time
        Clip("fast", "video", 0.0, 7.5, path, media_start_s=15.0, speed=2.0),
        # a freeze frame of the agitated half: motion is zero, colour is still seen
        Clip("held", "video", 7.5, 12.5, path, media_start_s=20.0, speed=0.0),
        Clip("calm", "video", 12.5, 17.5, path, media_start_s=0.0),
    ))
    table = features_of(warped, ())
    assert len(table) == 18 and np.all(table.picture[:17] == 1.0)
    assert np.all(table.dark_share[:12] < 0.1) and np.all(table.dark_share[13:] == 1.0)
    assert np.all(table.motion[8:12] == 0.0) and np.all(table.motion[:7] > 0.02)


def test_motion_ramp_gives_rising_arousal(media_dir):
    path = media_dir / "ramp.mp4"
    # 20 s: six squares from almost still to 250 px/s (below the speed at which a 24 px
    # square jumps clear of itself between frames at 12 fps, where difference saturates)
    encode_scenes(path, [SceneSpec(20.0, background=(90, 90, 90), shapes=6, speed_px_s=5,
                                   speed_end_px_s=250)], width=W, height=H, rate=RATE)
    edit, cuts = make_edit(path, [0.0, 20.0], audio=False, name="ramp")
    curve, _ = affect_of(edit, cuts)
    rho = spearmanr(curve.times_s, curve.arousal).statistic
    assert rho > 0.8, (rho, curve.arousal.round(2))
    assert curve.arousal[-3:].mean() - curve.arousal[:3].mean() > 0.3
    # no sound clips: sound unknown, so confidence is reduced but not zero
    assert np.all((curve.confidence > 0.5) & (curve.confidence < 1.0))


def test_single_flash_frame_does_not_spike(warm_videos):
    (plain, plain_cuts), (flash, flash_cuts) = warm_videos
    table = features_of(flash, flash_cuts)
    # the flash was seen: hop 10 is far brighter and more "moving" than its neighbours
    assert table.brightness[10] - table.brightness[9] > 0.03
    assert table.motion[10] > 5 * np.nanmedian(table.motion)
    with_flash = curve_from_features(table)
    without = curve_from_features(features_of(plain, plain_cuts))
    # bound: the one-frame flash moves neither dimension by more than 0.1 anywhere
    assert np.abs(with_flash.arousal - without.arousal).max() < 0.1
    assert np.abs(with_flash.valence - without.valence).max() < 0.1


def test_sad_hint_pulls_a_bright_scene_negative_exactly_over_its_range(warm_videos):
    edit, cuts = warm_videos[0]
    plain, _ = affect_of(edit, cuts)
    assert plain.valence.min() > 0.2  # warm, bright: clearly positive without the hint
    hint = TimelineMarker(name="mood: sad", note="", start_s=6.0, duration_s=5.0)
    hinted_edit = replace(edit, markers=(hint,))
    hinted, warnings = affect_of(hinted_edit, cuts)
    assert warnings == []
    np.testing.assert_allclose(hinted.valence[6:11], MOODS["sad"][0])
    outside = np.r_[0:6, 11:20]
    np.testing.assert_array_equal(hinted.valence[outside], plain.valence[outside])
    assert np.all(hinted.valence[outside] > 0.2)


def test_mood_marker_read_from_a_real_otio_file(warm_videos, tmp_path):
    edit, _ = warm_videos[0]
    media = edit.shots[0].media_path
    otio_path = write_timeline(
        tmp_path / "warm cut.otio", name="warm cut", rate=Fraction(24),  # SMPTE rate
        shots=[ShotSpec(media, seconds=10.0), ShotSpec(media, seconds=10.0, media_start_s=10.0)],
        audio=[ShotSpec(media, seconds=20.0)],
        markers=[TimelineMarker(name="Scene 2", note="mood: sad", start_s=6.0, duration_s=5.0)],
    )
    read = read_edit(otio_path)
    assert len(read.shots) == 2 and len(read.audio_clips) == 1
    curve, warnings = affect_of(read, (Cut(10.0, "edit"),))
    assert warnings == []
    np.testing.assert_allclose(curve.valence[6:11], MOODS["sad"][0])
    assert np.all(curve.valence[:6] > 0.2) and np.all(curve.valence[11:] > 0.2)


def test_all_media_missing_raises_naming_the_timeline(calm_then_agitated):
    edit, cuts = calm_then_agitated
    gone = replace(edit, name="lost reel", shots=tuple(
        replace(s, media_path=Path("/nowhere/x.mp4"), media_missing=True) for s in edit.shots))
    with pytest.raises(MissingMediaError) as err:
        affect_of(gone, cuts)
    text = str(err.value)
    assert "lost reel" in text and str(edit.source_path) in text and "relink" in text


def test_one_missing_shot_is_interpolated_with_zero_confidence(calm_then_agitated, media_dir):
    path = media_dir / "calm_agitated.mp4"
    edit, cuts = make_edit(path, [0.0, 5.0, 10.0, 15.0], audio=False, missing={1},
                           name="partly offline")
    curve, warnings = affect_of(edit, cuts)
    assert np.all(curve.confidence[5:10] == 0) and np.all(curve.confidence[:5] > 0)
    assert np.all(np.isfinite(curve.valence)) and np.all(np.isfinite(curve.arousal))
    assert len(warnings) == 1 and "partly offline shot 1" in warnings[0]


def test_bad_options_name_the_field(warm_videos):
    edit, cuts = warm_videos[0]
    with pytest.raises(InvalidOptionError, match="affect_hop_s"):  # bounds: once per job
        ScoreOptions(affect_hop_s=0).validated()
    with pytest.raises(InvalidOptionError, match="vlm-nonexistent"):
        affect_of(edit, cuts, backend="vlm-nonexistent")


def test_progress_reaches_one_and_cancel_stops(warm_videos):
    edit, cuts = warm_videos[0]
    seen = []
    estimators.create("heuristic").estimate(
        edit, cuts, **passes(edit), progress=lambda stage, f, msg: seen.append((stage, f)))
    assert {s for s, _ in seen} == {"affect"} and seen[-1][1] == 1.0
    assert all(b >= a for (_, a), (_, b) in pairwise(seen))
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        affect_of(edit, cuts, cancel=token)
