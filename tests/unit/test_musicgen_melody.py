"""Plan-guided mode: MusicGen-Melody conditioned on the chroma of the plan's rendering."""

from __future__ import annotations

import numpy as np
import pytest
from musicgen_support import tiny_adapter, tiny_bundle, torch

from bridge.errors import InvalidOptionError
from bridge.render.musicgen.adapter import AffectInjection
from bridge.render.musicgen.generate import GenerationSettings, generate_long
from bridge.render.musicgen.sampling import chroma_condition, encode_condition, sample_codes

SR = 32_000


def _tone(freq, seconds=2.0):
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_chroma_of_a_tone_is_its_pitch_class():
    chroma = chroma_condition(_tone(440.0), SR, start_s=0.5, duration_s=1.0)
    assert chroma.shape[0] == 1 and chroma.shape[2] == 12
    assert (chroma.argmax(axis=2) == 9).all()  # A
    assert np.array_equal(chroma.sum(axis=2), np.ones(chroma.shape[:2]))


def test_chroma_steers_the_melody_model_and_plain_musicgen_refuses_it():
    melody = tiny_bundle(melody=True)
    a = encode_condition(melody, ["calm"], chroma=chroma_condition(_tone(440.0), SR, start_s=0,
                                                                    duration_s=1.0))
    c = encode_condition(melody, ["calm"], chroma=chroma_condition(_tone(261.6), SR, start_s=0,
                                                                    duration_s=1.0))
    ids = torch.randint(0, 64, (4, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        la = melody.model(decoder_input_ids=ids, **a.first_kwargs).logits
        lc = melody.model(decoder_input_ids=ids, **c.first_kwargs).logits
    # the audio columns' predictions depend on the pitch class (random weights: small but real)
    assert (la[:, -12:] - lc[:, -12:]).abs().max() > 1e-3
    guided = encode_condition(melody, ["calm"], guidance_scale=3.0,
                              chroma=chroma_condition(_tone(440.0), SR, start_s=0, duration_s=1.0))
    assert guided.first_kwargs["encoder_hidden_states"].shape[0] == 2
    with pytest.raises(InvalidOptionError, match="MusicGen-Melody"):
        encode_condition(tiny_bundle(), ["calm"], chroma=np.zeros((1, 5, 12)))


def test_injection_lines_up_after_melody_conditioning_prefix():
    melody = tiny_bundle(melody=True)
    condition = encode_condition(melody, ["calm"], guidance_scale=3.0)
    base = sample_codes(melody, condition, n_frames=24, greedy=True)
    adapter = tiny_adapter(melody, gamma=2.0)
    with AffectInjection(melody, adapter) as injection:
        zero = torch.zeros(1, 30, melody.hidden_size)
        injection.set_control(zero)
        assert torch.equal(sample_codes(melody, condition, n_frames=24, greedy=True,
                                        injection=injection), base)
        late = zero.clone()
        late[:, 12:] = torch.randn(1, 18, melody.hidden_size, generator=torch.Generator()
                                   .manual_seed(0)) * 5
        injection.set_control(late)
        steered = sample_codes(melody, condition, n_frames=24, greedy=True, injection=injection)
    # column p carries codebook k of frame p - k: nothing before column 12 may change
    for k in range(melody.num_codebooks):
        assert torch.equal(steered[0, k, :12 - k], base[0, k, :12 - k])
    assert not torch.equal(steered, base)


def test_plan_guided_long_form_reads_each_windows_chroma():
    melody = tiny_bundle(melody=True)
    plan_audio = np.concatenate([_tone(440.0, 0.4), _tone(261.6, 0.4)])
    settings = GenerationSettings(window_s=0.4, overlap_s=0.1, guidance_scale=3.0, top_k=4)
    results = list(generate_long(melody, text="calm", duration_s=0.7, settings=settings,
                                 melody_audio=(plan_audio, SR)))
    assert [r.window.start_frame for r in results] == [0, 15]
    assert torch.equal(results[1].codes[:, :, :5], results[0].codes[:, :, -5:])
    assert sum(len(r.audio) for r in results) == 35 * melody.hop_samples
