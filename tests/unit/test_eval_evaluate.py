"""Reading files, loudness, and `evaluate` end to end on a synthetic 48 kHz stereo score."""

from __future__ import annotations

import math
import os

import numpy as np
import pyloudnorm
import pytest
import scipy.signal
import soundfile

from bridge.errors import MissingMediaError
from bridge.eval import evaluate, load_audio, loudness, true_peak_dbtp

SR = 48000
FRAME_S = 1 / 24


def test_load_audio_mixes_and_resamples(tmp_path):
    t = np.arange(2 * SR) / SR
    left = 0.5 * np.sin(2 * np.pi * 1000 * t)
    path = tmp_path / "tone.wav"
    soundfile.write(path, np.stack([left, left], axis=1), SR, subtype="PCM_24")
    audio = load_audio(path, sr=22050)
    assert (audio.native_sr, audio.native_n_samples, audio.channels) == (SR, 2 * SR, 2)
    assert audio.y.dtype == np.float32
    assert audio.y.size == 2 * 22050
    spectrum = np.abs(np.fft.rfft(audio.y))
    assert np.fft.rfftfreq(audio.y.size, 1 / 22050)[spectrum.argmax()] == pytest.approx(1000.0)
    assert np.abs(audio.y[1000:-1000]).max() == pytest.approx(0.5, abs=0.01)


def test_load_audio_missing_file(tmp_path):
    with pytest.raises(MissingMediaError):
        load_audio(tmp_path / "absent.wav")


def test_loudness_of_a_sine_and_its_true_peak():
    t = np.arange(5 * SR) / SR
    sine = 0.1 * np.sin(2 * np.pi * 997 * t)
    stereo = np.stack([sine, sine], axis=1)
    result = loudness(stereo, SR)
    # BS.1770: a 997 Hz sine at -20 dBFS in both channels reads -20 LUFS (K-weighting ~0 dB)
    assert result.integrated_lufs == pytest.approx(-20.0, abs=0.1)
    assert result.integrated_lufs == pytest.approx(
        pyloudnorm.Meter(SR).integrated_loudness(stereo), abs=1e-3
    )
    # a sine at sr/4 sampled 45 degrees off its crest: sample peak 0.354, true peak 0.5
    quarter = 0.5 * np.sin(2 * np.pi * (SR / 4) * t[:SR] + math.pi / 4)
    # 10 ms fades: a step at the ends would ring above the sine's crest when oversampled
    quarter *= np.minimum(1.0, np.minimum(t[:SR], t[SR - 1] - t[:SR]) / 0.01)
    assert 20 * np.log10(np.abs(quarter).max()) == pytest.approx(-9.03, abs=0.01)
    assert true_peak_dbtp(quarter) == pytest.approx(-6.02, abs=0.1)


def test_blockwise_true_peak_equals_oversampling_the_whole_signal():
    rng = np.random.default_rng(7)
    x = scipy.signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal((20000, 2)), axis=0)
    x *= 0.1 * np.minimum(1.0, np.minimum(np.arange(20000), np.arange(20000)[::-1]) / 200)[:, None]
    whole = np.abs(scipy.signal.resample_poly(x, 4, 1, axis=0)).max()
    assert true_peak_dbtp(x, block=1024) == pytest.approx(20 * np.log10(whole), abs=1e-3)


# ---------------------------------------------------------------- end to end

DUR_FRAMES = 24 * 20  # 20 s at 24 fps
BEAT_S = 60 / 120


def _score(*, shift_s: float = 0.0, release: bool = True) -> tuple[np.ndarray, ...]:
    """A 20 s 'score' at 48 kHz: drums on 120 BPM beats, a chord change at every cut, a
    loudness swell that follows the target arousal, a release in the last frame."""
    n = DUR_FRAMES * SR // 24
    t = np.arange(n) / SR
    rng = np.random.default_rng(3)
    cuts = np.array([4.0, 8.0, 12.0, 16.0])
    arousal = np.sin(np.linspace(0, 2 * np.pi, 20))
    gain = 10 ** ((-20 + 8 * np.interp(t, np.arange(20) + 0.5, arousal)) / 20)
    chords = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62), (60, 64, 67)]
    pad = np.zeros(n)
    for i, chord in enumerate(chords):
        sel = (t >= 4.0 * i + shift_s) & (t < 4.0 * (i + 1) + shift_s)
        for m in chord:
            f0 = 440 * 2 ** ((m - 69) / 12)
            pad[sel] += sum(np.sin(2 * np.pi * k * f0 * t[sel]) / k for k in (1, 2, 3))
    pad *= 0.05
    hit_n = round(0.08 * SR)
    ht = np.arange(hit_n) / SR
    hit = (0.4 * rng.standard_normal(hit_n) + np.sin(2 * np.pi * 80 * ht)) * np.exp(-ht / 0.015)
    drums = np.zeros(n)
    for b in np.arange(0.0, 20.0, BEAT_S) + shift_s:
        i = round(b * SR)
        seg = drums[i : i + hit_n]
        seg += hit[: seg.size]
    y = gain * (pad + 0.5 * drums)
    if release:  # falls 60 dB across the last frame
        frame_n = SR // 24
        y[-frame_n:] *= 10 ** (-3 * np.arange(frame_n) / frame_n)
    return np.stack([y, 0.9 * y], axis=1), cuts, arousal


@pytest.fixture(scope="module")
def score_path(tmp_path_factory):
    stereo, cuts, arousal = _score()
    path = tmp_path_factory.mktemp("eval") / "score.wav"
    soundfile.write(path, stereo, SR, subtype="PCM_24")
    return path, cuts, arousal


def test_evaluate_a_score_that_does_everything_right(score_path):
    path, cuts, arousal = score_path
    report = evaluate(
        path,
        cuts_s=cuts,
        duration_s=DUR_FRAMES * FRAME_S,
        frame_s=FRAME_S,
        arousal=arousal,
        reference_path=path,
    )
    assert report.length_delta_samples == 0
    assert report.ends_in_last_frame
    assert report.tempo_bpm == pytest.approx(120.0, rel=0.03)
    assert report.cuts_counted == 4
    assert report.cut_beat_hit_rate_frame == 1.0
    assert report.cut_beat_hit_rate_50ms == 1.0
    assert report.chord_at_cut_recall_beat >= 0.75
    assert report.chord_at_cut_recall_1s >= 0.75
    assert report.arousal_pearson > 0.8
    assert 0.5 < report.arousal_ccc <= report.arousal_pearson + 1e-9
    assert np.isnan(report.valence_pearson)  # no valence target given
    assert (report.bhs, report.bcs) == (1.0, 1.0)  # against itself
    assert report.integrated_lufs == pytest.approx(
        pyloudnorm.Meter(SR).integrated_loudness(soundfile.read(path)[0]), abs=0.01
    )
    d = report.to_dict()
    assert all(type(v) is float for v in d.values())
    assert d["ends_in_last_frame"] == 1.0


def test_evaluate_a_score_half_a_beat_late_and_short(tmp_path, score_path):
    _, cuts, _ = score_path
    stereo, _, _ = _score(shift_s=BEAT_S / 2, release=False)
    path = tmp_path / "late.wav"
    soundfile.write(path, stereo[:-480], SR, subtype="PCM_24")  # 10 ms short
    report = evaluate(path, cuts_s=cuts, duration_s=DUR_FRAMES * FRAME_S, frame_s=FRAME_S)
    assert report.length_delta_samples == -480
    assert report.cut_beat_hit_rate_frame == 0.0
    assert report.chord_at_cut_recall_beat >= 0.75  # chords moved by half a beat only
    assert not report.ends_in_last_frame  # cut mid-note: the release was trimmed off
    assert np.isnan(report.arousal_pearson) and np.isnan(report.bhs)


def test_the_beat_trackers_kernels_come_from_numbas_disk_cache():
    """librosa 0.11 compiles one beat-tracking kernel without numba's cache, at import, in
    every process (~1.1 CPU-s of a report); the analyser imports librosa.beat so that every
    kernel is cached: a second process loads that kernel from disk instead of compiling it."""
    import subprocess
    import sys

    code = ("from bridge.eval import analyse\n"
            "beat = analyse._beat_module()\n"
            "kernels = [v for v in vars(beat).values() if hasattr(v, 'gufunc_builder')]\n"
            "print(len(kernels), all(k.gufunc_builder.cache for k in kernels))\n")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "NUMBA_DEBUG_CACHE": "1"}, timeout=120)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    n_kernels, all_cached = runs[1].stdout.strip().splitlines()[-1].split()
    assert int(n_kernels) >= 5 and all_cached == "True"
    loaded = [line for line in runs[1].stdout.splitlines()
              if "data loaded" in line and "__beat_local_score" in line]
    assert loaded, runs[1].stdout[-2000:]


def test_measuring_holds_openblas_to_one_thread_until_the_last_measurement_ends():
    from threadpoolctl import threadpool_info

    from bridge.eval.evaluate import one_blas_thread

    def openblas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"}

    before = openblas_threads()
    assert before, "numpy/scipy without OpenBLAS: review one_blas_thread"
    with one_blas_thread():
        with one_blas_thread():  # a second measurement, e.g. a baseline beside ours
            assert openblas_threads() == {1}
        assert openblas_threads() == {1}  # the first is still measuring
    assert openblas_threads() == before
