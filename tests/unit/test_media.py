"""bridge.media on real files encoded by bridge.media.synth."""

from __future__ import annotations

import contextvars
import gc
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
import pytest

from bridge.errors import (
    CancelledError,
    InvalidOptionError,
    MissingMediaError,
    UndecodableMediaError,
)
from bridge.media import (
    _container,
    content_key,
    decode_audio,
    find_change,
    frames_between,
    probe,
    reuse_open_files,
    sample_frames,
)
from bridge.media.frames import CHANGE_STRIDE, DecodeStats
from bridge.media.synth import (
    SceneSpec,
    encode_audio,
    encode_scenes,
    encode_still,
    write_not_media,
)
from bridge.progress import CancelToken

RED, BLUE, GREEN, YELLOW = (200, 30, 30), (30, 40, 200), (30, 190, 40), (250, 240, 20)
SCENES = [
    SceneSpec(2.0, RED, audio="tone", tone_hz=440.0),
    SceneSpec(1.6, BLUE, shapes=3, speed_px_s=90, speed_end_px_s=200, shape_size_px=12,
              shape_color=RED, audio="tone", tone_hz=440.0),
    SceneSpec(1.4, GREEN, band=YELLOW, audio="tone", tone_hz=440.0),
]
DURATION_S = 5.0
# one moving scene: the only keyframes are the GOP's (no extra one at a scene cut)
MOVING = [SceneSpec(DURATION_S, BLUE, shapes=3, speed_px_s=90, shape_size_px=12,
                    shape_color=RED)]
GOP12_S = 12 / 25  # keyframe interval of the gop=12 files at 25 fps


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    paths = {k: d / f"{k}.mp4" for k in ("cfr", "ntsc", "vfr", "rotated", "short_gop", "mute")}
    cuts = {
        "cfr": encode_scenes(paths["cfr"], SCENES),
        "ntsc": encode_scenes(paths["ntsc"], SCENES, rate=Fraction(30000, 1001)),
        "vfr": encode_scenes(paths["vfr"], SCENES, vfr=True),
        "rotated": encode_scenes(paths["rotated"], SCENES, width=180, height=320,
                                 rotation_deg=90),
        "short_gop": encode_scenes(paths["short_gop"], SCENES, gop=6),
        "mute": encode_scenes(paths["mute"], SCENES[:1], audio=False, width=160, height=90),
    }
    small = {"width": 160, "height": 96, "audio": False}
    for name, scenes, opts in (
        ("gop12", MOVING, {"gop": 12}),
        ("gop12_cuts", SCENES, {"gop": 12}),
        ("gop12_vfr", MOVING, {"gop": 12, "vfr": True}),
        ("gop12_rotated", SCENES, {"gop": 12, "width": 96, "height": 160, "rotation_deg": 90}),
        ("gop25", MOVING, {"gop": 25}),
        ("gop250", MOVING, {"gop": 250}),
        ("intra", SCENES, {"gop": 1}),
    ):
        paths[name] = d / f"{name}.mp4"
        cuts[name] = encode_scenes(paths[name], scenes, **{**small, **opts})
    paths["one_frame"] = d / "one_frame.mp4"
    encode_scenes(paths["one_frame"], [SceneSpec(0.04, BLUE)], audio=False)
    paths["still"] = d / "still.png"
    encode_still(paths["still"], width=240, height=160, color=GREEN, band=YELLOW)
    paths["wav"] = d / "speech.wav"
    encode_audio(paths["wav"], [SceneSpec(4.0, audio="speech", level_dbfs=-12)], sr=16_000)
    paths["broken"] = d / "broken.mp4"
    write_not_media(paths["broken"])
    return paths, cuts


def mean_rgb(rgb: np.ndarray) -> np.ndarray:
    return rgb.reshape(-1, 3).astype(float).mean(axis=0)


def median_rgb(rgb: np.ndarray) -> np.ndarray:
    return np.median(rgb.reshape(-1, 3).astype(float), axis=0)


# ---------------------------------------------------------------- synth


def test_synth_cuts_fall_on_frame_boundaries(media):
    _, cuts = media
    assert cuts["cfr"] == [2.0, 3.6]
    ntsc = Fraction(30000, 1001)
    expected = [float(Fraction(round(Fraction(t) * ntsc)) / ntsc) for t in (2.0, 3.6)]
    assert cuts["ntsc"] == pytest.approx(expected, abs=1e-9)
    # VFR cuts are the first irregular timestamp at or after each scene boundary
    assert all(0 <= c - t < 0.065 for c, t in zip(cuts["vfr"], (2.0, 3.6)))


def test_synth_speech_has_syllables_and_pauses(media):
    paths, _ = media
    audio = decode_audio(paths["wav"], sr=16_000)
    rms = np.sqrt((audio[: len(audio) // 800 * 800].reshape(-1, 800) ** 2).mean(axis=1))
    quiet = rms < 0.01
    assert 0.15 < quiet.mean() < 0.7  # speech-like: talk and pauses, neither dominates
    assert np.abs(audio).max() == pytest.approx(10 ** (-12 / 20), rel=0.2)


def test_synth_is_deterministic(tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    for p in (a, b):
        encode_scenes(p, SCENES[1:2], audio=False, width=160, height=90)
    first = sample_frames(a, 0, 1.6, rate_hz=4)
    second = sample_frames(b, 0, 1.6, rate_hz=4)
    assert [x.time_s for x in first] == [y.time_s for y in second]
    for x, y in zip(first, second):  # same drawing; x264 may differ by coding noise
        diff = np.abs(x.rgb.astype(int) - y.rgb.astype(int))
        assert diff.mean() < 1.0 and np.mean(diff > 24) < 0.002
    assert not np.array_equal(first[0].rgb, first[-1].rgb)  # the squares move


# ---------------------------------------------------------------- probe


def test_probe_cfr(media):
    paths, _ = media
    info = probe(paths["cfr"])
    assert info.duration_s == pytest.approx(DURATION_S, abs=0.05)
    assert (info.has_video, info.has_audio) == (True, True)
    assert (info.width, info.height, info.rotation_deg) == (320, 180, 0)
    assert info.fps == pytest.approx(25.0)
    assert not info.is_still
    assert info.audio_sample_rate == 48_000


def test_probe_ntsc_and_vfr(media):
    paths, _ = media
    assert probe(paths["ntsc"]).fps == pytest.approx(30000 / 1001, rel=1e-6)
    vfr = probe(paths["vfr"])
    assert 18 < vfr.fps < 32 and vfr.fps != pytest.approx(25.0, abs=0.01)
    assert vfr.duration_s == pytest.approx(DURATION_S, abs=0.1)


def test_probe_rotated_reports_upright_size(media):
    paths, _ = media
    info = probe(paths["rotated"])
    assert (info.width, info.height, info.rotation_deg) == (180, 320, 90)


def test_probe_stills(media):
    paths, _ = media
    png = probe(paths["still"])
    assert png.is_still and png.fps is None and not png.has_audio
    assert (png.width, png.height) == (240, 160)
    one = probe(paths["one_frame"])
    assert one.is_still and one.fps is None


def test_probe_audio_only(media):
    paths, _ = media
    info = probe(paths["wav"])
    assert (info.has_video, info.has_audio) == (False, True)
    assert info.duration_s == pytest.approx(4.0, abs=0.01)
    assert info.audio_sample_rate == 16_000


def test_bad_input_names_the_file(media, tmp_path):
    paths, _ = media
    readers = (probe, decode_audio, lambda p: sample_frames(p, 0, 1),
               lambda p: frames_between(p, 0, 1))
    for fn in readers:
        with pytest.raises(UndecodableMediaError) as err:
            fn(paths["broken"])
        assert str(paths["broken"]) in str(err.value)
        with pytest.raises(MissingMediaError) as err:
            fn(tmp_path / "gone.mp4")
        assert "gone.mp4" in str(err.value)
    with pytest.raises(MissingMediaError):
        content_key(tmp_path / "gone.mp4")


def test_bad_options_name_the_field(media):
    paths, _ = media
    with pytest.raises(InvalidOptionError) as err:
        sample_frames(paths["cfr"], 0, 1, rate_hz=0)
    assert err.value.field == "rate_hz"
    with pytest.raises(InvalidOptionError):
        sample_frames(paths["cfr"], 2, 1)


# ---------------------------------------------------------------- sample_frames


@pytest.mark.parametrize("name", ["cfr", "short_gop"])
def test_sample_frames_rate_size_and_colours(media, name):
    paths, _ = media
    samples = sample_frames(paths[name], 0.0, DURATION_S, rate_hz=2.0)
    times = np.array([s.time_s for s in samples])
    assert len(samples) == 10
    # each sample is within a quarter spacing of its target (keyframe snapping allowed)
    assert np.all(np.abs(times - np.arange(10) * 0.5) <= 0.125 + 1e-6)
    for s in samples:
        assert s.rgb.shape == (90, 160, 3) and s.rgb.dtype == np.uint8
        assert s.successor is not None and s.successor.shape == s.rgb.shape
        assert s.successor_dt_s == pytest.approx(0.04)
        colour = RED if s.time_s < 2.0 else BLUE if s.time_s < 3.6 else GREEN
        if colour is GREEN:  # the top quarter is the yellow band
            assert np.abs(median_rgb(s.rgb[-40:]) - GREEN).max() < 12
            assert np.abs(median_rgb(s.rgb[:15]) - YELLOW).max() < 12
        else:
            assert np.abs(median_rgb(s.rgb) - colour).max() < 12


def test_sample_frames_sub_range_and_width(media):
    paths, _ = media
    samples = sample_frames(paths["cfr"], 1.0, 2.0, rate_hz=4.0, width=64, with_successor=False)
    assert [round(s.time_s, 3) for s in samples] == [1.0, 1.24, 1.48, 1.72]  # frame on screen at t
    assert all(s.rgb.shape == (36, 64, 3) and s.successor is None for s in samples)


def test_seeking_returns_the_same_pictures_as_decoding_every_frame(media):
    paths, _ = media
    every = {round(f.time_s, 4): f for f in frames_between(paths["short_gop"], 0, DURATION_S)}
    assert len(every) == 125
    for strategy in ("seek", "sequential", "auto", "grid", "keyframes"):
        samples = sample_frames(paths["short_gop"], 0.3, 4.9, rate_hz=3.0, strategy=strategy)
        assert len(samples) == 14
        for s in samples:
            ref = every[round(s.time_s, 4)]
            assert np.array_equal(s.rgb, ref.rgb), (strategy, s.time_s)
            assert np.array_equal(s.successor, ref.successor), (strategy, s.time_s)


def test_sample_frames_ntsc_times_are_frame_times(media):
    paths, _ = media
    rate = 30000 / 1001
    samples = sample_frames(paths["ntsc"], 0.0, 4.0, rate_hz=2.0)
    assert len(samples) == 8
    for s in samples:
        frames = s.time_s * rate
        assert frames == pytest.approx(round(frames), abs=1e-3)
        assert s.successor_dt_s == pytest.approx(1 / rate, abs=1e-4)


def test_sample_frames_vfr(media):
    paths, _ = media
    every = frames_between(paths["vfr"], 0, DURATION_S)
    gaps = np.diff([f.time_s for f in every])
    assert gaps.min() < 0.03 and gaps.max() > 0.05  # the file really is irregular
    frame_times = {round(f.time_s, 4): f for f in every}
    samples = sample_frames(paths["vfr"], 0.0, DURATION_S, rate_hz=2.0)
    times = np.array([s.time_s for s in samples])
    assert len(samples) == 10 and np.all(np.diff(times) > 0.25)
    for s in samples:
        ref = frame_times[round(s.time_s, 4)]
        assert s.successor_dt_s == pytest.approx(ref.successor_dt_s, abs=1e-6)
        assert np.array_equal(s.rgb, ref.rgb)


def test_sample_frames_rotated_is_upright(media):
    paths, _ = media
    samples = sample_frames(paths["rotated"], 3.8, 4.8, rate_hz=2.0)
    assert len(samples) == 2
    for s in samples:
        assert s.rgb.shape == (284, 160, 3)
        assert np.abs(median_rgb(s.rgb[:60]) - YELLOW).max() < 12  # band on top
        assert np.abs(median_rgb(s.rgb[-150:]) - GREEN).max() < 12


def test_sample_frames_still_repeats_the_image(media):
    paths, _ = media
    samples = sample_frames(paths["still"], 0.0, 3.0, rate_hz=2.0, width=120)
    assert [s.time_s for s in samples] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert samples[0].rgb.shape == (80, 120, 3)
    assert np.abs(median_rgb(samples[0].rgb[-40:]) - GREEN).max() < 6
    assert all(np.array_equal(s.rgb, samples[0].rgb) for s in samples)
    assert all(np.array_equal(s.successor, s.rgb) for s in samples)


def test_sample_frames_audio_only_is_empty(media):
    paths, _ = media
    assert sample_frames(paths["wav"], 0.0, 2.0) == []


@pytest.mark.parametrize(("clip", "plan"), [("cfr", "grid"), ("gop12", "keyframes")])
def test_sample_frames_cancel(media, clip, plan):
    paths, _ = media
    token = CancelToken()
    token.cancel()
    stats = DecodeStats()
    with pytest.raises(CancelledError):
        sample_frames(paths[clip], 0.0, 2.0, cancel=token, stats=stats)
    assert stats.plan == plan


# ---------------------------------------------------------------- sample_frames: read plans


def frame_table(path) -> dict[float, object]:
    return {round(f.time_s, 4): f for f in frames_between(path, 0, DURATION_S)}


def assert_true_pictures(samples, every) -> None:
    """Each sample is the decoded frame at its time, its successor the frame after it."""
    for s in samples:
        ref = every[round(s.time_s, 4)]
        assert np.array_equal(s.rgb, ref.rgb), s.time_s
        assert np.array_equal(s.successor, ref.successor), s.time_s
        assert s.successor_dt_s == pytest.approx(ref.successor_dt_s, abs=1e-6)


def on_keyframe(t: float) -> bool:
    return abs(t / GOP12_S - round(t / GOP12_S)) < 1e-3


@pytest.mark.parametrize("start_s,end_s", [(0.0, DURATION_S), (0.3, 4.7), (1.0, 3.0)])
def test_short_gop_samples_keyframes_and_their_successors(media, start_s, end_s):
    paths, _ = media
    stats = DecodeStats()
    samples = sample_frames(paths["gop12"], start_s, end_s, rate_hz=2.0, stats=stats)
    times = np.array([s.time_s for s in samples])
    assert stats.plan == "keyframes"
    assert all(on_keyframe(t) for t in times), times
    assert np.all((times >= start_s) & (times < end_s))
    # every keyframe of the range: the keyframe rate (2.08 Hz) is within a frame of 2 Hz
    first = math.ceil(start_s / GOP12_S - 1e-6) * GOP12_S
    assert times == pytest.approx(np.arange(first, end_s - 1e-6, GOP12_S), abs=1e-6)
    assert np.all(np.abs(np.diff(times) - 0.5) <= 0.04 + 1e-6)
    assert all(s.successor_dt_s == pytest.approx(0.04) for s in samples)
    assert_true_pictures(samples, frame_table(paths["gop12"]))


def test_keyframe_plan_decodes_a_keyframe_and_its_successor_per_sample(media):
    paths, _ = media
    for name in ("gop12", "gop25"):  # GOP 0.48 s and 1 s (the benchmark's media)
        new, old = DecodeStats(), DecodeStats()
        fast = sample_frames(paths[name], 0.0, DURATION_S, stats=new)
        grid = sample_frames(paths[name], 0.0, DURATION_S, strategy="grid", stats=old)
        assert new.plan == "keyframes" and old.plan == "grid"
        # frames returned by the decoder: the keyframe and its successor
        assert new.frames <= 2 * len(fast), name
        # packets decoded: with B-frames the successor needs the next P and a B or two
        assert new.packets <= 4 * len(fast), name
        assert new.frames / len(fast) < old.frames / len(grid), name
    # the 1 s GOP: 1 sample a second, each decoded alone, where the 2 Hz grid decodes
    # half of every GOP for its mid-GOP samples
    assert len(fast) == 5 and [s.time_s for s in fast] == pytest.approx([0, 1, 2, 3, 4])
    assert old.frames >= 6 * len(grid)


def test_keyframe_plan_with_extra_keyframes_at_cuts(media):
    paths, cuts = media
    samples = sample_frames(paths["gop12_cuts"], 0.0, DURATION_S, rate_hz=2.0)
    times = np.array([s.time_s for s in samples])
    gaps = np.diff(times)
    # the extra keyframes at the cuts (0.08 s after one) are skipped; 1-2 samples a second
    assert np.all(gaps >= 0.375 - 1e-6) and np.all(gaps <= 1.0 + 1e-6)
    assert len(samples) >= 9
    assert_true_pictures(samples, frame_table(paths["gop12_cuts"]))
    for s in samples:
        colour = RED if s.time_s < cuts["gop12_cuts"][0] else BLUE \
            if s.time_s < cuts["gop12_cuts"][1] else GREEN
        region = s.rgb[-30:] if colour is GREEN else s.rgb
        assert np.abs(median_rgb(region) - colour).max() < 12


def test_keyframe_plan_vfr_and_rotated(media):
    paths, _ = media
    vfr = sample_frames(paths["gop12_vfr"], 0.0, DURATION_S, rate_hz=2.0)
    assert len(vfr) >= 9 and np.all(np.diff([s.time_s for s in vfr]) > 0.25)
    assert_true_pictures(vfr, frame_table(paths["gop12_vfr"]))
    stats = DecodeStats()
    rotated = sample_frames(paths["gop12_rotated"], 3.8, 4.8, rate_hz=2.0, stats=stats)
    assert stats.plan == "keyframes" and len(rotated) == 2
    for s in rotated:
        assert s.rgb.shape == (267, 160, 3)
        assert np.abs(median_rgb(s.rgb[:50]) - YELLOW).max() < 12  # band on top
        assert np.abs(median_rgb(s.rgb[-120:]) - GREEN).max() < 12


@pytest.mark.parametrize("start_s,end_s,expected", [
    (0.5, 0.9, [0.52]),  # between keyframes 0.48 and 0.96: the range's first frame
    (0.05, 0.45, [0.08]),
    (4.9, 5.0, [4.92]),  # last GOP: no keyframe after it
    (0.95, 1.0, [0.96]),  # a keyframe inside
    (4.97, 5.0, []),  # no frame at all (the last is at 4.96)
])
def test_short_range_gets_its_own_frame(media, start_s, end_s, expected):
    paths, _ = media
    stats = DecodeStats()
    samples = sample_frames(paths["gop12"], start_s, end_s, rate_hz=2.0, stats=stats)
    assert stats.plan == "keyframes"
    assert [s.time_s for s in samples] == pytest.approx(expected, abs=1e-6)
    # decoded from the keyframe before (0.48 s apart): that one, up to the frame, successor
    keyframe_before = math.floor(start_s / GOP12_S + 1e-6) * GOP12_S
    upto = expected[0] if expected else 4.96
    assert stats.frames <= round((upto - keyframe_before) / 0.04) + 2
    assert_true_pictures(samples, frame_table(paths["gop12"]))


def test_long_gop_keeps_the_grid(media):
    paths, _ = media
    stats = DecodeStats()
    samples = sample_frames(paths["gop250"], 0.0, DURATION_S, rate_hz=2.0, stats=stats)
    assert stats.plan == "grid"
    assert [round(s.time_s, 3) for s in samples] == [
        0.0, 0.48, 1.0, 1.48, 2.0, 2.48, 3.0, 3.48, 4.0, 4.48]  # frame on screen at i/2
    grid = sample_frames(paths["gop250"], 0.0, DURATION_S, rate_hz=2.0, strategy="grid")
    assert [s.time_s for s in grid] == [s.time_s for s in samples]
    forced = sample_frames(paths["gop250"], 0.0, DURATION_S, strategy="keyframes")
    assert [s.time_s for s in forced] == [0.0]  # the only keyframe


def test_intra_only_samples_the_frame_nearest_each_grid_time(media):
    paths, _ = media
    stats = DecodeStats()
    samples = sample_frames(paths["intra"], 0.3, 4.9, rate_hz=2.0, stats=stats)
    times = np.array([s.time_s for s in samples])
    assert stats.plan == "keyframes"
    assert len(samples) == 10
    assert np.all(np.abs(times - (0.3 + np.arange(10) * 0.5)) <= 0.02 + 1e-6)
    assert stats.packets == stats.frames == 2 * len(samples)
    assert_true_pictures(samples, frame_table(paths["intra"]))


@pytest.mark.parametrize("strategy", ["keyframes", "grid"])
def test_sample_frames_leaves_no_reference_cycles(media, strategy):
    # decoded frames held in a cycle live until the cyclic GC runs: 1080p analysis grew
    # by ~10 MB a shot when the reader and its frame generator referred to each other
    paths, _ = media
    sample_frames(paths["gop12"], 0.0, 2.0, strategy=strategy)  # imports, caches
    gc.collect()
    gc.disable()
    try:
        samples = sample_frames(paths["gop12"], 0.0, 2.0, strategy=strategy)
        assert samples
        del samples
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_frames_between_every_frame_around_a_cut(media):
    paths, cuts = media
    frames = frames_between(paths["cfr"], 1.9, 2.1)
    assert [round(f.time_s, 3) for f in frames] == [1.92, 1.96, 2.0, 2.04, 2.08]
    colours = [RED if f.time_s < cuts["cfr"][0] else BLUE for f in frames]
    for f, c in zip(frames, colours):
        assert np.abs(mean_rgb(f.rgb) - c).max() < 12
    assert np.array_equal(frames[0].successor, frames[1].rgb)


def _is_blue(rgb: np.ndarray) -> bool:
    r, _, b = mean_rgb(rgb)
    return b > r


@pytest.mark.parametrize("name", ["cfr", "ntsc", "vfr", "short_gop", "gop12_cuts", "intra"])
def test_find_change_is_frame_exact_and_converts_few_frames(media, name):
    """The red -> blue cut found by bisection is the frame the full scan finds, for a
    fraction of the conversions and no more decoding."""
    paths, cuts = media
    start, end = 1.0, 2.55  # around the cut at 2.0 (VFR: the first frame at/after it)
    found, full = DecodeStats(), DecodeStats()
    change = find_change(paths[name], start, end, _is_blue, width=32, stats=found)
    every = frames_between(paths[name], start, end, width=32, stats=full)
    first_blue = next(f for f in every if _is_blue(f.rgb))
    assert change is not None
    assert change.after.time_s == first_blue.time_s == pytest.approx(cuts[name][0], abs=1e-6)
    previous = every[every.index(first_blue) - 1]
    assert change.before.time_s == previous.time_s
    assert np.array_equal(change.after_next, first_blue.successor)
    n = len(every)
    assert full.converted >= n  # the scan converts every frame (and its last successor)
    # checks every CHANGE_STRIDE-th frame up to the change, bisects, plus the next frame
    bound = 1 + math.ceil(n / CHANGE_STRIDE) + math.ceil(math.log2(CHANGE_STRIDE)) + 1
    assert found.converted <= bound < n
    assert found.frames <= full.frames  # and decoding stops just after the change
    if name == "intra":  # every frame a keyframe: bisection over keyframes, few decoded
        assert found.frames <= 2 * math.ceil(math.log2(n)) + 4


def test_find_change_decodes_only_what_it_looks_at(media):
    """A keyframe probe decodes that keyframe alone (not its successor), and a frame the
    caller says is accepted already is not decoded to ask: the same change, fewer reads."""
    paths, cuts = media
    start, end = 1.0, 2.55
    every = frames_between(paths["intra"], start, end, width=32)
    probes = DecodeStats()
    change = find_change(paths["intra"], start, end, _is_blue, width=32, stats=probes)
    assert change.after.time_s == pytest.approx(cuts["intra"][0], abs=1e-6)
    # one frame per keyframe probe; the last seek decodes the frame before, the change
    # and the one after it
    assert probes.frames <= math.ceil(math.log2(len(every))) + 3

    path = paths["gop12_cuts"]  # keyframes every 0.48 s, and one at the cut (2.0 s)
    start, cut = 1.44, cuts["gop12_cuts"][0]
    asked, told = DecodeStats(), DecodeStats()
    plain = find_change(path, start, cut + 0.06, _is_blue, width=32, stats=asked)
    known = find_change(path, start, cut + 0.06, _is_blue, width=32, stats=told,
                        accepted_at_s=cut)
    assert known.after.time_s == plain.after.time_s == pytest.approx(cut, abs=1e-6)
    assert known.before.time_s == plain.before.time_s
    assert np.array_equal(known.after.rgb, plain.after.rgb)
    assert np.array_equal(known.after_next, plain.after_next)
    assert told.seeks < asked.seeks and told.converted < asked.converted
    assert told.frames <= asked.frames


def test_find_change_says_none_when_nothing_changes_or_all_has(media):
    paths, _ = media
    assert find_change(paths["cfr"], 0.2, 1.5, _is_blue, width=32) is None  # all red
    assert find_change(paths["cfr"], 2.2, 3.0, _is_blue, width=32) is None  # all blue
    assert find_change(paths["wav"], 0.0, 1.0, _is_blue, width=32) is None  # no picture


# ---------------------------------------------------------------- files kept open


def _reads(paths):
    """Every kind of read, each after one that leaves the file somewhere else (the end of
    the file, mid-GOP, the middle of the sound)."""
    def pictures(samples):
        return [(s.time_s, s.rgb, s.successor) for s in samples]

    change = find_change(paths["cfr"], 1.0, 2.55, _is_blue, width=32)
    return [
        pictures(sample_frames(paths["short_gop"], 0.0, DURATION_S)),  # keyframe plan
        pictures(sample_frames(paths["short_gop"], 0.0, 1.0)),
        (change.before.time_s, change.after.time_s, change.after.rgb, change.after_next),
        pictures(sample_frames(paths["cfr"], 3.0, DURATION_S)),
        pictures(frames_between(paths["gop250"], 2.0, 2.2)),
        pictures(sample_frames(paths["gop250"], 0.0, 2.0)),  # grid from the first frame
        decode_audio(paths["cfr"], 2.0, 3.0),
        decode_audio(paths["cfr"]),  # from the first sample: read from a file opened afresh
        decode_audio(paths["cfr"], 0.5, 4.0),  # after a read that stopped mid-file
        decode_audio(paths["cfr"], 3.0),  # to the end
        decode_audio(paths["cfr"], 0.0, 0.5),
    ]


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is not None and b is not None and np.array_equal(a, b)
    return a == b


def test_files_kept_open_give_the_same_answers_and_open_once(media, monkeypatch):
    """Inside reuse_open_files each file is opened once per use (keyframe reads,
    sequential reads, sound from a point after its start) and every read, wherever the
    last one left the file, gives what a freshly opened file gives."""
    paths, _ = media
    fresh = _reads(paths)
    opened = []
    real_open = _container._open
    monkeypatch.setattr(_container, "_open", lambda path: opened.append(path.name)
                        or real_open(path))
    with reuse_open_files():
        kept = _reads(paths)
        # keyframe and sequential reads (cfr's GOP is long) and sound each have their own;
        # sound from the first sample opens the file afresh (twice a pass)
        assert sorted(opened) == ["cfr.mp4"] * 5 + ["gop250.mp4"] * 2 + ["short_gop.mp4"]
        again = _reads(paths)
        assert len(opened) == 8 + 2
    assert _same(fresh, kept) and _same(fresh, again)
    opened.clear()
    _reads(paths)  # outside the block every call opens its file (grid reads: twice)
    assert len(opened) >= 12


def _is_open(container) -> bool:
    try:
        container.seek(0)
    except AssertionError:  # PyAV: "Container is not open"
        return False
    return True


def test_files_kept_open_are_closed_and_bounded(media, monkeypatch):
    paths, _ = media
    monkeypatch.setattr(_container, "MAX_OPEN_FILES", 2)
    with reuse_open_files():
        for name in ("cfr", "ntsc", "vfr", "short_gop"):
            sample_frames(paths[name], 0.0, 1.0)
        files = _container._OPEN_FILES.get()
        held = [e.container for e in files.files.values()]
        assert len(held) == 2 and all(_is_open(c) for c in held)  # the two used last
    assert _container._OPEN_FILES.get() is None
    assert not any(_is_open(c) for c in held)


def test_files_kept_open_are_not_shared_with_another_thread(media, monkeypatch):
    """A context copied into another thread (asyncio.to_thread does) sees the block but must
    not use its decoders: that thread opens its own files."""
    paths, _ = media
    opened = []
    real_open = _container._open
    monkeypatch.setattr(_container, "_open", lambda path: opened.append(path.name)
                        or real_open(path))
    with reuse_open_files():
        here = sample_frames(paths["short_gop"], 0.0, 2.0)
        context = contextvars.copy_context()
        with ThreadPoolExecutor(1) as pool:
            there = pool.submit(context.run, sample_frames, paths["short_gop"], 0.0, 2.0).result()
        again = sample_frames(paths["short_gop"], 0.0, 2.0)
    assert opened == ["short_gop.mp4", "short_gop.mp4"]  # the block's, and the thread's
    assert [s.time_s for s in here] == [s.time_s for s in there] == [s.time_s for s in again]


def test_content_key_read_once_per_file_inside_the_block(media, tmp_path, monkeypatch):
    import bridge.media.key as key_module

    paths, _ = media
    copy = tmp_path / "copy.mp4"
    shutil.copy2(paths["cfr"], copy)
    reads = []

    def counting_open(p, mode):
        reads.append(p)
        return open(p, mode)  # content_key closes it

    monkeypatch.setattr(key_module, "open", counting_open, raising=False)
    first = content_key(copy)
    with reuse_open_files():
        assert content_key(copy) == content_key(str(copy)) == first
        assert len(reads) == 2  # the one outside, and one inside for both calls
        st = copy.stat()
        os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file changed
        assert content_key(copy) != first and len(reads) == 3
    content_key(copy)
    assert len(reads) == 4  # outside a block every call reads


# ---------------------------------------------------------------- audio


def dominant_hz(audio: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * sr / len(audio))


def test_decode_audio_tone_rate_and_length(media):
    paths, _ = media
    clip = decode_audio(paths["cfr"], 1.0, 3.0, sr=16_000)
    assert clip.dtype == np.float32 and clip.shape == (32_000,)
    assert dominant_hz(clip, 16_000) == pytest.approx(440.0, abs=1.0)
    assert np.sqrt((clip**2).mean()) == pytest.approx(10 ** (-18 / 20) / np.sqrt(2), rel=0.1)
    full = decode_audio(paths["cfr"], sr=8_000)
    assert len(full) == pytest.approx(DURATION_S * 8_000, abs=8_000 * 0.05)
    assert dominant_hz(full[4000:-4000], 8_000) == pytest.approx(440.0, abs=1.0)


def test_decode_audio_position_matches_media_time(media, tmp_path):
    # silence then a tone: the onset must be where the scene starts
    path = tmp_path / "onset.mp4"
    encode_scenes(path, [SceneSpec(1.0, RED), SceneSpec(1.0, BLUE, audio="tone")],
                  width=160, height=90)
    audio = decode_audio(path, 0.5, 2.0, sr=16_000)
    onset = int(np.argmax(np.abs(audio) > 0.02)) / 16_000 + 0.5
    assert onset == pytest.approx(1.0, abs=0.005)


def test_decode_audio_without_audio_stream(media):
    paths, _ = media
    assert decode_audio(paths["mute"]).shape == (0,)
    assert decode_audio(paths["still"]).shape == (0,)


# ---------------------------------------------------------------- content_key


def test_content_key_stable_and_sensitive(media, tmp_path):
    paths, _ = media
    copy = tmp_path / "copy.mp4"
    shutil.copy2(paths["cfr"], copy)  # same bytes and mtime
    key = content_key(copy)
    assert key == content_key(copy) == content_key(paths["cfr"])
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    touched = content_key(copy)
    assert touched != key
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert content_key(copy) not in (key, touched)
