"""Dialogue ducking: the envelope on synthetic speech, and its effect on a real render."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile

from bridge.errors import InvalidOptionError
from bridge.music import render_arrangement
from bridge.music.ducking import ducking_envelope
from bridge.render import soundfont_available
from bridge.types import Arrangement, Note, Track

SIDE_SR = 8_000
SR = 48_000
BURSTS_S = ((2.0, 3.5), (5.0, 6.5))


def speech_like(*, duration_s: float, bursts_s, sr: int = SIDE_SR, seed: int = 0) -> np.ndarray:
    """Noise at about -20 dBFS, syllable-modulated at 4 Hz (dips ~30 dB), inside the bursts;
    a -80 dBFS room tone elsewhere."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * sr)) / sr
    x = rng.normal(0, 1e-4, len(t))
    syllables = (0.5 * (1 + np.sin(2 * np.pi * 4 * t))) ** 2 + 0.03
    for start, end in bursts_s:
        inside = (t >= start) & (t < end)
        x[inside] += 0.15 * rng.normal(0, 1, inside.sum()) * syllables[inside]
    return x


def test_ducks_by_depth_during_speech_and_returns_between():
    env = ducking_envelope(speech_like(duration_s=9.0, bursts_s=BURSTS_S), dialogue_sr=SIDE_SR,
                           duration_s=9.0, depth_db=9.0)  # fmt: skip
    t = np.arange(len(env.gain_db)) / env.control_hz
    during = ((t > 2.1) & (t < 3.5)) | ((t > 5.1) & (t < 6.5))  # after the attack
    between = (t < 1.9) | ((t > 4.3) & (t < 4.9)) | (t > 7.3)  # before look-ahead, after release
    np.testing.assert_allclose(env.gain_db[during], -9.0)  # held through the syllable dips
    np.testing.assert_allclose(env.gain_db[between], 0.0)
    assert env.active[during].all() and not env.active[between].any()


def test_transitions_are_bounded_per_millisecond():
    depth_db, attack_s, release_s = 12.0, 0.08, 0.5
    env = ducking_envelope(speech_like(duration_s=9.0, bursts_s=BURSTS_S), dialogue_sr=SIDE_SR,
                           duration_s=9.0, depth_db=depth_db, attack_s=attack_s,
                           release_s=release_s)  # fmt: skip
    per_sample = 20 * np.log10(env.block(0, 9 * SR, SR))
    step_db_per_ms = np.abs(np.diff(per_sample)).max() * SR / 1000
    assert step_db_per_ms <= depth_db / (attack_s * 1000) + 1e-9
    ups = np.diff(per_sample)[np.diff(per_sample) > 0].max() * SR / 1000
    assert ups <= depth_db / (release_s * 1000) + 1e-9
    assert per_sample.min() == pytest.approx(-depth_db)


def test_ducking_starts_before_speech_by_the_lookahead():
    env = ducking_envelope(speech_like(duration_s=4.0, bursts_s=[(2.0, 3.0)]), dialogue_sr=SIDE_SR,
                           duration_s=4.0, lookahead_s=0.05)  # fmt: skip
    first_dip_s = np.flatnonzero(env.gain_db < 0)[0] / env.control_hz
    assert 1.9 <= first_dip_s < 2.0


def test_quiet_side_chain_and_stereo_input():
    quiet = np.random.default_rng(1).normal(0, 1e-4, (SIDE_SR * 3, 2))  # -80 dBFS room tone
    env = ducking_envelope(quiet, dialogue_sr=SIDE_SR, duration_s=3.0)
    assert np.all(env.gain_db == 0.0)
    stereo = np.stack([speech_like(duration_s=4.0, bursts_s=[(1.0, 2.5)])] * 2, axis=1)
    assert ducking_envelope(stereo, dialogue_sr=SIDE_SR, duration_s=4.0).gain_db.min() == -9.0


def test_side_chain_shorter_than_the_music_counts_as_silence():
    env = ducking_envelope(speech_like(duration_s=2.0, bursts_s=[(0.5, 2.0)]), dialogue_sr=SIDE_SR,
                           duration_s=6.0)  # fmt: skip
    assert env.gain_db[100] == -9.0
    assert env.gain_db[-1] == 0.0 and len(env.gain_db) == 601


def test_hour_long_envelope_is_small_and_blocks_are_local():
    hour_s = 3600.0
    side = np.zeros(round(hour_s * 100), dtype=np.float32)  # a 100 Hz side-chain keeps this cheap
    side[round(1800.0 * 100) : round(1805.0 * 100)] = 0.1
    env = ducking_envelope(side, dialogue_sr=100, duration_s=hour_s)
    assert env.gain_db.nbytes < 4_000_000
    start = round(1802.0 * SR)
    block = env.block(start, SR // 10, SR)
    assert block.shape == (SR // 10,)
    np.testing.assert_allclose(block, 10 ** (-9 / 20))
    np.testing.assert_allclose(env.block(round(3599.0 * SR), 100, SR), 1.0)


def test_bad_options_name_the_field():
    x = np.zeros(SIDE_SR)
    with pytest.raises(InvalidOptionError, match="depth_db"):
        ducking_envelope(x, dialogue_sr=SIDE_SR, duration_s=1.0, depth_db=-3.0)
    with pytest.raises(InvalidOptionError, match="attack_s"):
        ducking_envelope(x, dialogue_sr=SIDE_SR, duration_s=1.0, attack_s=0.0)
    with pytest.raises(InvalidOptionError, match="dialogue"):
        ducking_envelope(np.zeros((2, 2, 2)), dialogue_sr=SIDE_SR, duration_s=1.0)


@pytest.mark.skipif(soundfont_available() != "", reason="FluidSynth/SoundFont missing")
def test_rendered_music_drops_by_depth_under_dialogue(tmp_path):
    """Render the same pads with and without ducking; both are normalised to -16 LUFS, so the
    sample-wise ratio ducked/plain is the envelope times one constant. The drop measured
    between speech and no speech is the ducking depth."""
    seconds = 8.0
    chord = [Note(0.0, seconds, p, 90) for p in (48, 55, 60, 64)]
    pads = Arrangement(seconds, np.zeros(0), (Track("pads", 19, False, tuple(chord)),))  # organ
    env = ducking_envelope(speech_like(duration_s=seconds, bursts_s=BURSTS_S),
                           dialogue_sr=SIDE_SR, duration_s=seconds, depth_db=9.0)  # fmt: skip
    n = round(seconds * SR)
    plain = render_arrangement(pads, out_path=tmp_path / "plain.wav", n_samples=n)
    ducked = render_arrangement(pads, out_path=tmp_path / "ducked.wav", n_samples=n,
                                gain_envelope=env)  # fmt: skip
    assert plain.limiter_db == ducked.limiter_db == 0.0  # nothing but the envelope differs
    a, _ = soundfile.read(plain.path)
    b, _ = soundfile.read(ducked.path)
    # per-sample gain ducked/plain where the plain signal is well above the 24-bit steps,
    # summarised per millisecond
    ms = SR // 1000
    frames = n // ms
    a_ms, b_ms = a[: frames * ms].reshape(frames, -1), b[: frames * ms].reshape(frames, -1)
    strong = np.abs(a_ms) > 0.02
    ratio_db = np.array(
        [np.median(20 * np.log10(b_ms[k][strong[k]] / a_ms[k][strong[k]])) if strong[k].any()
         else np.nan for k in range(frames)]
    )  # fmt: skip
    t = (np.arange(frames) + 0.5) / 1000
    during = ((t > 2.2) & (t < 3.4)) | ((t > 5.2) & (t < 6.4))
    between = ((t > 0.5) & (t < 1.8)) | ((t > 4.3) & (t < 4.85)) | ((t > 7.3) & (t < 7.9))
    assert np.isfinite(ratio_db[during | between]).mean() > 0.9
    drop_db = np.nanmedian(ratio_db[between]) - np.nanmedian(ratio_db[during])
    assert drop_db == pytest.approx(9.0, abs=0.5)
    assert np.nanmax(ratio_db[during]) - np.nanmin(ratio_db[during]) < 0.05  # steady under speech
    assert np.nanmax(ratio_db[between]) - np.nanmin(ratio_db[between]) < 0.05  # full level
    # smooth: between any two strong samples the gain moved no faster than the attack slope
    # (9 dB per 80 ms); the 1e-3 dB allows for 24-bit rounding of the two samples
    left = a[: int(7.9 * SR), 0], b[: int(7.9 * SR), 0]  # before the end fade
    idx = np.flatnonzero(np.abs(left[0]) > 0.02)
    gain_db = 20 * np.log10(left[1][idx] / left[0][idx])
    slope_db_per_ms = np.abs(np.diff(gain_db)) / (np.diff(idx) / SR * 1000)
    assert np.abs(np.diff(gain_db)).max() > 0.01  # the ramps are in there
    assert np.all(np.abs(np.diff(gain_db)) <= 9.0 / 80 * np.diff(idx) / SR * 1000 + 1e-3)
    assert slope_db_per_ms[np.diff(idx) > SR // 1000].max() <= 9.0 / 80 + 1e-3
    assert math.isclose(ducked.integrated_lufs, -16.0, abs_tol=0.1)


def test_side_chain_built_in_pieces_equals_the_whole():
    from bridge.analysis.sound import SideChainLevel

    x = speech_like(duration_s=9.0, bursts_s=BURSTS_S)
    whole = SideChainLevel(duration_s=9.0)
    whole.add(x, sr=SIDE_SR)
    pieces = SideChainLevel(duration_s=9.0)
    for lo in range(0, len(x), 7_777):  # chunk boundaries off the 10 ms frame grid
        pieces.add(x[lo : lo + 7_777], sr=SIDE_SR, start_s=lo / SIDE_SR)
    assert np.allclose(pieces.energy, whole.energy, rtol=1e-9, atol=1e-15)
    # a full-scale square wave has mean square 1; two such sources add in power
    both = SideChainLevel(duration_s=1.0)
    for _ in range(2):
        both.add(np.sign(np.sin(np.arange(SIDE_SR) * 0.3)) + 0.0, sr=SIDE_SR)
    assert both.energy[10:90] == pytest.approx(2.0, rel=0.02)
