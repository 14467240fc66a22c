"""Training the latent affective probe (`scorebridge train-probe`, NarraScore eq. 4).

Targets come from a CSV with columns ``video,time,valence,arousal`` (one row per
annotated frame, e.g. continuous movie-affect annotations resampled to 1 Hz; ``video`` is
a path, relative to the CSV's folder unless absolute; values in [-1, 1]). The frozen
backbone's pooled states for every annotated frame are computed once, in the same
overlapping windows the sensor uses, and cached as safetensors keyed by model, layer,
instruction, video content and times, so probe epochs (and reruns) never touch the
backbone again. Only the probe's parameters are optimised.

Held out for evaluation: the last fifth of the videos (by CSV order) when there are at
least two, else the last fifth of the one video's frames; the command reports Pearson r
and Lin's CCC per dimension on that split.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save

from bridge import media
from bridge.affect.vlm import (
    DEFAULT_FRAME_SIDE,
    DEFAULT_OVERLAP,
    DEFAULT_WINDOW,
    HopFrame,
    clock_s,
    decode_hops,
    windowed,
)
from bridge.affect.vlm_input import INSTRUCTION_VERSION
from bridge.affect.vlm_model import Backbone
from bridge.affect.vlm_probe import AffectProbe, ProbeConfig, emo_loss, save_probe
from bridge.errors import InvalidOptionError, MissingMediaError
from bridge.outputs import atomic_write
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Clip

COLUMNS = ("video", "time", "valence", "arousal")


@dataclass(frozen=True)
class VideoTargets:
    path: Path
    times_s: np.ndarray  # (T,)
    targets: np.ndarray  # (T, 2) valence, arousal


def read_targets(csv_path: str | Path) -> list[VideoTargets]:
    """Rows grouped per video (first-seen order), sorted by time; bad rows name their line."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise MissingMediaError("targets CSV not found", path=csv_path)
    rows: dict[Path, list[tuple[float, float, float]]] = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidOptionError(f"missing columns {', '.join(missing)} (need "
                                     f"{', '.join(COLUMNS)})", path=csv_path)
        for line, row in enumerate(reader, start=2):
            try:
                t, v, a = (float(row[c]) for c in COLUMNS[1:])
            except (TypeError, ValueError):
                raise InvalidOptionError(f"line {line}: time, valence and arousal must be "
                                         "numbers", path=csv_path) from None
            if not all(map(math.isfinite, (t, v, a))) or t < 0 or abs(v) > 1 or abs(a) > 1:
                raise InvalidOptionError(f"line {line}: need time >= 0 and valence, arousal "
                                         "in [-1, 1]", path=csv_path)
            video = Path(row["video"])
            video = video if video.is_absolute() else csv_path.parent / video
            rows.setdefault(video, []).append((t, v, a))
    if not rows:
        raise InvalidOptionError("no target rows", path=csv_path)
    out = []
    for video, values in rows.items():
        if not video.is_file():
            raise MissingMediaError("video named in the targets CSV not found", path=video)
        arr = np.array(sorted(values))
        out.append(VideoTargets(video, arr[:, 0], arr[:, 1:]))
    return out


def _cache_key(backbone: Backbone, video: VideoTargets) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{backbone.source}|{backbone.layer}|{INSTRUCTION_VERSION}|".encode())
    h.update(media.content_key(video.path).encode())
    h.update(np.round(video.times_s, 4).tobytes())
    return h.hexdigest()


def video_states(backbone: Backbone, video: VideoTargets, *, window: int, overlap: int,
                 frame_side: int, cache_dir: Path | None,
                 cancel: CancelToken = NEVER_CANCELLED) -> torch.Tensor:
    """(T, hidden) pooled states of the annotated frames, from the cache when present."""
    cached = cache_dir / f"{_cache_key(backbone, video)}.safetensors" if cache_dir else None
    if cached is not None and cached.is_file():
        return load_file(str(cached))["states"]
    info = media.probe(video.path)
    clip = Clip(name=video.path.name, kind="video", record_start_s=0.0,
                record_end_s=max(info.duration_s, float(video.times_s[-1]) + 1e-3),
                media_path=video.path, media_start_s=0.0)
    hops = [HopFrame(i, float(t), clip, float(t)) for i, t in enumerate(video.times_s)]
    spacing = float(np.median(np.diff(video.times_s))) if len(hops) > 1 else 1.0

    def load(a: int, b: int) -> tuple[list[np.ndarray], list[float]]:
        frames = decode_hops(hops[a:b], hop_s=spacing, width=frame_side, cancel=cancel)
        if any(f is None for f in frames):
            raise MissingMediaError("cannot decode frames for the annotated times",
                                    path=video.path)
        return frames, [clock_s(h.record_s, spacing) for h in hops[a:b]]  # type: ignore[misc]

    def encode(frames: list[np.ndarray], times: list[float]) -> np.ndarray:
        return backbone.pooled_states(frames, times).numpy()

    states = torch.from_numpy(windowed(encode, load, len(hops), window=window,
                                       overlap=overlap, cancel=cancel)).float()
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        blob = save({"states": states.contiguous()})
        atomic_write(cached, lambda f: f.write(blob))
    return states


@dataclass
class TrainReport:
    """What a fit did; the held-out predictions are scored by the command
    (``bridge.train_cli``), which may import the evaluation stage."""

    losses: list[float] = field(default_factory=list)  # training loss per epoch
    n_train: int = 0
    held_out_pred: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    held_out_truth: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def lines(self) -> list[str]:
        if not self.losses:
            return []
        return [f"trained on {self.n_train} frames, held out {len(self.held_out_pred)}; "
                f"loss {self.losses[0]:.4f} -> {self.losses[-1]:.4f}"]


def split(videos: Sequence[VideoTargets], states: Sequence[torch.Tensor]) -> tuple[
        tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(train states, targets), (eval states, targets) as the module docstring says."""
    targets = [torch.from_numpy(v.targets).float() for v in videos]
    if len(videos) >= 2:
        n_eval = max(1, len(videos) // 5)
        train = (torch.cat(list(states[:-n_eval])), torch.cat(targets[:-n_eval]))
        held = (torch.cat(list(states[-n_eval:])), torch.cat(targets[-n_eval:]))
        return train, held
    x, y = states[0], targets[0]
    cut = max(1, len(x) - max(1, len(x) // 5))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def fit_probe(probe: AffectProbe, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
              lr: float, lam: float, seed: int = 0) -> list[float]:
    """Full-batch Adam on eq. 4; returns the loss per epoch. Only ``probe`` is optimised."""
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(probe.parameters(), lr=lr)
    probe.train()
    losses = []
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = emo_loss(probe(x), y, lam)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    probe.eval()
    return losses


def train_probe(csv_path: str | Path, vlm: str, out_dir: str | Path, *, layer: int = -1,
                hidden: int = 256, epochs: int = 300, lr: float = 1e-3, lam: float = 0.5,
                window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP,
                frame_side: int = DEFAULT_FRAME_SIDE, cache_dir: str | Path | None = None,
                seed: int = 0, backbone: Backbone | None = None,
                progress: ProgressFn = no_progress,
                cancel: CancelToken = NEVER_CANCELLED) -> TrainReport:
    """Cache the backbone's states for every annotated frame, fit, predict the held-out
    frames, save."""
    if epochs < 1 or lr <= 0 or lam < 0 or hidden < 1:
        raise InvalidOptionError("need epochs >= 1, lr > 0, lambda >= 0 and hidden >= 1")
    videos = read_targets(csv_path)
    out_dir = Path(out_dir)
    backbone = backbone or Backbone.load(vlm, layer=layer, frame_side=frame_side)
    cache = Path(cache_dir) if cache_dir else out_dir / ".state-cache"
    states = []
    for k, video in enumerate(videos):
        cancel.raise_if_cancelled()
        states.append(video_states(backbone, video, window=window, overlap=overlap,
                                   frame_side=frame_side, cache_dir=cache, cancel=cancel))
        progress("train", (k + 1) / (len(videos) + 1), f"states of {video.path.name}")
    (x, y), (xe, ye) = split(videos, states)
    torch.manual_seed(seed)
    probe = AffectProbe(ProbeConfig(in_dim=backbone.hidden_size, hidden=hidden,
                                    layer=backbone.layer,
                                    model_type=backbone.layout.model_type,
                                    backbone=str(vlm), instruction_version=INSTRUCTION_VERSION,
                                    loss_lambda=lam))
    report = TrainReport(n_train=len(x))
    report.losses = fit_probe(probe, x, y, epochs=epochs, lr=lr, lam=lam, seed=seed)
    report.held_out_pred = probe.predict(xe).numpy() if len(xe) else np.zeros((0, 2))
    report.held_out_truth = ye.numpy()
    save_probe(probe, out_dir)
    progress("train", 1.0, f"probe saved to {out_dir}")
    return report
