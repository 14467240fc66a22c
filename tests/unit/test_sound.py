"""The sound pass: the timeline's audio decoded once, one 10 ms energy track for both the
affect's loudness and the music's ducking."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bridge import media
from bridge.affect.observe import loudness_per_hop
from bridge.analysis.sound import observe_sound, sound_problems
from bridge.media.synth import SceneSpec, encode_audio, write_not_media
from bridge.music.ducking import ducking_from_level
from bridge.types import Clip, Edit

RATE = Fraction(25)


def edit_with(audio: tuple[Clip, ...], *, duration_s: float, folder: Path) -> Edit:
    return Edit(name="sound", source_path=folder / "sound.otio", rate=RATE, drop_frame=False,
                start_timecode="00:00:00:00", start_frame=0,
                duration_frames=round(duration_s * RATE), shots=(), audio_clips=audio)


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sound") / "tone.wav"
    encode_audio(path, [SceneSpec(4.0, audio="tone", tone_hz=440, level_dbfs=-20)])
    return path


def test_a_tone_is_heard_where_its_clip_plays_at_its_level(tone, tmp_path):
    clip = Clip("tone", "audio", 2.0, 5.0, tone, media_start_s=0.5)
    sound = observe_sound(edit_with((clip,), duration_s=8.0, folder=tmp_path))
    assert sound.control_hz == 100.0 and sound.n_frames == 801
    assert sound.heard_s == ((2.0, 5.0),) and sound.problems == ()
    frames_db = 10 * np.log10(sound.energy + 1e-20)
    # a -20 dBFS-peak sine has a mean square of 10^(-2) / 2: -23 dB
    # (10 ms holds 4.4 cycles of 440 Hz, so single frames ripple by about 0.1 dB)
    assert frames_db[210:490] == pytest.approx(-23.0, abs=0.15)
    assert sound.energy[:199].max() == 0.0 and sound.energy[501:].max() == 0.0
    loudness = loudness_per_hop(sound, hop_s=1.0, n_hops=8)
    assert np.isnan(loudness[[0, 1, 5, 6, 7]]).all()
    assert loudness[2:5] == pytest.approx(-23.0, abs=0.05)


def test_speed_and_reverse_place_the_sound_in_record_time(tone, tmp_path):
    fast = Clip("fast", "audio", 0.0, 1.5, tone, media_start_s=0.0, speed=2.0)
    back = Clip("back", "audio", 3.0, 5.0, tone, media_start_s=3.0, speed=-1.0)
    sound = observe_sound(edit_with((fast, back), duration_s=6.0, folder=tmp_path))
    heard = sound.energy > 1e-6
    assert heard[5:145].all() and not heard[155:295].any() and heard[305:495].all()


def test_bad_clips_are_named_and_left_out(tone, tmp_path):
    junk = tmp_path / "junk.wav"
    write_not_media(junk)
    clips = (Clip("good", "audio", 0.0, 2.0, tone, 0.0),
             Clip("junk", "audio", 2.0, 4.0, junk, 0.0),
             Clip("offline", "audio", 4.0, 6.0, tmp_path / "gone.wav", 0.0, media_missing=True))
    sound = observe_sound(edit_with(clips, duration_s=6.0, folder=tmp_path))
    assert sound.heard_s == ((0.0, 2.0),)
    assert [name for name, _ in sound.problems] == ["junk", "offline"]
    (warning,) = sound_problems(sound)  # the reader already warned about the offline one
    assert "junk" in warning and "junk.wav" in warning


def test_one_decode_feeds_loudness_and_ducking(tone, tmp_path, monkeypatch):
    calls = []
    real = media.decode_audio

    def counting(path, start_s=0.0, end_s=None, **kw):
        calls.append((Path(path).name, start_s, end_s))
        return real(path, start_s, end_s, **kw)

    monkeypatch.setattr(media, "decode_audio", counting)
    clip = Clip("tone", "audio", 1.0, 3.0, tone, media_start_s=0.0)
    sound = observe_sound(edit_with((clip,), duration_s=5.0, folder=tmp_path))
    loudness_per_hop(sound, hop_s=1.0, n_hops=5)
    envelope = ducking_from_level(sound, depth_db=9.0)
    assert calls == [("tone.wav", 0.0, 2.0)]
    t = np.arange(len(envelope.gain_db)) / envelope.control_hz
    assert envelope.gain_db[(t > 1.2) & (t < 3.0)] == pytest.approx(-9.0)
    assert envelope.gain_db[t < 0.9].max() == 0.0 and math.isclose(envelope.gain_db[-1], 0.0)
