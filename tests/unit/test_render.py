"""Real FluidSynth renders of small arrangements, measured independently of the renderer.

Loudness is read back with pyloudnorm, true peak with scipy's 4x resample_poly, files with
soundfile; nothing is read from the renderer's own numbers except where a test says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sys
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile
from scipy import signal

from bridge.errors import BackendUnavailableError, CancelledError, InvalidOptionError
from bridge.music import render_arrangement
from bridge.music.master import measure_file
from bridge.platform_paths import soundfont_candidates
from bridge.progress import CancelToken
from bridge.render import (
    SOUNDFONT_ENV,
    find_soundfont,
    soundfont_available,
    synthesise,
)
from bridge.types import Arrangement, Control, Note, Track, samples_for

SR = 48_000
FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
LSB = 2.0**-23  # one 24-bit step at full scale 1.0

pytestmark = pytest.mark.skipif(
    soundfont_available() != "", reason=f"FluidSynth/SoundFont missing: {soundfont_available()}"
)


def small_band(duration_s: float) -> Arrangement:
    """Pads (strings), a walking bass and a kick/snare/hat pattern at 120 bpm."""
    chords = [[60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62]]
    pads, bass, drums = [], [], []
    for bar in range(math.ceil(duration_s / 2)):
        t = bar * 2.0
        chord = chords[bar % 4]
        pads += [Note(t, t + 2.0, p, 80) for p in chord]
        bass += [Note(t + k * 0.5, t + k * 0.5 + 0.45, chord[0] - 24, 100) for k in range(4)]
        for k in range(8):
            beat = t + k * 0.25
            drums.append(Note(beat, beat + 0.1, 42, 70))
            if k % 2 == 0:
                drums.append(Note(beat, beat + 0.1, 36 if k % 4 == 0 else 38, 110))
    keep = [(n for n in notes if n.start_s < duration_s) for notes in (pads, bass, drums)]
    return Arrangement(
        duration_s,
        np.arange(0.0, duration_s, 0.5),
        (
            Track("pads", 48, False, tuple(keep[0])),
            Track("bass", 33, False, tuple(keep[1])),
            Track("drums", 0, True, tuple(keep[2]), volume=0.8),
        ),
    )


def true_peak_dbtp(x: np.ndarray) -> float:
    return 20 * math.log10(np.abs(signal.resample_poly(x, 4, 1, axis=0)).max())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def band_render(tmp_path_factory):
    folder = tmp_path_factory.mktemp("band")
    n = samples_for(Fraction(193, 25), SR)  # 193 frames at 25 fps = 7.72 s
    result = render_arrangement(
        small_band(8.0), out_path=folder / "score.wav", n_samples=n, stems_dir=folder / "stems",
        block_s=1.7,
    )  # fmt: skip
    return result


def test_output_format_length_loudness_and_peak(band_render):
    info = soundfile.info(str(band_render.path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 2, "PCM_24", "WAV")
    assert info.frames == band_render.n_samples == 193 * SR // 25
    x, _ = soundfile.read(band_render.path)
    assert pyloudnorm.Meter(SR).integrated_loudness(x) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_dbtp(x) <= -1.0
    assert np.abs(x).max() < 1.0 - LSB  # nothing at the rails: no clipping
    # the renderer's own report agrees with the independent meter
    assert band_render.integrated_lufs == pytest.approx(
        pyloudnorm.Meter(SR).integrated_loudness(x), abs=0.1
    )
    assert band_render.true_peak_dbtp == pytest.approx(true_peak_dbtp(x), abs=0.2)
    assert band_render.warnings == ()
    assert measure_file(band_render.path)[0] == pytest.approx(band_render.integrated_lufs, abs=1e-6)


def test_ends_on_a_fade_to_silence(band_render):
    x, _ = soundfile.read(band_render.path)
    assert np.all(x[-1] == 0.0)
    last_frame = x[-SR // 25 :]  # the final 25 fps frame: the fade lives inside it
    assert np.abs(last_frame[-SR // 200 :]).max() < 0.2 * np.abs(x[-SR // 10 : -SR // 25]).max()
    assert np.abs(x[: -SR // 25]).max() > 0.1


def test_stems_sum_to_the_mix(band_render):
    """Each file is rounded to 24 bits on its own, so |sum(stems) - mix| <= (stems + 1) / 2 LSB."""
    assert set(band_render.stem_paths) == {"pads", "bass", "drums"}
    mix, _ = soundfile.read(band_render.path)
    stems = [soundfile.read(p)[0] for p in band_render.stem_paths.values()]
    for stem in stems:
        assert stem.shape == mix.shape
        assert np.abs(stem).max() > 0.01  # every role actually plays
    error = np.abs(np.sum(stems, axis=0) - mix).max()
    assert error <= (len(stems) + 1) / 2 * LSB + 1e-12


@pytest.mark.parametrize(
    ("rate", "frames"),
    [(Fraction(24000, 1001), 121), (Fraction(25), 127), (Fraction(30000, 1001), 151)],
)
def test_length_is_exact_for_video_rates(tmp_path, rate, frames):
    n = samples_for(Fraction(frames) / rate, SR)
    bass = Track("bass", 33, False, tuple(Note(k * 0.5, k * 0.5 + 0.4, 40, 100) for k in range(12)))
    arrangement = Arrangement(6.0, np.arange(0, 6, 0.5), (bass,))
    result = render_arrangement(arrangement, out_path=tmp_path / "bass.wav", n_samples=n)
    assert soundfile.info(str(result.path)).frames == n
    assert result.stem_paths == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bass.wav"]  # no scratch left behind


def test_a_note_sounds_at_its_time(tmp_path):
    on_sample = SR + 1234  # deliberately off FluidSynth's 64-sample grid
    piano = Track("keys", 0, False, (Note(on_sample / SR, on_sample / SR + 0.5, 69, 110),))
    result = render_arrangement(
        Arrangement(2.0, np.zeros(0), (piano,)), out_path=tmp_path / "note.wav", n_samples=2 * SR
    )
    x, _ = soundfile.read(result.path)
    level = np.abs(x).max(axis=1)
    # silent before (the grid may move the note 32 samples); FluidSynth's effects add a
    # tiny anti-denormal offset, a few 24-bit steps, hence -100 dBFS rather than exact zero
    assert level[: on_sample - 64].max() < 1e-5
    onset = int(np.flatnonzero(level > 0.05 * level.max())[0])
    assert 0 <= onset - on_sample < round(0.005 * SR)  # within 5 ms of the note-on sample


def low_energy_share(x: np.ndarray, *, below_hz: float) -> float:
    power = np.abs(np.fft.rfft(x.mean(axis=1))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float(power[freqs < below_hz].sum() / power.sum())


def test_drums_play_the_kit_on_channel_10(tmp_path):
    """Key 42 is a closed hi-hat on the GM drum channel (bank 128), but a low F#2 on a piano."""
    hits = tuple(Note(k * 0.25, k * 0.25 + 0.1, 42, 110) for k in range(6))
    share = {}
    for name, is_drum in (("kit", True), ("piano", False)):
        arrangement = Arrangement(1.5, np.zeros(0), (Track(name, 0, is_drum, hits),))
        out = render_arrangement(
            arrangement, out_path=tmp_path / f"{name}.wav", n_samples=SR * 3 // 2
        )
        share[name] = low_energy_share(soundfile.read(out.path)[0], below_hz=1000.0)
    assert share["kit"] < 0.2  # a hat is hiss
    assert share["piano"] > 0.8  # a 92.5 Hz note is mostly low partials


def test_same_input_gives_identical_bytes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        render_arrangement(
            small_band(3.0), out_path=tmp_path / folder / "mix.wav", n_samples=3 * SR,
            stems_dir=tmp_path / folder / "stems", block_s=0.7,
        )  # fmt: skip
    assert sha256(tmp_path / "a" / "mix.wav") == sha256(tmp_path / "b" / "mix.wav")
    for role in ("pads", "bass", "drums"):
        assert sha256(tmp_path / "a" / "stems" / f"{role}.wav") == sha256(
            tmp_path / "b" / "stems" / f"{role}.wav"
        )


def test_limiter_holds_the_ceiling_on_peaky_drums(tmp_path):
    """Three hard snare hits over a soft pad: -16 LUFS puts the hits far over the ceiling."""
    snares = Track("drums", 0, True, tuple(Note(t, t + 0.1, 38, 127) for t in (0.5, 2.0, 3.5)))
    pad = Track("pads", 48, False, (Note(0.0, 5.0, 60, 40), Note(0.0, 5.0, 67, 40)))
    arrangement = Arrangement(5.0, np.zeros(0), (pad, snares))
    result = render_arrangement(arrangement, out_path=tmp_path / "peaky.wav", n_samples=5 * SR)
    x, _ = soundfile.read(result.path)
    assert result.limiter_db < -6.0  # the limiter was needed, and worked hard
    assert true_peak_dbtp(x) <= -1.0
    assert pyloudnorm.Meter(SR).integrated_loudness(x) == pytest.approx(-16.0, abs=1.0)


def test_unreachable_target_keeps_the_ceiling_and_says_so(tmp_path):
    """Hits over a near-silent pad: the hits are the loudness, so the ceiling wins."""
    snares = Track("drums", 0, True, tuple(Note(t, t + 0.1, 38, 127) for t in (0.5, 2.0, 3.5)))
    # velocity 10: near-silent in FluidR3 and in MuseScore General (whose strings at 20
    # already carry -16 LUFS)
    pad = Track("pads", 48, False, (Note(0.0, 5.0, 60, 10),))
    arrangement = Arrangement(5.0, np.zeros(0), (pad, snares))
    # "near-silent" is a property of FluidR3's pad at velocity 20; MuseScore General (the
    # default when installed) plays it loud enough to reach the target, a different case.
    font = FLUID_R3 if FLUID_R3.is_file() else None
    result = render_arrangement(arrangement, out_path=tmp_path / "hits.wav", n_samples=5 * SR,
                                soundfont=font)
    x, _ = soundfile.read(result.path)
    assert true_peak_dbtp(x) <= -1.0
    measured = pyloudnorm.Meter(SR).integrated_loudness(x)
    assert measured < -17.0
    assert result.integrated_lufs == pytest.approx(measured, abs=0.1)
    assert len(result.warnings) == 1 and "LUFS" in result.warnings[0]


def test_cancel_during_synthesis_leaves_nothing(tmp_path):
    token = CancelToken()
    seen = []

    def progress(stage, fraction, message):
        seen.append((stage, fraction))
        if fraction > 0.2:
            token.cancel()

    with pytest.raises(CancelledError):
        render_arrangement(
            small_band(4.0), out_path=tmp_path / "mix.wav", n_samples=4 * SR,
            stems_dir=tmp_path / "stems", block_s=0.5, progress=progress, cancel=token,
        )  # fmt: skip
    assert seen and all(stage == "render" for stage, _ in seen)
    assert list(tmp_path.iterdir()) == []  # no output, no temp or scratch file, no stems dir


def test_cancel_while_writing_leaves_nothing(tmp_path):
    token = CancelToken()

    def progress(stage, fraction, message):
        if fraction > 0.85:  # pass 2 has started writing the temp WAVs
            token.cancel()

    (tmp_path / "stems").mkdir()
    with pytest.raises(CancelledError):
        render_arrangement(
            small_band(3.0), out_path=tmp_path / "mix.wav", n_samples=3 * SR,
            stems_dir=tmp_path / "stems", block_s=0.25, progress=progress, cancel=token,
        )  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["stems"]
    assert list((tmp_path / "stems").iterdir()) == []


def test_progress_rises_to_one(tmp_path):
    fractions = []
    render_arrangement(
        small_band(2.0), out_path=tmp_path / "mix.wav", n_samples=2 * SR, block_s=0.5,
        progress=lambda stage, fraction, message: fractions.append(fraction),
    )  # fmt: skip
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)


def test_bad_note_names_the_field(tmp_path):
    bad = Track("bass", 33, False, (Note(0.0, 1.0, 40, 100), Note(1.0, 2.0, 200, 100)))
    with pytest.raises(InvalidOptionError, match=r"tracks\[0\]\.notes\[1\]\.pitch"):
        render_arrangement(
            Arrangement(2.0, np.zeros(0), (bad,)), out_path=tmp_path / "x.wav", n_samples=SR
        )
    with pytest.raises(InvalidOptionError, match="n_samples"):
        render_arrangement(small_band(1.0), out_path=tmp_path / "x.wav", n_samples=0)
    with pytest.raises(InvalidOptionError, match="missing"):
        render_arrangement(small_band(1.0), out_path=tmp_path / "missing" / "x.wav", n_samples=SR)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- SoundFont discovery


def test_missing_soundfont_explains_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv(SOUNDFONT_ENV, raising=False)
    with pytest.raises(BackendUnavailableError) as explicit:
        find_soundfont(tmp_path / "nope.sf2")
    assert "nope.sf2" in str(explicit.value)
    with pytest.raises(BackendUnavailableError) as searched:
        find_soundfont(search_paths=[tmp_path / "a.sf2", tmp_path / "b.sf3"])
    for err in (explicit.value, searched.value):
        assert "fluid-soundfont-gm" in str(err) and "--soundfont" in str(err)
    with pytest.raises(BackendUnavailableError, match="fluid-soundfont-gm"):
        render_arrangement(
            small_band(1.0), out_path=tmp_path / "x.wav", n_samples=SR,
            soundfont=tmp_path / "nope.sf2",
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    assert "nope.sf2" in soundfont_available(tmp_path / "nope.sf2")


def test_soundfont_from_environment_and_sf3_suffix(tmp_path, monkeypatch):
    real = find_soundfont()
    alias = tmp_path / "bank.sf3"
    alias.symlink_to(real)
    monkeypatch.setenv(SOUNDFONT_ENV, str(alias))
    assert find_soundfont() == alias
    monkeypatch.setenv(SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(BackendUnavailableError, match=SOUNDFONT_ENV):
        find_soundfont()
    not_a_font = tmp_path / "notes.txt"
    not_a_font.write_text("x")
    with pytest.raises(BackendUnavailableError, match=r"\.sf2/\.sf3"):
        find_soundfont(not_a_font)


def test_missing_libfluidsynth_is_a_clear_backend_error(monkeypatch):
    # what pyfluidsynth does without libfluidsynth: its import raises ImportError
    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    reason = soundfont_available()
    assert "libfluidsynth" in reason and "pyfluidsynth" in reason


def performed_band(duration_s: float) -> Arrangement:
    """``small_band`` in a hall, the pads sent to it with a chorus and swelling on CC11."""
    band = small_band(duration_s)
    pads, bass, drums = band.tracks
    swell = tuple(Control(t, 11, round(60 + 60 * t / duration_s))
                  for t in np.arange(0.0, duration_s, 0.25))
    return dataclasses.replace(band, room="hall", tracks=(
        dataclasses.replace(pads, controls=swell, reverb_send=80, chorus_send=50),
        dataclasses.replace(bass, reverb_send=20),
        dataclasses.replace(drums, reverb_send=25),
    ))


def test_room_and_expression_render_repeatably_and_stems_still_sum(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        render_arrangement(
            performed_band(3.0), out_path=tmp_path / folder / "mix.wav", n_samples=3 * SR,
            stems_dir=tmp_path / folder / "stems", block_s=0.7,
        )  # fmt: skip
    for name in ("mix.wav", "stems/pads.wav", "stems/bass.wav", "stems/drums.wav"):
        assert sha256(tmp_path / "a" / name) == sha256(tmp_path / "b" / name)
    mix, _ = soundfile.read(tmp_path / "a" / "mix.wav")
    stems = sum(soundfile.read(tmp_path / "a" / "stems" / f"{r}.wav")[0]
                for r in ("pads", "bass", "drums"))
    assert np.abs(stems - mix).max() <= 2 * LSB + 1e-12  # (3 stems + 1) / 2 LSB of rounding


def _tail_and_gain(tmp_path, name, *, room="dry", send=0, controls=()):
    """Render one short piano note: (share of its energy after 1 s, when the key was let go
    at 0.5 s; the gain normalisation applied)."""
    note = Track("keys", 0, False, (Note(0.2, 0.5, 60, 100),), controls=controls,
                 reverb_send=send)
    result = render_arrangement(
        Arrangement(2.0, np.zeros(0), (note,), room=room), out_path=tmp_path / f"{name}.wav",
        n_samples=2 * SR, target_lufs=-30.0,
    )
    x, _ = soundfile.read(result.path)
    # compare shapes, not levels: each file is normalised to the same loudness
    return float(np.square(x[int(1.0 * SR):]).sum() / np.square(x).sum()), result.gain_db


def test_a_hall_rings_on_after_the_note_and_a_dry_room_does_not(tmp_path):
    dry, _ = _tail_and_gain(tmp_path, "dry")
    hall, _ = _tail_and_gain(tmp_path, "hall", room="hall", send=100)
    plate, _ = _tail_and_gain(tmp_path, "plate", room="plate", send=100)
    no_send, _ = _tail_and_gain(tmp_path, "nosend", room="hall", send=0)
    assert hall > 5 * dry and hall > plate > 2 * dry  # the hall's tail is the longest
    assert no_send == pytest.approx(dry, rel=0.05)  # nothing sent, nothing rings


def test_expression_sets_the_level_of_a_held_note(tmp_path):
    # the same note at full and at low expression: normalisation needs more gain for the
    # quiet one, by about what CC11 took away (FluidSynth: 40 dB * log10(127 / value))
    _, loud = _tail_and_gain(tmp_path, "loud", controls=(Control(0.0, 11, 127),))
    _, soft = _tail_and_gain(tmp_path, "soft", controls=(Control(0.0, 11, 40),))
    assert soft - loud == pytest.approx(40 * math.log10(127 / 40), abs=3.0)


def test_unknown_room_names_the_field(tmp_path):
    band = dataclasses.replace(small_band(1.0), room="cathedral")
    with pytest.raises(InvalidOptionError) as err:
        render_arrangement(band, out_path=tmp_path / "x.wav", n_samples=SR)
    assert err.value.field == "room" and "cathedral" in str(err.value)
    assert not list(tmp_path.iterdir())


def test_musescore_general_is_the_default_where_installed(monkeypatch):
    monkeypatch.delenv(SOUNDFONT_ENV, raising=False)
    muse = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")
    fluid = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    if not muse.is_file():
        pytest.skip("musescore-general-soundfont is not installed")
    assert find_soundfont() == muse
    if fluid.is_file():  # the fallback where MuseScore's is missing
        assert find_soundfont(search_paths=[p for p in soundfont_candidates()
                                            if "MuseScore" not in p.name]) == fluid


def test_synthesis_threads_give_the_same_blocks_as_one_thread():
    band = performed_band(2.5)
    n = round(2.5 * SR)
    one = list(synthesise(band, n_samples=n, block_s=0.7, threads=1))
    many = list(synthesise(band, n_samples=n, block_s=0.7, threads=3))
    assert len(one) == len(many) == 4  # 0.7 s blocks over 2.5 s
    for a, b in zip(one, many):
        assert a.keys() == b.keys() == {"pads", "bass", "drums"}
        for role in a:
            assert np.array_equal(a[role], b[role])  # to the bit
    assert sum(len(block["pads"]) for block in many) == n
    with pytest.raises(InvalidOptionError) as err:
        synthesise(band, n_samples=n, threads=0)
    assert err.value.field == "threads"


def test_closing_the_blocks_early_stops_the_threads():
    blocks = synthesise(performed_band(3.0), n_samples=3 * SR, block_s=0.5, threads=2)
    next(blocks)  # the second block is being rendered now
    blocks.close()  # waits for it, then frees the synths: no crash, no thread left behind
    assert not [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")]


def test_synths_share_one_loaded_soundfont_and_outlive_each_other():
    from bridge.render import soundfont as sf

    font = find_soundfont()
    first = sf.SynthTrack(font, sr=SR, program=48, is_drum=False)
    second = sf.SynthTrack(font, sr=SR, program=48, is_drum=False)
    loaded = [f for key, f in sf._FONTS.items() if key[0] == str(font.resolve())]
    assert len(loaded) == 1 and loaded[0].held[(0, 48)]  # loaded once, preset kept warm
    first.close()  # hands the font back: the other synth still plays it
    second.add_note(on_sample=0, off_sample=SR // 2, pitch=60, velocity=100)
    assert np.abs(second.render(SR // 2)).max() > 0.01
    second.close()
    with pytest.raises(InvalidOptionError):  # a preset the font lacks is still an error
        sf.SynthTrack(font, sr=SR, program=99, is_drum=True)  # no drum kit 99 in GM fonts
