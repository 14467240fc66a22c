"""What an analysis reads and converts, counted (not timed): each file opened once per use,
small conversions only, a bounded number of frames decoded per second of picture and per
cut found, sound resampled in batches, no scipy import."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import pytest

import bridge.media.audio as audio_module
import bridge.media.frames as frames_module
from bridge.config import ScoreOptions
from bridge.media import _container
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.pipeline import analyze_timeline
from bridge.timeline import ShotSpec, write_timeline

probe_module = importlib.import_module("bridge.media.probe")  # bridge.media.probe: a function
RATE = Fraction(25)
GOP = 25  # a keyframe a second, as the bench's 1080p sources
SCENES = [SceneSpec(d, c, shapes=3, speed_px_s=60, shape_size_px=16, audio="tone",
                    tone_hz=330.0)
          for d, c in zip((3.36, 4.2, 2.64, 5.8), ((200, 40, 40), (30, 60, 200),
                                                   (40, 180, 60), (240, 220, 200)))]
SHOTS = ((0.0, 8.0), (9.0, 5.0), (2.0, 3.0))  # (media start, seconds): one file, three shots


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cost")
    media = folder / "scenes.mp4"
    encode_scenes(media, SCENES, rate=RATE, gop=GOP, width=320, height=180)
    specs = [ShotSpec(media, seconds=s, media_start_s=m, media_duration_s=16.0)
             for m, s in SHOTS]
    path = write_timeline(folder / "cost.otio", name="cost", rate=RATE, shots=specs,
                          audio=specs)
    return path, media


def test_analysis_opens_each_file_once_per_use_and_decodes_little(timeline, monkeypatch):
    path, _ = timeline
    opened: list[str] = []
    real_open = _container._open
    monkeypatch.setattr(_container, "_open", lambda p: opened.append(p.name) or real_open(p))
    probes: list[str] = []  # files opened by probe (the timeline reader's frame rates)

    def counting_open_media(p):
        probes.append(Path(p).name)
        return _container.open_media(p)

    monkeypatch.setattr(probe_module, "open_media", counting_open_media)
    decoded = [0]
    real_decode = frames_module._counted_decode

    def counting_decode(container, stream, stats):
        for frame in real_decode(container, stream, stats):
            decoded[0] += 1
            yield frame

    monkeypatch.setattr(frames_module, "_counted_decode", counting_decode)
    sizes: list[tuple[int, ...]] = []
    real_call = frames_module._Scaler.__call__

    def counting_call(self, frame):
        rgb = real_call(self, frame)
        sizes.append(rgb.shape)
        return rgb

    monkeypatch.setattr(frames_module._Scaler, "__call__", counting_call)
    analysis = analyze_timeline(path, ScoreOptions(cache=False))

    # one open container for the picture (keyframe reads: the GOP is short), however many
    # shots and candidate cuts there are; one for the sound, and the clip that starts at
    # the media's first sample reads a file opened afresh
    assert len(opened) - len(probes) == 3
    detected = [c for c in analysis.cuts if c.kind == "detected"]
    assert len(detected) >= 2  # scene changes inside the 8 s and 5 s shots
    shown_s = sum(s for _, s in SHOTS)
    # small conversions only: 160 px for the picture pass, 96 px to localise a cut
    assert sizes and all(shape[1] <= 160 for shape in sizes)
    # the picture pass converts a keyframe and its successor per second (1 keyframe a
    # second here, plus each shot's first frame); localising a cut converts a few more
    per_cut = 1 + GOP // frames_module.CHANGE_STRIDE + 2 + 2
    assert len(sizes) <= 2 * (shown_s + len(SHOTS)) + per_cut * len(detected)
    # decoded: the same two frames a second, and at most a GOP and two frames per cut
    assert decoded[0] <= 2 * (shown_s + len(SHOTS)) + (GOP + 2) * len(detected)


def test_sound_is_resampled_in_batches(timeline, monkeypatch):
    """One libswresample call per ~64k decoded samples, not one per 1024-sample frame."""
    _, media = timeline
    calls = [0]
    real = av.AudioResampler

    class Counting:
        def __init__(self, **kw):
            self.inner = real(**kw)

        def resample(self, frame):
            calls[0] += 1
            return self.inner.resample(frame)

    monkeypatch.setattr(av, "AudioResampler", Counting)
    samples = audio_module.decode_audio(media, 1.0, 15.0, sr=16_000)
    assert len(samples) == 14 * 16_000
    decoded = 15.0 * 48_000  # the synth's sound is 48 kHz
    assert calls[0] <= decoded / audio_module.BATCH_SAMPLES + 3  # not ~decoded / 1024


def test_an_analysis_imports_no_scipy(timeline, tmp_path):
    """scipy's import alone cost an analysis ~0.45 CPU-s; the analysis needs none of it."""
    path, _ = timeline
    code = ("import json, sys\n"
            "from bridge.config import ScoreOptions\n"
            "from bridge.pipeline import analyze_timeline\n"
            f"analyze_timeline({str(path)!r}, ScoreOptions(cache=False))\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
