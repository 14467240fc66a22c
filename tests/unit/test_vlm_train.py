"""`scorebridge train-probe` on a tiny random SmolVLM and video encoded with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_vlm import build_tiny_vlm  # noqa: E402

from bridge.affect.vlm_model import Backbone  # noqa: E402
from bridge.affect.vlm_probe import load_probe  # noqa: E402
from bridge.affect.vlm_train import read_targets, train_probe  # noqa: E402
from bridge.cli import main  # noqa: E402
from bridge.errors import BridgeError  # noqa: E402
from bridge.media.synth import SceneSpec, encode_scenes  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def annotated(tmp_path_factory) -> tuple[Path, Path]:
    """A 10 s video (5 s dark blue, 5 s bright orange) and 1 Hz targets that follow it."""
    root = tmp_path_factory.mktemp("train")
    video = root / "clip.mp4"
    encode_scenes(video, [SceneSpec(5.0, background=(10, 20, 80)),
                          SceneSpec(5.0, background=(240, 160, 40))], width=160, height=90,
                  rate=Fraction(12), audio=False)
    lines = ["video,time,valence,arousal"]
    for t in range(10):
        v, a = (-0.6, -0.4) if t < 5 else (0.7, 0.5)
        lines.append(f"clip.mp4,{t + 0.5},{v},{a}")
    csv = root / "targets.csv"
    csv.write_text("\n".join(lines) + "\n")
    model = build_tiny_vlm("smolvlm", root / "smolvlm")
    return csv, model


def test_train_probe_caches_states_fits_and_saves(annotated, tmp_path, monkeypatch):
    csv, model = annotated
    backbone = Backbone.load(str(model))
    report = train_probe(csv, str(model), tmp_path / "probe", epochs=60, lr=1e-2, hidden=16,
                         window=4, overlap=1, frame_side=96, backbone=backbone)
    assert report.n_train == 8 and report.held_out_pred.shape == (2, 2)
    assert np.abs(report.held_out_pred).max() <= 1
    np.testing.assert_allclose(report.held_out_truth, [[0.7, 0.5], [0.7, 0.5]])
    assert report.losses[-1] < report.losses[0]
    probe = load_probe(tmp_path / "probe")
    assert probe.config.in_dim == backbone.hidden_size
    assert probe.config.model_type == "smolvlm"
    cached = list((tmp_path / "probe" / ".state-cache").glob("*.safetensors"))
    assert len(cached) == 1
    # a second run reads the cache: the backbone is not called again
    monkeypatch.setattr(Backbone, "pooled_states",
                        lambda *a, **k: pytest.fail("backbone ran despite the cache"))
    again = train_probe(csv, str(model), tmp_path / "probe2", epochs=5, hidden=16, window=4,
                        overlap=1, frame_side=96, backbone=backbone,
                        cache_dir=tmp_path / "probe" / ".state-cache")
    assert again.n_train == 8


def test_cli_train_probe_prints_pearson_and_ccc(annotated, tmp_path, capsys):
    csv, model = annotated
    rc = main(["-q", "train-probe", str(csv), "--vlm", str(model), "-o", str(tmp_path / "p"),
               "--epochs", "20", "--hidden", "8", "--window", "6", "--overlap", "2",
               "--frame-side", "96"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "valence pearson" in out and "arousal ccc" in out
    assert (tmp_path / "p" / "probe.safetensors").is_file()


def test_probe_metrics_are_pearson_and_ccc_per_dimension():
    from bridge.train_cli import probe_metrics

    truth = np.array([[0.0, 1.0], [0.5, 0.0], [1.0, -1.0]])
    scaled = np.stack([truth[:, 0] * 0.5, truth[:, 1]], axis=1)
    m = probe_metrics(scaled, truth)
    assert m["valence pearson"] == pytest.approx(1.0)
    assert m["valence ccc"] < 0.9  # right shape, wrong scale: concordance drops
    assert m["arousal pearson"] == pytest.approx(1.0) and m["arousal ccc"] == pytest.approx(1.0)


def test_bad_targets_name_the_line(tmp_path, capsys):
    bad = tmp_path / "t.csv"
    bad.write_text("video,time,valence,arousal\nclip.mp4,0,0.1,2.5\n")
    with pytest.raises(BridgeError, match="line 2"):
        read_targets(bad)
    bad.write_text("video,time,valence\nclip.mp4,0,0.1\n")
    assert main(["-q", "train-probe", str(bad), "--vlm", "x", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "missing columns arousal" in err and str(bad) in err
    assert len(err.strip().splitlines()) == 1


def test_states_of_distinct_scenes_differ(annotated):
    """The cached states carry the picture: dark and bright halves are not the same."""
    csv, model = annotated
    from bridge.affect.vlm_train import video_states

    backbone = Backbone.load(str(model))
    video = read_targets(csv)[0]
    states = video_states(backbone, video, window=10, overlap=0, frame_side=96,
                          cache_dir=None).numpy()
    assert states.shape == (10, backbone.hidden_size)
    within = np.linalg.norm(states[1] - states[2])
    across = np.linalg.norm(states[2] - states[7])
    assert across > within
