"""Neural music backend: transformers' MusicGen steered by NarraScore's affect adapter.

Only the modules in this package import torch and transformers, and only when called:
importing ``bridge.render.musicgen`` costs nothing and works without them.

- ``loader``: ``load_musicgen(path_or_id, device, dtype)`` and random models built from configs;
- ``adapter``: the temporal super-resolution adapter F_phi (eq. 5) and the token-level injection
  h' = h + gamma * C_local on the shallow decoder blocks (eq. 6), by hooks;
- ``sampling``: an own sampling loop (delay pattern, cache, batched guidance, top-k) that keeps
  the codes;
- ``generate``: long-form windows prompted with the previous window's last codes (section 3.6);
- ``train``: adapter training on (audio, per-second VA, caption) data (eq. 7).
"""

from __future__ import annotations

import importlib.util

INSTALL_HINT = (
    "the neural backend needs torch and transformers: pip install 'scorebridge[neural]' "
    "(install torch for your GPU first, see README › Neural backend)"
)


def neural_unavailable_reason() -> str:
    """"" when torch and transformers import, else the one-line reason (imports neither)."""
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed; {INSTALL_HINT}"
    return ""


def require_neural() -> None:
    """``BackendUnavailableError`` with the install hint when torch/transformers are absent."""
    reason = neural_unavailable_reason()
    if reason:
        from bridge.errors import BackendUnavailableError

        raise BackendUnavailableError(reason)
