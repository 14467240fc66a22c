"""Adapter training on a tiny synthetic dataset: the loss falls, only phi and gamma learn."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
from musicgen_support import tiny_bundle, torch

from bridge.errors import InvalidOptionError
from bridge.render.musicgen.adapter import AffectInjection, load_adapter
from bridge.render.musicgen.loader import build_random_musicgen
from bridge.render.musicgen.sampling import encode_condition
from bridge.render.musicgen.train import (
    TrainSettings,
    adapter_loss,
    load_csv_dataset,
    load_folder_dataset,
    make_segments,
    train_adapter,
)

SR = 32_000


def _dataset(folder, n=3, seconds=1.0):
    """Tones whose loudness follows a known arousal, with their per-second VA beside them."""
    folder.mkdir()
    t = np.arange(int(SR * seconds)) / SR
    for i in range(n):
        arousal = np.linspace(-0.8, 0.8, int(seconds * 4)) * (1 if i % 2 else -1)
        envelope = np.interp(t, (np.arange(len(arousal)) + 0.5) / 4, (arousal + 1) / 2)
        tone = 0.4 * envelope * np.sin(2 * np.pi * (220 + 110 * i) * t)
        soundfile.write(folder / f"clip{i}.wav", tone.astype(np.float32), SR)
        (folder / f"clip{i}.json").write_text(json.dumps({
            "hop_s": 0.25, "valence": [0.5 - i * 0.3] * len(arousal),
            "arousal": arousal.tolist(), "caption": "calm strings" if i % 2 else "tense drums"}))
    return folder


def test_fifty_steps_lower_the_loss_and_only_phi_and_gamma_learn(tmp_path):
    bundle = tiny_bundle()
    examples = load_folder_dataset(_dataset(tmp_path / "data"))
    settings = TrainSettings(steps=50, lr=1e-2, batch_size=4, segment_s=0.5, save_every=25)
    frozen = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    losses = []
    out = tmp_path / "adapter.safetensors"
    adapter = train_adapter(bundle, examples, out, settings=settings,
                            log=lambda step, loss: losses.append(loss))
    assert len(losses) == 50
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])
    assert all(p.grad is None for p in bundle.model.parameters())
    for k, v in bundle.model.state_dict().items():
        assert torch.equal(v, frozen[k]), k
    assert adapter.gamma.abs().min() > 0  # every gate opened
    torch.manual_seed(settings.seed)
    from bridge.render.musicgen.adapter import AdapterConfig, AffectAdapter

    init = AffectAdapter(AdapterConfig.for_model(bundle))  # phi moved off its init
    assert not torch.allclose(init.convs[0].weight, adapter.convs[0].weight.cpu())
    assert not torch.allclose(init.project.weight, adapter.project.weight.cpu())
    assert (tmp_path / "adapter.safetensors.log.csv").read_text().count("\n") == 50
    assert list((tmp_path / "code-cache").glob("*.npy"))  # codes computed once, kept


def test_at_gamma_zero_only_gamma_has_a_gradient_on_the_first_step(tmp_path):
    bundle = tiny_bundle()
    examples = load_folder_dataset(_dataset(tmp_path / "data", n=2))
    from bridge.render.musicgen.adapter import AdapterConfig, AffectAdapter

    adapter = AffectAdapter(AdapterConfig.for_model(bundle))
    segments = make_segments(bundle, examples, segment_s=0.5, halo=adapter.config.halo_frames,
                             cache_dir=tmp_path / "cache")
    with AffectInjection(bundle, adapter) as injection:
        adapter_loss(bundle, adapter, injection, segments[:2]).backward()
    assert adapter.gamma.grad.abs().min() > 0
    assert adapter.project.weight.grad.abs().max() == 0
    assert adapter.convs[0].weight.grad.abs().max() == 0


def test_a_saved_adapter_reproduces_the_logits_in_a_fresh_base_and_resume_continues(tmp_path):
    bundle = tiny_bundle()
    examples = load_folder_dataset(_dataset(tmp_path / "data", n=2))
    straight = train_adapter(bundle, examples, tmp_path / "a.safetensors",
                             settings=TrainSettings(steps=6, lr=1e-2, batch_size=2, segment_s=0.5))
    train_adapter(bundle, examples, tmp_path / "b.safetensors",
                  settings=TrainSettings(steps=3, lr=1e-2, batch_size=2, segment_s=0.5))
    resumed = train_adapter(bundle, examples, tmp_path / "b.safetensors", resume=True,
                            settings=TrainSettings(steps=6, lr=1e-2, batch_size=2, segment_s=0.5))
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)

    fresh = build_random_musicgen("tiny", seed=0)  # the same base, built again
    loaded = load_adapter(tmp_path / "a.safetensors", bundle=fresh)
    ids = torch.randint(0, 64, (4, 30), generator=torch.Generator().manual_seed(2))
    va = (np.sin(np.arange(3)), np.cos(np.arange(3)))

    def logits(model_bundle, adapter):
        control = adapter.control(*va, hop_s=1.0, start_frame=0, n_frames=40)
        cond = encode_condition(model_bundle, ["calm strings"])
        with AffectInjection(model_bundle, adapter) as injection, torch.no_grad():
            injection.set_control(control)
            return model_bundle.model(decoder_input_ids=ids, **cond.first_kwargs).logits

    with torch.no_grad():
        assert torch.equal(logits(bundle, straight), logits(fresh, loaded))
    two_blocks = SimpleNamespace(hidden_size=64, num_layers=2, source="two-block model")
    with pytest.raises(InvalidOptionError, match="adapter fits a decoder of 4 blocks x 64; "
                                                 "two-block model has 2 x 64"):
        load_adapter(tmp_path / "a.safetensors", bundle=two_blocks)


def test_deam_and_pmemo_style_annotations(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for song in ("10", "12"):
        soundfile.write(audio / f"{song}.wav", np.zeros(SR, np.float32), SR)
    (tmp_path / "arousal.csv").write_text(
        "song_id,sample_15000ms,sample_15500ms\n10,0.1,-0.2\n12,0.3,0.4\n")
    (tmp_path / "valence.csv").write_text(
        "song_id,sample_15000ms,sample_15500ms\n10,-0.5,0.5\n12,0.0,0.1\n")
    deam = load_csv_dataset(tmp_path / "arousal.csv", audio)
    assert [e.audio_path.name for e in deam] == ["10.wav", "12.wav"]
    assert deam[0].times_s.tolist() == [15.0, 15.5]
    assert deam[0].valence.tolist() == [-0.5, 0.5]
    assert np.allclose(deam[0].arousal, [0.1, -0.2])
    (tmp_path / "dynamic_annotations.csv").write_text(
        "musicId,frameTime,Arousal(mean),Valence(mean)\n10,15.5,0.75,0.25\n10,16.0,1.0,0.5\n")
    (tmp_path / "captions.csv").write_text("id,caption\n10,slow piano\n")
    pmemo = load_csv_dataset(tmp_path / "dynamic_annotations.csv", audio,
                             captions=tmp_path / "captions.csv")
    assert np.allclose(pmemo[0].arousal, [0.5, 1.0]) and np.allclose(pmemo[0].valence, [-0.5, 0])
    assert pmemo[0].caption == "slow piano"
    (tmp_path / "bad.csv").write_text("musicId,frameTime,Arousal(mean),Valence(mean)\n10,x,1,1\n")
    with pytest.raises(InvalidOptionError, match="line 2"):
        load_csv_dataset(tmp_path / "bad.csv", audio)
