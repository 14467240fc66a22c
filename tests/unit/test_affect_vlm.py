"""The frozen-VLM affect sensor on tiny random models of two families (CPU, one thread)."""

from __future__ import annotations

from fractions import Fraction
from itertools import groupby, pairwise
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_vlm import build_tiny_vlm  # noqa: E402

from bridge.affect import vlm as vlm_mod  # noqa: E402
from bridge.affect.vlm_input import INSTRUCTION, clock_text  # noqa: E402
from bridge.affect.vlm_model import Backbone  # noqa: E402
from bridge.affect.vlm_probe import (  # noqa: E402
    AffectProbe,
    ProbeConfig,
    emo_loss,
    load_probe,
    save_probe,
)
from bridge.affect.vlm_train import fit_probe  # noqa: E402
from bridge.errors import BridgeError, CancelledError  # noqa: E402
from bridge.media.synth import SceneSpec, encode_scenes  # noqa: E402
from bridge.progress import CancelToken  # noqa: E402
from bridge.types import Clip, Edit  # noqa: E402

FAMILIES = ("video_llama_3", "smolvlm")


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_vlm")
    return {f: build_tiny_vlm(f, root / f) for f in FAMILIES}


@pytest.fixture(scope="module")
def backbones(checkpoints) -> dict[str, Backbone]:
    return {f: Backbone.load(str(p)) for f, p in checkpoints.items()}


def frames(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for _ in range(n)]


def image_runs(ids: list[int], image_id: int) -> list[tuple[int, int]]:
    runs, pos = [], 0
    for value, group in groupby(ids):
        n = len(list(group))
        if value == image_id:
            runs.append((pos, pos + n))
        pos += n
    return runs


# ---------------------------------------------------------------- eq. 2 input


@pytest.mark.parametrize("family", FAMILIES)
def test_sequence_has_one_clock_per_frame_in_order_and_exact_frame_spans(backbones, family):
    backbone = backbones[family]
    times = [0.0, 1.0, 2.0, 7.0]
    batch = backbone.batch(frames(4), times)
    seq = batch.assembled
    ids = seq.input_ids
    image_id = backbone.tokenizer.convert_tokens_to_ids(backbone.layout.image_token)
    # the recorded spans are exactly the runs of the image token, one per frame
    assert list(seq.frame_spans) == image_runs(ids, image_id)
    assert len(seq.frame_spans) == 4
    assert batch.inputs["input_ids"][0].tolist() == ids
    # each clock precedes its frame and follows the previous frame
    previous_end = 0
    for (c0, c1), (f0, f1), t in zip(seq.clock_spans, seq.frame_spans, times):
        assert previous_end <= c0 < c1 <= f0 < f1
        assert backbone.tokenizer.decode(ids[c0:c1]) == clock_text(t)
        previous_end = f1
    text = backbone.tokenizer.decode(ids)
    assert text.count("Time: ") == 4
    assert [text.index(clock_text(t)) for t in times] == sorted(
        text.index(clock_text(t)) for t in times)
    assert text.index(INSTRUCTION) < text.index(clock_text(0.0))
    # frames of one size give spans of one length: the processor's token count
    assert len({b - a for a, b in seq.frame_spans}) == 1
    # smolvlm's tokenizer carries its chat template; the VideoLLaMA3 one has none
    assert seq.template == ("chat-template" if family == "smolvlm" else "built-in")


@pytest.mark.parametrize("family", FAMILIES)
def test_pooled_states_are_the_chosen_layers_mean_over_each_frame_span(backbones, family):
    backbone = backbones[family]
    pics, times = frames(3, seed=1), [0.0, 1.0, 2.0]
    pooled = backbone.pooled_states(pics, times)
    batch = backbone.batch(pics, times)
    with torch.no_grad():
        states = backbone.model.model(**batch.inputs, output_hidden_states=True
                                      ).hidden_states[-1][0]
    assert pooled.shape == (3, backbone.hidden_size)
    for k, (a, b) in enumerate(batch.assembled.frame_spans):
        torch.testing.assert_close(pooled[k], states[a:b].mean(dim=0))
    # different pictures give different states
    assert not torch.allclose(pooled[0], pooled[1])


@pytest.mark.parametrize("family", FAMILIES)
def test_image_processing_in_threads_gives_the_serial_result(backbones, family):
    from PIL import Image

    backbone = backbones[family]
    images = [Image.fromarray(f) for f in frames(5, seed=9)]
    serial, serial_counts = backbone._pixels_serial(images)
    backbone.image_workers = 3
    try:
        threaded, counts = backbone._pixels(images)
    finally:
        backbone.image_workers = 1
    assert counts == serial_counts and set(threaded) == set(serial)
    for key in serial:
        assert torch.equal(threaded[key], serial[key]), key


# ---------------------------------------------------------------- probe (eq. 3-4)


def test_probe_output_is_t_by_2_and_clipped():
    probe = AffectProbe(ProbeConfig(in_dim=32, hidden=16))
    torch.manual_seed(0)
    with torch.no_grad():
        probe.mlp[-1].weight.mul_(50)  # a probe whose raw output leaves [-1, 1]
    out = probe.predict(torch.randn(50, 32))
    assert out.shape == (50, 2)
    assert out.min() >= -1 and out.max() <= 1
    assert (out.abs() == 1).any() and (out.abs() < 1).any()


def test_loss_is_eq4():
    pred = torch.tensor([[0.5, -0.5], [0.0, 1.0]])
    target = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    # frame 1: 0.25+0.25 + λ(0.5+0.5); frame 2: 1 + λ·1; mean over T=2
    assert float(emo_loss(pred, target, 0.5)) == pytest.approx(((0.5 + 0.5) + 1.5) / 2)


def test_only_the_probe_trains_and_its_loss_falls(backbones):
    backbone = backbones["smolvlm"]
    x = backbone.pooled_states(frames(12, seed=2), [float(t) for t in range(12)])
    rng = np.random.default_rng(3)
    w = rng.normal(size=(x.shape[1], 2)) / np.sqrt(x.shape[1])
    y = torch.from_numpy(np.tanh(((x - x.mean(0)) / (x.std(0) + 1e-6)).numpy() @ w)).float()
    torch.manual_seed(0)
    probe = AffectProbe(ProbeConfig(in_dim=x.shape[1], hidden=32, dropout=0.0))
    losses = fit_probe(probe, x, y, epochs=50, lr=1e-2, lam=0.5)
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.grad is not None for p in probe.parameters())
    assert all(not p.requires_grad and p.grad is None for p in backbone.model.parameters())


def test_saved_probe_reloads_and_reproduces_outputs(tmp_path):
    torch.manual_seed(4)
    probe = AffectProbe(ProbeConfig(in_dim=32, hidden=16, layer=1, model_type="smolvlm"))
    x = torch.randn(7, 32)
    save_probe(probe.eval(), tmp_path / "probe")
    again = load_probe(tmp_path / "probe")
    assert again.config == probe.config
    torch.testing.assert_close(again.predict(x), probe.predict(x), rtol=0, atol=0)


def test_missing_probe_is_one_clear_line(tmp_path):
    with pytest.raises(BridgeError, match="no probe here"):
        load_probe(tmp_path)


# ---------------------------------------------------------------- windows (§3.6)


def test_three_windows_match_the_per_window_outputs_at_the_overlaps(backbones):
    backbone = backbones["video_llama_3"]
    torch.manual_seed(5)
    probe = AffectProbe(ProbeConfig(in_dim=backbone.hidden_size, hidden=16)).eval()
    n, window, overlap = 14, 6, 2
    pics = frames(n, seed=6)
    times = [float(t) for t in range(n)]

    def predict(f, t):
        return probe.predict(backbone.pooled_states(f, t)).numpy()

    curve = vlm_mod.windowed(predict, lambda a, b: (pics[a:b], times[a:b]), n,
                             window=window, overlap=overlap)
    plan = vlm_mod.window_plan(n, window=window, overlap=overlap)
    assert plan == [(0, 6), (4, 10), (8, 14)]
    own = [predict(pics[a:b], times[a:b]) for a, b in plan]
    # outside the overlaps the curve is each window's own output
    np.testing.assert_allclose(curve[0:4], own[0][0:4], atol=1e-5)
    np.testing.assert_allclose(curve[6:8], own[1][2:4], atol=1e-5)
    np.testing.assert_allclose(curve[10:14], own[2][2:6], atol=1e-5)
    # in the overlaps it lies on the cross-fade of the two windows' outputs
    w = np.array([1 / 3, 2 / 3])[:, None]
    np.testing.assert_allclose(curve[4:6], (1 - w) * own[0][4:6] + w * own[1][0:2], atol=1e-5)
    np.testing.assert_allclose(curve[8:10], (1 - w) * own[1][4:6] + w * own[2][0:2], atol=1e-5)
    # the overlap frames were read in both windows: the context changed the states
    assert not np.allclose(own[0][4:6], own[1][0:2])


def test_largest_batch_does_not_grow_with_the_number_of_windows(backbones):
    backbone = backbones["smolvlm"]
    probe = AffectProbe(ProbeConfig(in_dim=backbone.hidden_size, hidden=8)).eval()

    def predict(f, t):
        return probe.predict(backbone.pooled_states(f, t)).numpy()

    largest = []
    for n in (14, 26):  # 3 and 6 windows
        pics = frames(n, seed=7)
        backbone.largest_batch_tokens = 0
        loaded = []

        def load(a, b, pics=pics, loaded=loaded):
            loaded.append(b - a)
            return pics[a:b], [float(t) for t in range(a, b)]

        vlm_mod.windowed(predict, load, n, window=6, overlap=2)
        assert max(loaded) == 6
        largest.append(backbone.largest_batch_tokens)
    # same window length, same token count (the clocks' digits may differ by a token)
    assert abs(largest[1] - largest[0]) <= 6


def test_cancel_is_checked_per_window():
    token = CancelToken()
    calls = []

    def predict(f, t):
        calls.append(len(f))
        token.cancel()
        return np.zeros((len(f), 2))

    with pytest.raises(CancelledError):
        vlm_mod.windowed(predict, lambda a, b: ([None] * (b - a), list(range(a, b))), 30,
                         window=8, overlap=2, cancel=token)
    assert calls == [8]


# ---------------------------------------------------------------- the estimator end to end


def test_estimator_reads_only_timeline_picture_and_marks_gaps_unknown(checkpoints, tmp_path,
                                                                      monkeypatch):
    """A 2-shot timeline with a 3 s gap: 1 Hz frames from the shots, none from the gap."""
    path = tmp_path / "reel.mp4"
    encode_scenes(path, [SceneSpec(4.0, background=(20, 20, 90)),
                         SceneSpec(4.0, background=(220, 60, 30), shapes=4,
                                   speed_px_s=120)], width=160, height=90,
                  rate=Fraction(12), audio=False)
    shots = (Clip("a", "video", 0.0, 4.0, path, 0.0), Clip("b", "video", 7.0, 11.0, path, 4.0))
    edit = Edit(name="gap", source_path=tmp_path / "gap.otio", rate=Fraction(12),
                drop_frame=False, start_timecode="00:00:00:00", start_frame=0,
                duration_frames=11 * 12, shots=shots)
    probe_dir = tmp_path / "probe"
    torch.manual_seed(8)
    save_probe(AffectProbe(ProbeConfig(in_dim=32, hidden=8, model_type="smolvlm")).eval(),
               probe_dir)
    estimator = vlm_mod.VlmEstimator(vlm=str(checkpoints["smolvlm"]), probe=str(probe_dir),
                                     window=4, overlap=1, frame_side=96)
    seen = []
    # the backbone is shared with later jobs (loaded_backbone): patch it for this test only
    monkeypatch.setattr(estimator.backbone, "pooled_states",
                        _recording(estimator.backbone.pooled_states, seen))
    stages = []
    curve = estimator.estimate(edit, (), hop_s=1.0,
                               progress=lambda s, f, m="": stages.append((s, f)))
    assert len(curve) == 11 and curve.source == "vlm"
    np.testing.assert_array_equal(curve.confidence, [1] * 4 + [0] * 3 + [1] * 4)
    assert np.all(np.abs(curve.valence) <= 1) and np.all(np.abs(curve.arousal) <= 1)
    clocks = sorted({t for times in seen for t in times})
    assert clocks == [0, 1, 2, 3, 7, 8, 9, 10]  # record-time clocks, gap skipped
    assert max(len(t) for t in seen) == 4
    assert stages[-1] == ("affect", 1.0)
    # gap values are interpolated between the neighbours
    assert min(curve.valence[3], curve.valence[7]) - 1e-9 <= curve.valence[5] <= \
        max(curve.valence[3], curve.valence[7]) + 1e-9


def _recording(fn, seen):
    def wrapped(frames_, times_s, **kw):
        seen.append(list(times_s))
        return fn(frames_, times_s, **kw)
    return wrapped


def test_estimator_names_what_is_missing(tmp_path, checkpoints):
    with pytest.raises(BridgeError, match="vlm=PATH"):
        vlm_mod.VlmEstimator(vlm="", probe="x")
    with pytest.raises(BridgeError, match="no probe here"):
        vlm_mod.VlmEstimator(vlm=str(checkpoints["smolvlm"]), probe=str(tmp_path))
    save_probe(AffectProbe(ProbeConfig(in_dim=48)), tmp_path / "p")
    with pytest.raises(BridgeError, match="48-wide"):
        vlm_mod.VlmEstimator(vlm=str(checkpoints["smolvlm"]), probe=str(tmp_path / "p"))
    with pytest.raises(BridgeError, match="cannot load a model config"):
        vlm_mod.VlmEstimator(vlm=str(tmp_path / "nowhere"), probe=str(tmp_path / "p"))


def test_the_last_backbone_is_reused_for_the_next_job(checkpoints, tmp_path):
    save_probe(AffectProbe(ProbeConfig(in_dim=32, hidden=8)), tmp_path / "p")
    model = str(checkpoints["smolvlm"])
    first = vlm_mod.VlmEstimator(vlm=model, probe=str(tmp_path / "p"), frame_side=96)
    again = vlm_mod.VlmEstimator(vlm=model, probe=str(tmp_path / "p"), frame_side=96)
    other = vlm_mod.VlmEstimator(vlm=model, probe=str(tmp_path / "p"), frame_side=128)
    assert again.backbone is first.backbone
    assert other.backbone is not first.backbone


def test_window_plan_covers_every_frame_once_beyond_the_overlaps():
    for n in (1, 5, 6, 7, 40):
        plan = vlm_mod.window_plan(n, window=6, overlap=2)
        assert plan[0][0] == 0 and plan[-1][1] == n
        for (_a0, b0), (a1, _b1) in pairwise(plan):
            assert b0 - a1 == 2
        assert all(b - a <= 6 for a, b in plan)


# ---------------------------------------------------------------- global anchor (§3.4)


def test_anchor_from_a_random_vlm_falls_back_with_a_warning(checkpoints, tmp_path):
    """A random model's answer is noise: the style is the embedded one, never a crash;
    the model saw keyframes from over the whole timeline with their record-time clocks."""
    from bridge.style import STYLES
    from bridge.style.anchor import ANCHOR_PROMPT, anchor_style

    path = tmp_path / "anchor.mp4"
    encode_scenes(path, [SceneSpec(3.0, background=(20, 20, 90)),
                         SceneSpec(3.0, background=(220, 60, 30))], width=160, height=90,
                  rate=Fraction(12), audio=False)
    shots = (Clip("a", "video", 0.0, 3.0, path, 0.0), Clip("b", "video", 3.0, 6.0, path, 3.0))
    edit = Edit(name="anchor", source_path=tmp_path / "a.otio", rate=Fraction(12),
                drop_frame=False, start_timecode="00:00:00:00", start_frame=0,
                duration_frames=72, shots=shots)
    backbone = Backbone.load(str(checkpoints["video_llama_3"]))
    prompts = []
    real = backbone.describe

    def recording(frames_, prompt, **kw):
        prompts.append((len(frames_), kw.get("times_s"), kw.get("sample")))
        return real(frames_, prompt, max_new_tokens=12, **{k: v for k, v in kw.items()
                                                            if k != "max_new_tokens"})

    backbone.describe = recording
    fallback = STYLES["lofi"]
    describe, why_not = vlm_mod.keyframe_describer(backbone, edit, ANCHOR_PROMPT, keyframes=3,
                                                   frame_side=96)
    assert why_not == ""
    style, warnings = anchor_style(describe, fallback, retries=1)
    assert style == fallback
    assert len(warnings) == 1 and "'lofi'" in warnings[0]
    # evenly spaced (0, 2, 5), the middle one moved into the second shot
    assert prompts[0] == (3, [0.0, 3.0, 5.0], False)
    assert prompts[1][2] is True  # the retry samples instead of repeating the greedy answer
