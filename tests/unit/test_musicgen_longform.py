"""Long-form windows: codes as the prompt, the curve at absolute frames, bounded windows."""

from __future__ import annotations

import numpy as np
import pytest
from musicgen_support import tiny_adapter, tiny_bundle, torch

from bridge.errors import CancelledError, InvalidOptionError
from bridge.progress import CancelToken
from bridge.render.musicgen.adapter import AffectInjection
from bridge.render.musicgen.generate import GenerationSettings, generate_long, plan_windows

SETTINGS = GenerationSettings(window_s=0.4, overlap_s=0.1, guidance_scale=3.0, top_k=8, seed=4)


def test_window_plan_covers_the_timeline_with_overlaps():
    windows = plan_windows(52, window_frames=20, overlap_frames=5)
    assert [(w.start_frame, w.n_prompt, w.n_new) for w in windows] == [
        (0, 0, 20), (15, 5, 15), (30, 5, 15), (45, 5, 2)]
    assert windows[-1].end_frame == 52
    with pytest.raises(InvalidOptionError):
        plan_windows(50, window_frames=20, overlap_frames=20)


def test_three_windows_prompt_with_the_previous_codes_and_read_the_curve_at_absolute_frames(
        monkeypatch):
    bundle = tiny_bundle()
    adapter = tiny_adapter(bundle, gamma=0.5)
    rng = np.random.default_rng(1)
    valence, arousal = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
    prefill_ids = []  # what the decoder really received on each window's first call

    def before_decoder(module, args, kwargs):
        cache = kwargs.get("cache")
        if cache is None or cache.get_seq_length() == 0:
            prefill_ids.append(kwargs["input_ids"].clone())

    controls = []
    set_control = AffectInjection.set_control

    def record(self, control, **kw):
        controls.append(control.detach().clone())
        set_control(self, control, **kw)

    monkeypatch.setattr(AffectInjection, "set_control", record)
    handle = bundle.decoder.register_forward_pre_hook(before_decoder, with_kwargs=True)
    try:
        results = list(generate_long(bundle, text="tense drums", duration_s=0.97,
                                     valence=valence, arousal=arousal, hop_s=1.0,
                                     adapter=adapter, settings=SETTINGS))
    finally:
        handle.remove()
    assert [r.window.start_frame for r in results] == [0, 15, 30]  # 49 frames: 20 + 15 + 14
    k_books, overlap = bundle.num_codebooks, 5
    for previous, result, ids in zip(results, results[1:], prefill_ids[1:]):
        expected = previous.codes[:, :, -overlap:]
        assert torch.equal(result.codes[:, :, :overlap], expected)
        # prefill = start column + the prompt in the delay pattern, cond and uncond halves
        ids = ids.reshape(2, k_books, overlap + 1)
        for k in range(k_books):
            assert torch.equal(ids[0, k, 1 + k:], expected[0, k, :overlap - k])
            assert (ids[:, k, :1 + k] == bundle.start_token_id).all()
        assert torch.equal(ids[0], ids[1])
    whole = adapter.control(valence, arousal, hop_s=1.0, start_frame=0, n_frames=60)
    for result, control in zip(results, controls):
        w = result.window
        assert torch.allclose(control, whole[:, w.start_frame:w.start_frame + control.shape[1]],
                              atol=1e-6)
    audio = np.concatenate([r.audio for r in results])
    assert len(audio) == 49 * bundle.hop_samples  # ceil(0.97 s * 50 Hz) frames, one hop each
    assert not bundle.decoder._forward_pre_hooks  # the injection removed its hooks


def test_progress_per_window_and_cancel():
    bundle = tiny_bundle()
    events = []
    list(generate_long(bundle, text="calm", duration_s=0.8, settings=SETTINGS,
                       progress=lambda stage, f, msg: events.append((stage, round(f, 3), msg))))
    assert events == [("music", 0.0, "window 1/3"), ("music", 0.333, "window 2/3"),
                      ("music", 0.667, "window 3/3"), ("music", 1.0, "3 windows")]
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(CancelledError):
        list(generate_long(bundle, text="calm", duration_s=0.8, settings=SETTINGS, cancel=cancel))
