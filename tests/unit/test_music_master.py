"""The finishing stage fed by a source that is not FluidSynth: numpy blocks, as a neural
decoder would yield them. Measured with pyloudnorm, scipy and soundfile, not the stage's
own meter."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pyloudnorm
import pytest
import soundfile
from scipy import signal

from bridge.errors import CancelledError, InvalidOptionError
from bridge.music import END_FADE_S, master_audio
from bridge.music.ducking import DuckingEnvelope
from bridge.progress import CancelToken

SR = 48_000
LSB = 2.0**-23


def decoder_blocks(n_samples: int, *, block_sizes=(12_345, 30_000, 777), stems=False,
                   channels: int = 1, seed: int = 0) -> Iterator[dict[str, np.ndarray]]:
    """A 'decoder': a 220 Hz tone and a noise bed, in uneven block sizes, float32."""
    rng = np.random.default_rng(seed)
    start, k = 0, 0
    while start < n_samples:
        n = min(block_sizes[k % len(block_sizes)], n_samples - start)
        t = (start + np.arange(n)) / SR
        tone = (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        noise = (0.01 * rng.standard_normal(n)).astype(np.float32)
        shape = (n, channels) if channels > 1 else (n,)
        tone = np.broadcast_to(tone[:, None], (n, channels)).reshape(shape).copy()
        noise = np.broadcast_to(noise[:, None], (n, channels)).reshape(shape).copy()
        yield {"tone": tone, "noise": noise} if stems else {"music": tone + noise}
        start += n
        k += 1


def true_peak_dbtp(x: np.ndarray) -> float:
    return 20 * math.log10(np.abs(signal.resample_poly(x, 4, 1, axis=0)).max())


def test_numpy_source_is_finished_to_spec(tmp_path):
    n = 5 * SR + 1234  # not a whole block count of anything
    result = master_audio(decoder_blocks(n), roles=["music"], out_path=tmp_path / "m.wav",
                    n_samples=n, sr=SR)
    x, sr = soundfile.read(result.path)
    info = soundfile.info(str(result.path))
    assert (sr, info.subtype, info.channels, len(x)) == (SR, "PCM_24", 2, n)
    assert np.array_equal(x[:, 0], x[:, 1])  # a mono source plays on both sides
    assert pyloudnorm.Meter(SR).integrated_loudness(x) == pytest.approx(-16.0, abs=0.5)
    assert true_peak_dbtp(x) <= -1.0 + 0.05
    assert x[-1].tolist() == [0.0, 0.0]  # the fade ends at zero on the last sample
    fade_n = round(END_FADE_S * SR)
    assert np.abs(x[-fade_n // 4:]).max() < np.abs(x[-2 * fade_n:-fade_n]).max() / 2


def test_block_sizes_do_not_change_the_bytes(tmp_path):
    n = 3 * SR
    a = master_audio(decoder_blocks(n, block_sizes=(48_000,)), roles=["music"],
               out_path=tmp_path / "a.wav", n_samples=n)
    b = master_audio(decoder_blocks(n, block_sizes=(1000, 33_333, 7)), roles=["music"],
               out_path=tmp_path / "b.wav", n_samples=n)
    assert a.path.read_bytes() == b.path.read_bytes()


def test_an_unmeasured_true_peak_changes_nothing_but_the_result(tmp_path):
    """The report's baselines skip the master's own true-peak measurement of the written
    file (bridge.eval measures them): the same bytes, the loudness still measured."""
    n = 3 * SR
    measured = master_audio(decoder_blocks(n), roles=["music"], out_path=tmp_path / "a.wav",
                            n_samples=n)
    unmeasured = master_audio(decoder_blocks(n), roles=["music"], out_path=tmp_path / "b.wav",
                              n_samples=n, measure_true_peak=False)
    assert measured.path.read_bytes() == unmeasured.path.read_bytes()
    assert math.isnan(unmeasured.true_peak_dbtp) and math.isfinite(measured.true_peak_dbtp)
    assert unmeasured.integrated_lufs == measured.integrated_lufs
    assert unmeasured.gain_db == measured.gain_db


def test_read_only_blocks_are_accepted(tmp_path):
    n = SR

    def frozen():
        for start in range(0, n, 10_000):
            block = np.broadcast_to(np.float32(0.1), (min(10_000, n - start), 2))
            assert not block.flags.writeable
            yield {"music": block}

    result = master_audio(frozen(), roles=["music"], out_path=tmp_path / "f.wav", n_samples=n)
    assert soundfile.info(str(result.path)).frames == n


def test_stems_sum_to_the_mix(tmp_path):
    n = 4 * SR
    result = master_audio(decoder_blocks(n, stems=True, channels=2), roles=["tone", "noise"],
                    out_path=tmp_path / "mix.wav", n_samples=n, stems_dir=tmp_path / "stems")
    mix, _ = soundfile.read(result.path)
    stems = [soundfile.read(result.stem_paths[r])[0] for r in ("tone", "noise")]
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == ["noise.wav", "tone.wav"]
    assert np.abs(stems[0] + stems[1] - mix).max() <= 2 * LSB


def test_short_source_is_padded_and_long_one_cut(tmp_path):
    n = 2 * SR
    short = master_audio(decoder_blocks(SR), roles=["music"], out_path=tmp_path / "short.wav",
                   n_samples=n)
    x, _ = soundfile.read(short.path)
    assert len(x) == n and np.abs(x[SR + 10:]).max() == 0.0 and np.abs(x[:SR]).max() > 0.1
    long = master_audio(decoder_blocks(3 * SR), roles=["music"], out_path=tmp_path / "long.wav",
                  n_samples=n)
    assert soundfile.info(str(long.path)).frames == n


def test_ducking_envelope_lowers_the_music_where_it_dips(tmp_path):
    n = 6 * SR
    gain_db = np.zeros(601)
    gain_db[200:400] = -12.0  # 2..4 s, a step (no slew) keeps the check exact
    envelope = DuckingEnvelope(gain_db=gain_db, control_hz=100.0, active=gain_db < 0)
    result = master_audio(decoder_blocks(n), roles=["music"], out_path=tmp_path / "d.wav",
                    n_samples=n, gain_envelope=envelope)
    x, _ = soundfile.read(result.path)

    def rms_db(a_s, b_s):
        part = x[round(a_s * SR):round(b_s * SR), 0]
        return 10 * math.log10(np.mean(part**2))

    assert rms_db(0.5, 1.5) - rms_db(2.5, 3.5) == pytest.approx(12.0, abs=0.3)
    assert rms_db(4.5, 5.5) - rms_db(2.5, 3.5) == pytest.approx(12.0, abs=0.3)


def test_cancel_and_bad_blocks_leave_nothing(tmp_path):
    token = CancelToken()

    def progress(stage, fraction, message):
        if fraction > 0.3:
            token.cancel()

    with pytest.raises(CancelledError):
        master_audio(decoder_blocks(3 * SR), roles=["music"], out_path=tmp_path / "c.wav",
               n_samples=3 * SR, stems_dir=tmp_path / "stems", progress=progress, cancel=token)

    def bad_blocks():
        yield {"music": np.zeros((100, 2), np.float32)}
        yield {"music": np.zeros((100, 3), np.float32)}

    with pytest.raises(InvalidOptionError, match=r"block 1 of role 'music' has shape \(100, 3\)"):
        master_audio(bad_blocks(), roles=["music"], out_path=tmp_path / "b.wav", n_samples=SR)
    with pytest.raises(InvalidOptionError, match="roles"):
        master_audio(decoder_blocks(SR), roles=["other"], out_path=tmp_path / "r.wav", n_samples=SR)
    with pytest.raises(InvalidOptionError, match="plain name"):
        master_audio(decoder_blocks(SR), roles=["../x"], out_path=tmp_path / "p.wav", n_samples=SR)

    def nan_blocks():
        yield {"music": np.full((100, 2), np.nan, np.float32)}

    with pytest.raises(InvalidOptionError, match="NaN"):
        master_audio(nan_blocks(), roles=["music"], out_path=tmp_path / "n.wav", n_samples=SR)
    assert list(tmp_path.iterdir()) == []


def test_the_source_is_closed_when_the_stage_fails(tmp_path):
    closed = []

    def source():
        try:
            yield {"music": np.zeros((10, 2), np.float32)}
            yield {"music": np.zeros((10, 5), np.float32)}
        finally:
            closed.append(True)  # a model or synth would be released here

    with pytest.raises(InvalidOptionError):
        master_audio(source(), roles=["music"], out_path=tmp_path / "x.wav", n_samples=SR)
    assert closed == [True]
