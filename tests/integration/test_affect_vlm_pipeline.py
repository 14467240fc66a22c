"""The "vlm" affect backend through the registry, the pipeline and the CLI, on a real OTIO
timeline with media encoded by PyAV and a tiny random SmolVLM checkpoint."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import pytest

from bridge.affect import estimators
from bridge.errors import BridgeError

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from fixture_timelines import shots_timeline  # noqa: E402
from tiny_vlm import build_tiny_vlm  # noqa: E402

from bridge.affect.vlm_probe import AffectProbe, ProbeConfig, save_probe  # noqa: E402
from bridge.config import ScoreOptions  # noqa: E402
from bridge.media.synth import SceneSpec  # noqa: E402
from bridge.pipeline import analyze_timeline, list_backends  # noqa: E402


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("vlm_pipeline")
    model = build_tiny_vlm("smolvlm", root / "model")
    torch.manual_seed(0)
    save_probe(AffectProbe(ProbeConfig(in_dim=32, hidden=8, model_type="smolvlm")).eval(),
               root / "probe")
    timeline = shots_timeline(
        root, [0.0, 3.0, 7.0],
        lambda i, d: SceneSpec(d, background=((20, 30, 120), (230, 120, 30))[i]),
        rate=Fraction(24), name="vlm")
    return model, root / "probe", timeline


def test_listed_with_its_options_and_the_exact_reason():
    entry = next(a for a in list_backends()["affect"] if a.name == "vlm")
    assert not entry.available
    assert entry.reason == "needs --backend-opt vlm=PATH (a model folder or hub id)"
    assert {o.name for o in entry.options} >= {"vlm", "probe", "window", "overlap", "anchor"}


def test_unavailable_reasons_name_what_is_missing(parts, tmp_path):
    model, _probe, _ = parts
    for options, reason in [
        ({"vlm": str(tmp_path / "nope")}, f"no model folder at {tmp_path / 'nope'}"),
        ({"vlm": str(model)}, "needs --backend-opt probe=PATH"),
        ({"vlm": str(model), "probe": str(tmp_path)}, "no probe.safetensors in probe folder"),
    ]:
        with pytest.raises(BridgeError, match="cannot run: " + reason.replace(".", r"\.")):
            estimators.create("vlm", **options)
    with pytest.raises(BridgeError, match=r"backend_options\.window"):
        estimators.create("vlm", vlm=str(model), window="zero")


def test_pipeline_with_the_vlm_backend_and_its_anchor(parts):
    model, probe, timeline = parts
    stages = []
    options = ScoreOptions(affect_backend="vlm", backend_options={
        "vlm": str(model), "probe": str(probe), "window": "4", "overlap": "1",
        "frame_side": "96"})
    analysis = analyze_timeline(timeline, options,
                                progress=lambda s, f, m="": stages.append((s, m)))
    assert analysis.affect.source == "vlm" and len(analysis.affect) == 7
    assert (analysis.affect.confidence == 1).all()
    assert [m for s, m in stages if m.startswith("VLM window")] == ["VLM window 1/2",
                                                                    "VLM window 2/2"]
    # a random model answers noise: the embedded style stands, with one warning
    assert any(w.startswith("style anchor:") for w in analysis.warnings)
    # a named style is never overridden by the anchor
    named = analyze_timeline(timeline, ScoreOptions(
        affect_backend="vlm", style="lofi", backend_options={
            "vlm": str(model), "probe": str(probe), "frame_side": "96"}))
    assert named.style.name == "lofi"
    assert not any(w.startswith("style anchor:") for w in named.warnings)


def test_cli_affect_with_the_vlm_backend(parts, tmp_path):
    import subprocess

    model, probe, timeline = parts
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "-q", "affect", str(timeline), "-o",
         str(tmp_path / "out"), "--affect-backend", "vlm", "--backend-opt", f"vlm={model}",
         "--backend-opt", f"probe={probe}", "--backend-opt", "anchor=false",
         "--backend-opt", "frame_side=96"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "affect.csv").stat().st_size > 0
    bad = subprocess.run(
        [sys.executable, "-m", "bridge", "-q", "affect", str(timeline), "-o",
         str(tmp_path / "bad"), "--affect-backend", "vlm", "--backend-opt", f"vlm={model}"],
        capture_output=True, text=True, timeout=300)
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1 and "probe=PATH" in lines[0]
    assert not (tmp_path / "bad").exists()
