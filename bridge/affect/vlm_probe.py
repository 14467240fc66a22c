"""The latent affective probe (NarraScore eq. 3-4): pooled frame states -> (valence, arousal).

Imports torch at the top: only bridge.affect.vlm imports this module, lazily, after it
has checked that the neural extra is installed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save
from torch import nn

from bridge.errors import BackendUnavailableError, InvalidOptionError
from bridge.outputs import atomic_write, write_text_atomic

PROBE_WEIGHTS = "probe.safetensors"
PROBE_CONFIG = "probe.json"


@dataclass(frozen=True)
class ProbeConfig:
    """What a probe was trained on; a probe only fits the backbone layer it was trained on."""

    in_dim: int
    hidden: int = 256
    dropout: float = 0.1
    layer: int = -1  # index into the backbone's hidden states (0 = embeddings)
    model_type: str = ""
    backbone: str = ""  # folder or hub id the states came from
    instruction_version: str = ""
    loss_lambda: float = 0.5


class AffectProbe(nn.Module):
    """A two-layer MLP on the mean-pooled hidden states of one frame."""

    def __init__(self, config: ProbeConfig) -> None:
        super().__init__()
        self.config = config
        self.mlp = nn.Sequential(
            nn.LayerNorm(config.in_dim),  # VLM states differ in scale between layers
            nn.Linear(config.in_dim, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 2),
        )

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        """Unclipped (T, 2): training uses these so the loss keeps a gradient at the edges."""
        return self.mlp(pooled)

    @torch.no_grad()
    def predict(self, pooled: torch.Tensor) -> torch.Tensor:
        """(T, 2) valence, arousal clipped to [-1, 1] (eq. 3)."""
        return self(pooled.to(self.mlp[1].weight.dtype)).clamp(-1.0, 1.0)


def emo_loss(pred: torch.Tensor, target: torch.Tensor, lam: float) -> torch.Tensor:
    """Eq. 4: (1/T) Σ_t ‖ê_t − e_t‖² + λ ‖ê_t − e_t‖₁."""
    diff = pred - target
    return (diff.pow(2).sum(dim=-1) + lam * diff.abs().sum(dim=-1)).mean()


def save_probe(probe: AffectProbe, folder: Path) -> None:
    """Weights as safetensors plus the config as JSON, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in probe.state_dict().items()}
    blob = save(tensors, metadata={"format": "pt"})
    atomic_write(folder / PROBE_WEIGHTS, lambda f: f.write(blob))
    write_text_atomic(folder / PROBE_CONFIG, json.dumps(asdict(probe.config), indent=2))


def load_probe(folder: str | Path) -> AffectProbe:
    folder = Path(folder)
    weights, config_path = folder / PROBE_WEIGHTS, folder / PROBE_CONFIG
    if not weights.is_file() or not config_path.is_file():
        raise BackendUnavailableError(
            f"no probe here: need {PROBE_WEIGHTS} and {PROBE_CONFIG} "
            "(train one with `scorebridge train-probe`)", path=folder, field="probe")
    try:
        config = ProbeConfig(**json.loads(config_path.read_text()))
    except (ValueError, TypeError) as err:
        raise InvalidOptionError(f"unreadable probe config: {err}", path=config_path,
                                 field="probe") from None
    probe = AffectProbe(config)
    try:
        probe.load_state_dict(load_file(str(weights)))
    except (RuntimeError, OSError) as err:
        first = str(err).strip().splitlines()[0]
        raise InvalidOptionError(f"probe weights do not match its config: {first}",
                                 path=weights, field="probe") from None
    return probe.eval()
