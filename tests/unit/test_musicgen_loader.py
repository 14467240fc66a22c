"""Loading MusicGen: local folders, clear one-line errors for missing torch or weights."""

from __future__ import annotations

import sys

import pytest
from musicgen_support import tiny_bundle, torch

from bridge.errors import BackendUnavailableError, InvalidOptionError
from bridge.render.musicgen import neural_unavailable_reason, require_neural
from bridge.render.musicgen.loader import load_musicgen


def test_missing_torch_is_one_line_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # what an absent package looks like
    reason = neural_unavailable_reason()
    assert reason.startswith("torch not installed; ") and "pip install" in reason
    assert "\n" not in reason
    with pytest.raises(BackendUnavailableError, match="torch not installed"):
        load_musicgen("/nowhere")
    with pytest.raises(BackendUnavailableError):
        require_neural()


def test_missing_weights_name_the_folder_and_the_readme(tmp_path):
    missing = tmp_path / "musicgen-small"
    with pytest.raises(BackendUnavailableError) as err:
        load_musicgen(missing)
    assert str(err.value) == (f"{missing}: no MusicGen weights at {missing}; "
                              "see README › Neural backend")
    missing.mkdir()
    with pytest.raises(BackendUnavailableError, match="no MusicGen weights"):
        load_musicgen(missing)


def test_a_saved_folder_loads_back_with_the_same_logits(tmp_path):
    bundle = tiny_bundle()
    bundle.model.save_pretrained(tmp_path)
    with pytest.raises(BackendUnavailableError, match="no tokenizer"):
        load_musicgen(tmp_path)
    bundle.tokenizer.save_pretrained(tmp_path)
    loaded = load_musicgen(tmp_path, device="cpu", dtype="float32")
    assert loaded.num_codebooks == 4 and loaded.frame_rate_hz == 50.0
    ids = torch.randint(0, 64, (4, 9), generator=torch.Generator().manual_seed(0))
    tokens = bundle.tokenizer(["calm strings"], return_tensors="pt")
    with torch.no_grad():
        a = bundle.model(**tokens, decoder_input_ids=ids).logits
        b = loaded.model(**tokens, decoder_input_ids=ids).logits
    assert torch.equal(a, b)
    bf16 = load_musicgen(tmp_path, dtype="bfloat16")
    assert bf16.dtype == torch.bfloat16


def test_dtype_and_device_are_checked():
    with pytest.raises(InvalidOptionError, match="float16 runs on a GPU only"):
        load_musicgen("/nowhere", dtype="float16")
    with pytest.raises(InvalidOptionError, match="dtype must be one of"):
        load_musicgen("/nowhere", dtype="int8")
