"""What the neural backends would run on: torch and transformers, and the GPU torch sees.

One of the modules allowed to import torch; it does so only inside ``describe`` and only
when torch is installed, so ``scorebridge doctor`` stays quick without the neural extra.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass


@dataclass(frozen=True)
class NeuralRuntime:
    torch: str | None  # installed version, None when absent
    transformers: str | None
    device: str  # "cuda: NVIDIA H100 ...", "mps", "cpu", or "" when torch is absent


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe() -> NeuralRuntime:
    """Versions from the package metadata; the device from torch itself when it is there."""
    torch_version, transformers_version = _installed("torch"), _installed("transformers")
    device = ""
    if torch_version is not None:
        import torch

        if torch.cuda.is_available():
            device = f"cuda: {torch.cuda.get_device_name(0)}"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps (Apple GPU)"
        else:
            device = "cpu"
    return NeuralRuntime(torch_version, transformers_version, device)
