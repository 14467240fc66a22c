"""The own sampling loop against transformers' generate() on a tiny random MusicGen."""

from __future__ import annotations

import pytest
from musicgen_support import tiny_bundle, torch

from bridge.errors import CancelledError
from bridge.progress import CancelToken
from bridge.render.musicgen.sampling import decode_codes, encode_condition, sample_codes

TEXT = "calm strings"


def _hf_greedy_codes(bundle, *, n_frames, guidance, prompt):
    """Codes transformers' generate() hands to EnCodec (it returns only the waveform)."""
    seen = []
    decode = bundle.model.audio_encoder.decode

    def spy(codes, *args, **kwargs):
        seen.append(codes.clone())
        return decode(codes, *args, **kwargs)

    bundle.model.audio_encoder.decode = spy
    try:
        extra = {} if prompt is None else {"decoder_input_ids": prompt.reshape(-1, prompt.shape[2])}
        tokens = bundle.tokenizer([TEXT], return_tensors="pt")
        bundle.model.generate(**tokens, max_new_tokens=n_frames + bundle.num_codebooks - 1,
                              do_sample=False, guidance_scale=guidance, **extra)
    finally:
        del bundle.model.audio_encoder.decode  # back to the class's method
    return seen[-1][0]


@pytest.mark.parametrize("guidance", [None, 3.0])
@pytest.mark.parametrize("n_prompt", [0, 7])
def test_own_loop_reproduces_transformers_greedy_codes(guidance, n_prompt):
    bundle = tiny_bundle()
    prompt = None
    if n_prompt:
        prompt = torch.randint(0, 64, (1, bundle.num_codebooks, n_prompt),
                               generator=torch.Generator().manual_seed(5))
    expected = _hf_greedy_codes(bundle, n_frames=15, guidance=guidance, prompt=prompt)
    condition = encode_condition(bundle, [TEXT], guidance_scale=guidance or 1.0)
    codes = sample_codes(bundle, condition, n_frames=15, prompt=prompt, greedy=True)
    assert codes.shape == (1, bundle.num_codebooks, n_prompt + 15)
    assert torch.equal(codes, expected)
    if prompt is not None:
        assert torch.equal(codes[:, :, :n_prompt], prompt)


def test_sampling_is_seeded_and_top_k_bounds_the_choice():
    bundle = tiny_bundle()
    condition = encode_condition(bundle, [TEXT], guidance_scale=3.0)

    def run(seed, top_k):
        g = torch.Generator().manual_seed(seed)
        return sample_codes(bundle, condition, n_frames=20, top_k=top_k, generator=g)

    assert torch.equal(run(1, 0), run(1, 0))
    assert not torch.equal(run(1, 0), run(2, 0))
    greedy = sample_codes(bundle, condition, n_frames=20, greedy=True)
    assert torch.equal(run(1, 1), greedy)  # top-1 sampling is greedy


def test_cancel_between_steps_and_progress_per_step():
    bundle = tiny_bundle()
    condition = encode_condition(bundle, [TEXT])
    cancel = CancelToken()
    steps = []

    def on_step(step, total):
        steps.append((step, total))
        if step == 3:
            cancel.cancel()

    with pytest.raises(CancelledError):
        sample_codes(bundle, condition, n_frames=30, greedy=True, on_step=on_step, cancel=cancel)
    assert steps == [(1, 33), (2, 33), (3, 33)]  # 30 frames + 3 steps of codebook delay


def test_decoded_audio_has_one_hop_per_frame():
    bundle = tiny_bundle()
    condition = encode_condition(bundle, [TEXT])
    codes = sample_codes(bundle, condition, n_frames=10, greedy=True)
    audio = decode_codes(bundle, codes)
    assert audio.shape == (1, 10 * bundle.hop_samples) and audio.dtype.name == "float32"


@pytest.mark.parametrize("guidance", [None, 3.0])
@pytest.mark.parametrize("with_chroma", [False, True])
def test_own_loop_reproduces_transformers_greedy_codes_for_melody(guidance, with_chroma):
    import numpy as np

    from bridge.render.musicgen.sampling import chroma_condition

    melody = tiny_bundle(melody=True)
    t = np.arange(32_000) / 32_000
    chroma = chroma_condition((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 32_000,
                              start_s=0.0, duration_s=1.0) if with_chroma else None
    seen = []
    decode = melody.model.audio_encoder.decode

    def spy(codes, *args, **kwargs):
        seen.append(codes.clone())
        return decode(codes, *args, **kwargs)

    melody.model.audio_encoder.decode = spy
    try:
        extra = {} if chroma is None else {"input_features": torch.from_numpy(chroma)}
        tokens = melody.tokenizer([TEXT], return_tensors="pt")
        melody.model.generate(**tokens, max_new_tokens=12 + 3, do_sample=False,
                              guidance_scale=guidance, **extra)
    finally:
        del melody.model.audio_encoder.decode
    condition = encode_condition(melody, [TEXT], guidance_scale=guidance or 1.0, chroma=chroma)
    assert torch.equal(sample_codes(melody, condition, n_frames=12, greedy=True), seen[-1][0])
