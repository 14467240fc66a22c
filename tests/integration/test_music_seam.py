"""A backend outside the symbolic engine, written the way a neural one would be: one class
that yields float blocks into the shared finishing stage, with an option of its own and no
MIDI. Run through the real pipeline, CLI and protobuf conversion."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
import soundfile
from fixture_timelines import shots_timeline

from bridge.cli import main as cli_main
from bridge.config import ScoreOptions
from bridge.media.synth import SceneSpec
from bridge.music import MusicOutput, finish, music_backends
from bridge.pipeline import score_timeline
from bridge.registry import OptionSpec


class DroneBackend:
    """A sine drone at a chosen pitch (stands in for a neural decoder)."""

    name = "drone"

    def __init__(self, *, pitch_hz: float) -> None:
        self.pitch_hz = pitch_hz

    def generate(self, analysis, request, *, wav_path, midi_path, stems_dir,
                 progress=None, cancel=None):
        n_total = analysis.edit.n_samples(request.sr)

        def blocks(block_n=32_000):  # a decoder's frames, mono, float32
            for start in range(0, n_total - 5_000, block_n):  # runs short: the stage pads
                t = (start + np.arange(block_n)) / request.sr
                yield {"music": (0.1 * np.sin(2 * np.pi * self.pitch_hz * t)).astype(np.float32)}

        done = finish(blocks(), roles=["music"], analysis=analysis, request=request,
                      wav_path=wav_path, stems_dir=stems_dir, **_hooks(progress, cancel))
        return MusicOutput(wav_path=done.path, midi_path=None, stem_paths=done.stem_paths,
                           loudness_lufs=done.integrated_lufs, true_peak_dbtp=done.true_peak_dbtp)


def _hooks(progress, cancel) -> dict:
    return {k: v for k, v in (("progress", progress), ("cancel", cancel)) if v is not None}


@pytest.fixture
def drone(monkeypatch):
    pitch = OptionSpec("pitch_hz", "the drone's pitch", 110.0, float)
    monkeypatch.setitem(music_backends._factories, "drone", DroneBackend)
    monkeypatch.setitem(music_backends._options, "drone", (pitch,))
    return "drone"


@pytest.fixture(scope="module")
def timeline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seam")
    return shots_timeline(folder, [0.0, 1.6, 3.2],
                          lambda i, s: SceneSpec(s, background=(40 * i, 90, 160), audio="speech"))


def test_audio_only_backend_gets_its_options_and_the_finishing_stage(drone, timeline, tmp_path):
    options = ScoreOptions(music_backend=drone, stems=True, duck_db=9,
                           backend_options={"pitch_hz": "440"})
    result = score_timeline(timeline, tmp_path / "out", options)
    assert result.midi_path is None and not (tmp_path / "out" / "score.mid").exists()
    x, sr = soundfile.read(result.wav_path)
    assert len(x) == result.analysis.edit.n_samples(sr)
    assert pyloudnorm.Meter(sr).integrated_loudness(x) == pytest.approx(-16.0, abs=1.0)
    spectrum = np.abs(np.fft.rfft(x[: sr, 0]))
    assert np.fft.rfftfreq(sr, 1 / sr)[spectrum.argmax()] == pytest.approx(440, abs=2)
    assert set(result.stem_paths) == {"music"} and result.stem_paths["music"].is_file()

    from bridge.server.convert import score_to_pb

    assert score_to_pb(result).midi_path == ""


def test_cli_copes_without_midi(drone, timeline, tmp_path, capsys):
    code = cli_main(["-q", "score", str(timeline), "-o", str(tmp_path / "out"),
                     "--music-backend", drone, "--backend-opt", "music.pitch_hz=220"])
    out = capsys.readouterr().out
    assert code == 0 and "score.wav" in out and "None" not in out and "score.mid" not in out
    code = cli_main(["-q", "score", str(timeline), "-o", str(tmp_path / "bad"),
                     "--music-backend", drone, "--backend-opt", "pitch_hz=loud"])
    assert code == 2 and "backend_options.pitch_hz" in capsys.readouterr().err
