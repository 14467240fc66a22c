"""The musicgen backend through the real pipeline and CLI, on a tiny random model saved to
a folder (no download): registration, reasons when it cannot run, exact-length output."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import soundfile
from fixture_timelines import shots_timeline

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
torch.set_num_threads(1)

from bridge import ScoreOptions, score_timeline  # noqa: E402
from bridge.cli import main  # noqa: E402
from bridge.media.synth import SceneSpec  # noqa: E402
from bridge.music import music_backends  # noqa: E402
from bridge.music.musicgen import musicgen_unavailable  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from bridge.render.musicgen.adapter import AdapterConfig, AffectAdapter, save_adapter
    from bridge.render.musicgen.loader import build_random_musicgen

    folder = tmp_path_factory.mktemp("musicgen-tiny")
    bundle = build_random_musicgen("tiny", seed=0)
    bundle.model.save_pretrained(folder)
    bundle.tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    adapter = AffectAdapter(AdapterConfig.for_model(bundle, channels=16))
    with torch.no_grad():
        adapter.gamma.fill_(0.5)
    save_adapter(adapter, folder / "adapter.safetensors")
    return folder


def test_reasons_name_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("SCOREBRIDGE_MUSICGEN_MODEL", raising=False)
    reasons = {a.name: a.reason for a in music_backends.availability()}
    assert reasons["musicgen"].startswith("no model given: --backend-opt model=PATH")
    assert musicgen_unavailable(model=str(tmp_path / "none")) == (
        f"no MusicGen weights at {tmp_path / 'none'}; see README › Neural backend")
    assert "not in the local hub cache" in musicgen_unavailable(model="nobody/no-such-model")
    monkeypatch.setitem(sys.modules, "torch", None)
    assert musicgen_unavailable(model=str(tmp_path)).startswith("torch not installed; ")


def test_scores_a_timeline_to_its_exact_length_in_windows(model_dir, tmp_path):
    (tmp_path / "media").mkdir()
    timeline = shots_timeline(tmp_path / "media", [0.0, 0.64, 1.28],
                              lambda i, d: SceneSpec(d, background=(200, 40 + 120 * i, 40)))
    events = []
    options = ScoreOptions(music_backend="musicgen", backend_options={
        "model": str(model_dir), "adapter": str(model_dir / "adapter.safetensors"),
        "device": "cpu", "window": "0.4", "overlap": "0.1", "top_k": "8", "guidance": "3"})
    result = score_timeline(timeline, tmp_path / "out", options,
                            progress=lambda stage, f, msg: events.append((stage, msg)))
    info = soundfile.info(result.wav_path)
    assert (info.samplerate, info.channels) == (48_000, 2)
    assert info.frames == result.analysis.edit.n_samples(48_000)
    assert result.midi_path is None
    windows = [msg for stage, msg in events if stage == "music" and msg.startswith("window")]
    # 1.28 s + 1 s headroom for fit = 114 frames: 20, then 15 new per window
    assert windows[0] == "window 1/8" and windows[-1] == "window 8/8"
    assert result.plan_summary["backend"] == "musicgen"
    # the fit says what it did with the one cut, and warns when it found no beat for it
    summary = result.plan_summary
    assert summary["cuts"] == 1
    assert summary["cuts_spliced"] <= summary["cuts_on_a_beat"] <= 1
    fit_warnings = [w for w in result.analysis.warnings if w.startswith("fit:")]
    assert bool(fit_warnings) == (summary["cuts_on_a_beat"] == 0)


def test_cli_lists_the_backend_and_refuses_a_bad_option(model_dir, tmp_path, capsys):
    assert main(["backends"]) == 0
    listed = capsys.readouterr().out
    assert "musicgen" in listed and "--backend-opt adapter=" in listed
    (tmp_path / "media").mkdir()
    timeline = shots_timeline(tmp_path / "media", [0.0, 0.5, 1.0],
                              lambda i, d: SceneSpec(d, background=(20, 40, 200)))
    code = main(["-q", "score", str(timeline), "-o", str(tmp_path / "o"), "--music-backend",
                 "musicgen", "--backend-opt", f"model={model_dir}", "--backend-opt", "window=45"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "scorebridge: error: field 'window': window must be in (0, 30] seconds"]


def test_train_adapter_command_writes_an_adapter_and_resumes(model_dir, tmp_path, capsys):
    import json

    import numpy as np

    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        t = np.arange(32_000) / 32_000
        soundfile.write(data / f"c{i}.wav", (0.3 * np.sin(2 * np.pi * 300 * (i + 1) * t))
                        .astype(np.float32), 32_000)
        (data / f"c{i}.json").write_text(json.dumps(
            {"hop_s": 0.5, "valence": [0.2, -0.2], "arousal": [0.5 * i, -0.5], "caption": "calm"}))
    out = tmp_path / "a.safetensors"
    run = ["-q", "train-adapter", "--model", str(model_dir), "--data", str(data), "-o", str(out),
           "--batch", "2", "--segment-s", "0.5", "--lr", "0.01", "--device", "cpu"]
    assert main([*run, "--steps", "2"]) == 0
    assert out.is_file()
    assert main([*run, "--steps", "4", "--resume"]) == 0
    log = (tmp_path / "a.safetensors.log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log] == ["1", "2", "3", "4"]  # resumed at 3
    capsys.readouterr()
    (data / "c1.json").write_text('{"hop_s": 0.5, "valence": [0.2]}')
    assert main([*run, "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "c1.json" in err[0] and "arousal" in err[0]


def test_options_are_parsed_by_the_backends_own_specs():
    from bridge.errors import InvalidOptionError

    parsed = music_backends.parse_options("musicgen", {"window": "12", "uncond_affect": "zero",
                                                       "fit": "no", "top_k": "0"})
    assert (parsed["window"], parsed["uncond_affect"], parsed["fit"], parsed["top_k"]) == (
        12.0, "zero", False, 0)
    for key, value in [("uncond_affect", "neutral"), ("top_k", "-1"), ("guidance", "0"),
                       ("dtype", "int8")]:
        with pytest.raises(InvalidOptionError, match=f"backend_options.{key}|{key}"):
            music_backends.parse_options("musicgen", {key: value})


def test_plan_guided_follows_the_composers_rendering_with_a_melody_model(model_dir, tmp_path):
    from bridge.errors import BackendUnavailableError
    from bridge.render import soundfont_available
    from bridge.render.musicgen.loader import build_random_musicgen

    if soundfont_available():
        pytest.skip(soundfont_available())
    melody_dir = tmp_path / "melody"
    bundle = build_random_musicgen("tiny", melody=True, seed=0)
    bundle.model.save_pretrained(melody_dir)
    bundle.tokenizer.save_pretrained(melody_dir)
    (tmp_path / "media").mkdir()
    timeline = shots_timeline(tmp_path / "media", [0.0, 0.8, 1.6],
                              lambda i, d: SceneSpec(d, background=(60 * i, 90, 200)))
    common = {"device": "cpu", "window": "1", "overlap": "0.2", "top_k": "8",
              "plan_guided": "true"}
    result = score_timeline(timeline, tmp_path / "out", ScoreOptions(
        music_backend="musicgen", backend_options={"model": str(melody_dir), **common}))
    assert soundfile.info(result.wav_path).frames == result.analysis.edit.n_samples(48_000)
    with pytest.raises(BackendUnavailableError, match="plan_guided needs a MusicGen-Melody"):
        score_timeline(timeline, tmp_path / "plain", ScoreOptions(
            music_backend="musicgen", backend_options={"model": str(model_dir), **common}))
    assert not (tmp_path / "plain").exists()
