"""The soundtrack, judged on the rendered audio by an independent analyser (librosa).

Every figure comes from `bridge.eval` measuring the WAV the real pipeline wrote through
FluidSynth, never from the music plan. Baselines are rendered by the same composer with
information taken away, so each comparison isolates what the cuts or the affect buy.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile
from fixture_timelines import shots_timeline

from bridge import ScoreOptions, analyze_timeline, score_timeline
from bridge.eval import evaluate
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.music import MusicRequest
from bridge.quality.baselines import render_baseline
from bridge.timeline.build import ShotSpec, write_timeline

pytestmark = pytest.mark.timeout(900)

# 14 cuts at irregular times, every gap longer than one beat at the fastest tempo.
CUTS_S = [2.3, 4.9, 7.0, 9.8, 12.1, 15.2, 17.4, 20.6, 23.0, 25.9, 28.1, 31.4, 33.8, 36.9]
END_S = 40.0
PALETTE = [(220, 60, 40), (40, 90, 200), (230, 170, 40), (30, 150, 90), (160, 40, 160)]
RATE = Fraction(25)


def _agitated(i: int, duration_s: float) -> SceneSpec:
    return SceneSpec(duration_s, background=PALETTE[i % len(PALETTE)], shapes=4,
                     speed_px_s=140, audio="noise", level_dbfs=-16)


@pytest.fixture(scope="module")
def cut_timeline(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cuts")
    return shots_timeline(folder, [0.0, *CUTS_S, END_S], _agitated)


@pytest.fixture(scope="module")
def scored(cut_timeline, tmp_path_factory):
    out = tmp_path_factory.mktemp("score")
    return score_timeline(cut_timeline, out, ScoreOptions(style="cinematic-orchestral"))


def _report(wav: Path, analysis, cuts_s):
    edit = analysis.edit
    return evaluate(wav, cuts_s=cuts_s, duration_s=edit.duration_s, frame_s=edit.frame_s,
                    arousal=analysis.affect.arousal, valence=analysis.affect.valence,
                    hop_s=analysis.affect.hop_s)


def test_cuts_land_on_beats_and_chords_change_on_cuts(scored, tmp_path):
    analysis = scored.analysis
    cuts_s = [c.time_s for c in analysis.cuts]
    assert len(cuts_s) == len(CUTS_S)
    ours = _report(scored.wav_path, analysis, cuts_s)
    baseline_wav = render_baseline(analysis, "constant-tempo", tmp_path).wav_path
    base = _report(baseline_wav, analysis, cuts_s)
    print(f"hit rate ±50 ms ours {ours.cut_beat_hit_rate_50ms:.2f} vs constant tempo "
          f"{base.cut_beat_hit_rate_50ms:.2f}; chord recall ours "
          f"{ours.chord_at_cut_recall_beat:.2f} vs {base.chord_at_cut_recall_beat:.2f}")
    assert ours.cut_beat_hit_rate_50ms >= 0.90
    assert ours.chord_at_cut_recall_beat >= 0.80
    # Ignoring the cuts must cost clearly: a constant grid hits a cut only by chance.
    assert base.cut_beat_hit_rate_50ms <= ours.cut_beat_hit_rate_50ms - 0.3


def test_length_loudness_and_end(scored):
    edit = scored.analysis.edit
    info = soundfile.info(scored.wav_path)
    assert (info.samplerate, info.channels, info.subtype) == (48_000, 2, "PCM_24")
    assert info.frames == edit.n_samples(48_000)
    report = _report(scored.wav_path, scored.analysis, [c.time_s for c in scored.analysis.cuts])
    assert report.length_delta_samples == 0
    assert report.ends_in_last_frame == 1.0
    assert abs(report.integrated_lufs - (-16.0)) <= 1.0
    assert report.true_peak_dbtp <= -1.0 + 0.05
    audio, _ = soundfile.read(scored.wav_path)
    assert np.max(np.abs(audio)) < 1.0


def test_music_intensity_follows_the_arc(tmp_path_factory, tmp_path):
    """calm -> intense -> calm picture: measured loudness + onset density follow arousal."""
    folder = tmp_path_factory.mktemp("arc")

    def arc(i, duration_s):
        if i < 3 or i >= 8:  # calm: dark, static, near silent, long shots
            return SceneSpec(duration_s, background=(15, 20, 60), audio="tone", tone_hz=110,
                             level_dbfs=-44)
        return SceneSpec(duration_s, background=(235, 50, 30), shapes=6, speed_px_s=380,
                         audio="noise", level_dbfs=-8)

    bounds = [0, 6, 12, 18, 20.5, 23, 25.5, 28, 30.5, 36.5, 42.5, 48.5]
    timeline = shots_timeline(folder, bounds, arc, name="arc")
    result = score_timeline(timeline, tmp_path / "out", ScoreOptions(style="cinematic-orchestral"))
    analysis = result.analysis
    arousal = analysis.affect.arousal
    assert arousal[20:28].mean() > arousal[:15].mean() + 0.5  # the sensor saw the arc
    ours = _report(result.wav_path, analysis, [c.time_s for c in analysis.cuts])
    flat = _report(render_baseline(analysis, "flat-affect", tmp_path / "base").wav_path,
                   analysis, [c.time_s for c in analysis.cuts])
    print(f"arousal following: ours r={ours.arousal_pearson:.2f}, "
          f"flattened affect r={flat.arousal_pearson:.2f}")
    assert ours.arousal_pearson >= 0.6
    assert flat.arousal_pearson < ours.arousal_pearson
    # A calm, quiet ending still ends on the last frame, not before it.
    assert ours.ends_in_last_frame == 1.0


@pytest.mark.parametrize(
    "rate, drop_frame",
    [(Fraction(24000, 1001), False), (Fraction(25), False), (Fraction(30000, 1001), True)],
)
def test_length_is_exact_to_the_sample(rate, drop_frame, tmp_path):
    frames = 97  # odd on purpose: 97 frames at 29.97 is not a whole number of samples
    media = tmp_path / "m.mp4"
    encode_scenes(media, [_agitated(0, 2.0), _agitated(1, 2.2)], width=160, height=96, rate=rate)
    timeline = write_timeline(tmp_path / "t.otio", name="t", rate=rate, drop_frame=drop_frame,
                              shots=[ShotSpec(media, frames=50), ShotSpec(media, frames=47,
                                                                         media_start_s=2.0)])
    result = score_timeline(timeline, tmp_path / "out")
    expected = round(Fraction(frames) / rate * 48_000)
    assert soundfile.info(result.wav_path).frames == expected
    assert result.analysis.edit.drop_frame == drop_frame


def test_seed_gives_a_repeatable_take(cut_timeline, tmp_path):
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    analysis = analyze_timeline(cut_timeline)
    a = render_baseline(analysis, "flat-affect", tmp_path / "a", MusicRequest(seed=3))
    b = render_baseline(analysis, "flat-affect", tmp_path / "b", MusicRequest(seed=3))
    c = render_baseline(analysis, "flat-affect", tmp_path / "c", MusicRequest(seed=4))
    assert digest(a.wav_path) == digest(b.wav_path)
    assert digest(a.wav_path) != digest(c.wav_path)
    assert soundfile.info(a.wav_path).frames == soundfile.info(c.wav_path).frames


def test_music_ducks_under_the_timelines_dialogue(tmp_path):
    from bridge.media.synth import encode_audio

    media = tmp_path / "picture.mp4"
    encode_scenes(media, [_agitated(0, 16.0)], width=160, height=96, rate=RATE, audio=False)
    voice = tmp_path / "voice.wav"
    encode_audio(voice, [SceneSpec(6.0, audio="speech", level_dbfs=-12)])
    timeline = write_timeline(
        tmp_path / "dialogue.otio", name="dialogue", rate=RATE,
        shots=[ShotSpec(media, seconds=16.0, name="wide")],
        audio=[ShotSpec(voice, seconds=6.0, name="line", gap_before_frames=100)],  # 4 s .. 10 s
    )

    def level_db(wav: Path, start_s: float, end_s: float) -> float:
        audio, sr = soundfile.read(wav)
        part = audio[round(start_s * sr):round(end_s * sr)]
        return 10 * np.log10(np.mean(np.square(part)))

    plain = score_timeline(timeline, tmp_path / "plain", ScoreOptions(duck_db=0))
    ducked = score_timeline(timeline, tmp_path / "ducked", ScoreOptions(duck_db=12))
    # level under the dialogue relative to the music around it, with and without ducking
    contrast = [level_db(r.wav_path, 5.0, 9.5) - level_db(r.wav_path, 11.0, 15.0)
                for r in (plain, ducked)]
    assert contrast[1] - contrast[0] == pytest.approx(-12.0, abs=2.0)
