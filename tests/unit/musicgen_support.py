"""Shared pieces for the test_musicgen_* family: one tiny random MusicGen per process."""

from __future__ import annotations

import functools

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
torch.set_num_threads(1)  # small ops were erratic with two threads on a loaded machine


@functools.cache
def tiny_bundle(melody: bool = False):
    from bridge.render.musicgen.loader import build_random_musicgen

    return build_random_musicgen("tiny", melody=melody, seed=0)


def tiny_adapter(bundle, *, gamma: float | None = None, seed: int = 0, **kwargs):
    """An adapter for ``bundle``; ``gamma`` sets every gate (None keeps the zero init)."""
    from bridge.render.musicgen.adapter import AdapterConfig, AffectAdapter

    torch.manual_seed(seed)
    adapter = AffectAdapter(AdapterConfig.for_model(bundle, channels=16, **kwargs))
    if gamma is not None:
        with torch.no_grad():
            adapter.gamma.fill_(gamma)
    return adapter.eval()
