"""Affect adapter and token-level injection on a tiny random MusicGen (eq. 5-6)."""

from __future__ import annotations

import numpy as np
from musicgen_support import tiny_adapter, tiny_bundle, torch

from bridge.render.musicgen.adapter import AffectInjection, va_at_frames
from bridge.render.musicgen.sampling import encode_condition, sample_codes

RATE = 50.0


def _teacher_forced(bundle, ids, *, hidden_states=False):
    cond = encode_condition(bundle, ["calm strings"])
    with torch.no_grad():
        out = bundle.model(decoder_input_ids=ids, output_hidden_states=hidden_states,
                           **cond.first_kwargs)
    return out


def _random_ids(bundle, frames=40, seed=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 64, (bundle.num_codebooks, frames), generator=g)


def _curve(seconds=4):
    t = np.arange(seconds)
    return np.sin(t).astype(float), np.cos(t).astype(float)


def test_gamma_zero_is_bit_identical_to_the_base_model_teacher_forced_and_generating():
    bundle = tiny_bundle()
    adapter = tiny_adapter(bundle)  # gamma initialised to 0
    ids = _random_ids(bundle)
    base = _teacher_forced(bundle, ids).logits
    valence, arousal = _curve()
    cond = encode_condition(bundle, ["calm strings"], guidance_scale=3.0)
    base_codes = sample_codes(bundle, cond, n_frames=12, greedy=True)
    with AffectInjection(bundle, adapter) as injection:
        injection.set_control(adapter.control(valence, arousal, hop_s=1.0, start_frame=0,
                                              n_frames=60))
        injected = _teacher_forced(bundle, ids).logits
        assert injection.blocks_seen == [0, 1, 2]  # the hooks ran and added gamma * C = 0
        codes = sample_codes(bundle, cond, n_frames=12, greedy=True, injection=injection)
    assert torch.equal(base, injected)
    assert torch.equal(base_codes, codes)


class _BlockOutputs:
    """Records every decoder block's output; hooks registered after the injection's see the
    injected value (forward hooks run in registration order)."""

    def __init__(self, bundle):
        self.outputs: dict[int, torch.Tensor] = {}
        self._handles = [layer.register_forward_hook(self._record(i))
                         for i, layer in enumerate(bundle.decoder.layers)]

    def _record(self, index):
        def hook(module, args, output):
            self.outputs[index] = output.detach().clone()
        return hook

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()


def test_injection_changes_hidden_states_from_the_first_injected_block_on_only():
    bundle = tiny_bundle()
    adapter = tiny_adapter(bundle, gamma=0.0, shallow_fraction=0.5)  # blocks 0, 1 of 4
    assert adapter.config.shallow_layers == 2
    with torch.no_grad():
        adapter.gamma[1] = 0.5  # block 0's gate stays closed: the change starts at block 1
    ids = _random_ids(bundle)
    with _BlockOutputs(bundle) as base:
        base_logits = _teacher_forced(bundle, ids).logits
    valence, arousal = _curve()
    with AffectInjection(bundle, adapter) as injection:
        injection.set_control(adapter.control(valence, arousal, hop_s=1.0, start_frame=0,
                                              n_frames=60))
        with _BlockOutputs(bundle) as moved:
            moved_logits = _teacher_forced(bundle, ids).logits
        assert injection.blocks_seen == [0, 1]  # blocks past L_shallow get nothing
    assert torch.equal(base.outputs[0], moved.outputs[0])
    for block in (1, 2, 3):
        assert not torch.allclose(base.outputs[block], moved.outputs[block])
    assert not torch.allclose(base_logits, moved_logits)
    # the switch gives the base model back without removing the hooks
    with AffectInjection(bundle, adapter) as injection:
        injection.set_control(adapter.control(valence, arousal, hop_s=1.0, start_frame=0,
                                              n_frames=60))
        injection.enabled = False
        assert torch.equal(_teacher_forced(bundle, ids).logits, base_logits)


def test_delta_at_a_block_is_exactly_gamma_times_control_and_later_blocks_get_none():
    bundle = tiny_bundle()
    adapter = tiny_adapter(bundle, gamma=0.0, shallow_fraction=0.5)
    with torch.no_grad():
        adapter.gamma[1] = 0.25
    ids = _random_ids(bundle, frames=20)
    valence, arousal = _curve()
    control = adapter.control(valence, arousal, hop_s=1.0, start_frame=0, n_frames=20)
    with _BlockOutputs(bundle) as raw, AffectInjection(bundle, adapter) as injection:
        injection.set_control(control)
        with _BlockOutputs(bundle) as injected:
            _teacher_forced(bundle, ids)
    # raw's hooks ran before the injection's, injected's after
    assert torch.allclose(injected.outputs[1] - raw.outputs[1], 0.25 * control, atol=1e-6)
    for block in (2, 3):  # past L_shallow: changed inputs, but nothing added
        assert torch.equal(injected.outputs[block], raw.outputs[block])


def test_a_step_in_the_curve_at_second_3_appears_around_frame_150():
    bundle = tiny_bundle()
    adapter = tiny_adapter(bundle, gamma=1.0)
    valence = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])  # the step between seconds 2-3 and 3-4
    flat = np.zeros(6)
    with torch.no_grad():
        stepped = adapter.control(valence, flat, hop_s=1.0, start_frame=0, n_frames=300)
        still = adapter.control(flat, flat, hop_s=1.0, start_frame=0, n_frames=300)
    assert torch.equal(still[:, 0], still[:, -1])  # a flat curve gives a flat control
    change = (stepped[0, 1:] - stepped[0, :-1]).abs().amax(dim=1).numpy()
    frames = np.flatnonzero(change > 1e-6) + 1  # frames whose control differs from the last
    halo = adapter.config.halo_frames
    # interpolation ramps from the knot at 2.5 s (frame 125) to 3.5 s (frame 175)
    assert frames.min() >= 125 - halo and frames.max() <= 175 + halo
    assert 150 - halo <= int(np.argmax(change)) + 1 <= 150 + halo
    interp = va_at_frames(valence, flat, hop_s=1.0, frame_rate_hz=RATE, start_frame=0,
                          n_frames=300)
    assert interp[125, 0] == 0.0 and interp[150, 0] == 0.5 and interp[175, 0] == 1.0


def test_a_window_of_the_control_equals_the_same_frames_of_the_whole_control():
    bundle = tiny_bundle()
    adapter = tiny_adapter(bundle, gamma=1.0)
    rng = np.random.default_rng(0)
    valence, arousal = rng.uniform(-1, 1, 20), rng.uniform(-1, 1, 20)
    with torch.no_grad():
        whole = adapter.control(valence, arousal, hop_s=1.0, start_frame=0, n_frames=1000)
        part = adapter.control(valence, arousal, hop_s=1.0, start_frame=437, n_frames=200)
    assert torch.allclose(whole[:, 437:637], part, atol=1e-6)


def test_guided_batch_gets_the_same_curve_or_none_in_the_null_branch():
    bundle = tiny_bundle()
    adapter = tiny_adapter(bundle, gamma=1.0)
    control = torch.ones(1, 10, bundle.hidden_size)
    same = AffectInjection(bundle, adapter)
    same.set_control(control, guided_batch=2)
    tiled = same._batch(control, 4)
    assert tiled.shape == (4, 10, bundle.hidden_size) and torch.equal(tiled[3], control[0])
    zero = AffectInjection(bundle, adapter, uncond_control="zero")
    zero.set_control(control, guided_batch=2)
    tiled = zero._batch(control, 4)
    assert torch.equal(tiled[1], control[0]) and tiled[2:].abs().sum() == 0
