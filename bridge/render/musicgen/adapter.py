"""NarraScore's token-level affect adapter: F_phi (eq. 5) and the shallow-block injection (eq. 6).

``va_at_frames`` interpolates the per-second valence/arousal curve to the decoder's frame rate at
absolute frame numbers; ``AffectAdapter`` (phi: dilated 1-D convolutions, then 2 -> D) turns it
into C_local; ``AffectInjection`` adds gamma_l * C_local to the output of the first L_shallow
decoder blocks through forward hooks, so transformers' code is never edited and the base model
comes back untouched when the injection is removed or switched off.

Decoder column p predicts codebook k of frame p - k, so column p is given C_local of frame p
(codebook 0's frame, the one the step is really about). The position is read from the cache
length seen by a pre-hook on the decoder, never from counting calls, so prefill, single steps
and teacher forcing all line up.

Guidance: the unconditional half of the decoder batch receives the *same* curve by default.
The adapter was trained with the text present, and giving the null branch a neutral curve would
multiply the affect's effect by the guidance scale (cond - uncond would then contain it), making
the strength of the steering depend on an unrelated knob. ``uncond_control="zero"`` gives the
null branch no control instead, for users who want guidance to amplify the affect too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.render.musicgen import require_neural

require_neural()
import torch  # noqa: E402  (after the install hint)
from torch import nn  # noqa: E402

ADAPTER_FORMAT = "scorebridge-affect-adapter/1"


def va_at_frames(valence: np.ndarray, arousal: np.ndarray, *, hop_s: float, frame_rate_hz: float,
                 start_frame: int, n_frames: int) -> np.ndarray:
    """(n_frames, 2) valence/arousal linearly interpolated at absolute decoder frames.

    Value i of the curve describes [i*hop_s, (i+1)*hop_s), so its knot is the hop's centre;
    frames outside the curve hold the nearest value (np.interp clamps).
    """
    knots_s = (np.arange(len(valence)) + 0.5) * hop_s
    times_s = (start_frame + np.arange(n_frames)) / frame_rate_hz
    return np.stack([np.interp(times_s, knots_s, valence),
                     np.interp(times_s, knots_s, arousal)], axis=1).astype(np.float32)


@dataclass(frozen=True)
class AdapterConfig:
    hidden_size: int  # D, the decoder's width
    num_layers: int  # decoder blocks of the model it fits
    shallow_layers: int  # L_shallow: blocks 0..L_shallow-1 receive the control
    frame_rate_hz: float = 50.0
    channels: int = 64
    kernel_size: int = 3
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    base_model: str = ""  # where the model it was trained on came from (informative)

    @classmethod
    def for_model(cls, bundle, *, shallow_fraction: float = 0.75, **kwargs) -> AdapterConfig:
        """Default: the first 75 % of the blocks (the paper's ablation)."""
        if not 0.0 < shallow_fraction <= 1.0:
            raise InvalidOptionError("shallow_fraction must be in (0, 1]", field="shallow_fraction")
        shallow = max(1, round(bundle.num_layers * shallow_fraction))
        return cls(hidden_size=bundle.hidden_size, num_layers=bundle.num_layers,
                   shallow_layers=shallow, frame_rate_hz=bundle.frame_rate_hz,
                   base_model=bundle.source, **kwargs)

    @property
    def receptive_field_frames(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    @property
    def halo_frames(self) -> int:
        """Frames each side that influence one output frame."""
        return (self.receptive_field_frames - 1) // 2


class AffectAdapter(nn.Module):
    """F_phi: (B, T, 2) VA at the frame rate -> C_local (B, T, D); plus the gates gamma."""

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        convs = []
        for i, d in enumerate(config.dilations):
            convs.append(nn.Conv1d(2 if i == 0 else c, c, config.kernel_size, dilation=d,
                                   padding=d * (config.kernel_size - 1) // 2))
        self.convs = nn.ModuleList(convs)
        self.act = nn.LeakyReLU(0.1)
        self.project = nn.Linear(c, config.hidden_size)
        # one learnable scalar per injected block, zero so training starts from the base model
        self.gamma = nn.Parameter(torch.zeros(config.shallow_layers))

    def forward(self, va: torch.Tensor) -> torch.Tensor:
        x = va.transpose(1, 2)
        for conv in self.convs:
            x = self.act(conv(x))
        return self.project(x.transpose(1, 2))

    def control(self, valence: np.ndarray, arousal: np.ndarray, *, hop_s: float,
                start_frame: int, n_frames: int) -> torch.Tensor:
        """C_local for absolute frames [start_frame, start_frame + n_frames), shape (1, n, D).

        Computed on the span widened by the receptive field's halo and cropped, so a window's
        control equals the same frames of the whole timeline's control: memory follows the
        window, not the timeline.
        """
        halo = self.config.halo_frames
        va = va_at_frames(valence, arousal, hop_s=hop_s, frame_rate_hz=self.config.frame_rate_hz,
                          start_frame=start_frame - halo, n_frames=n_frames + 2 * halo)
        param = self.project.weight
        out = self(torch.from_numpy(va)[None].to(param.device, param.dtype))
        return out[:, halo:halo + n_frames]


class AffectInjection:
    """Hooks that add gamma_l * C_local to blocks 0..L_shallow-1 of a MusicGen decoder.

    Use as a context manager or ``attach()``/``remove()``. ``set_control(C)`` gives the control
    for window-local frames 0.. (column p of the decoder gets C[:, p]); ``enabled = False`` is
    the switch back to the base model.
    """

    def __init__(self, bundle, adapter: AffectAdapter, *, uncond_control: str = "same") -> None:
        cfg = adapter.config
        if cfg.hidden_size != bundle.hidden_size or cfg.num_layers != bundle.num_layers:
            raise InvalidOptionError(
                f"the adapter fits a decoder of {cfg.num_layers} blocks x {cfg.hidden_size}, the "
                f"model has {bundle.num_layers} x {bundle.hidden_size}", field="adapter")
        if uncond_control not in ("same", "zero"):
            raise InvalidOptionError("uncond_control must be 'same' or 'zero'",
                                     field="uncond_control")
        self.bundle = bundle
        self.adapter = adapter
        self.uncond_control = uncond_control
        self.enabled = True
        self.control: torch.Tensor | None = None
        self.guided_batch: int | None = None  # B when the decoder batch is [cond; uncond] = 2B
        self._handles: list = []
        self._offset = 0  # audio position of this call's first audio column
        self._prefix_now = 0  # conditioning columns at the front of this call (Melody)
        self._prefix = 0  # conditioning columns held in the cache (Melody)
        self.blocks_seen: list[int] = []  # blocks the hooks injected into on the last call

    # -- lifecycle
    def attach(self) -> AffectInjection:
        if self._handles:
            return self
        decoder = self.bundle.decoder
        self._handles.append(decoder.register_forward_pre_hook(self._before_decoder,
                                                               with_kwargs=True))
        for index in range(self.adapter.config.shallow_layers):
            self._handles.append(decoder.layers[index].register_forward_hook(
                self._after_block(index)))
        return self

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> AffectInjection:
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.remove()

    def set_control(self, control: torch.Tensor | None, *, guided_batch: int | None = None) -> None:
        """control (B or 1, T, D) for window-local frames; guided_batch: B under guidance."""
        self.control = control
        self.guided_batch = guided_batch

    # -- hooks
    def _before_decoder(self, module, args, kwargs):
        cache = kwargs.get("cache", kwargs.get("past_key_values"))
        cached = cache.get_seq_length() if cache is not None else 0
        if cached == 0:
            # Melody prepends its conditioning to the decoder input on the first call
            encoder_states = kwargs.get("encoder_hidden_states")
            melody = "Melody" in type(module).__name__
            self._prefix = encoder_states.shape[1] if melody and encoder_states is not None else 0
            self._prefix_now = self._prefix
        else:
            self._prefix_now = 0
        self._offset = cached - self._prefix + self._prefix_now
        self.blocks_seen = []
        return None

    def _after_block(self, index: int):
        def hook(module, args, output):
            if not self.enabled or self.control is None:
                return None
            hidden = output[0] if isinstance(output, tuple) else output
            start = self._offset
            n = hidden.shape[1] - self._prefix_now
            control = self.control[:, start:start + n]
            if control.shape[1] != n:
                raise InvalidOptionError(
                    f"affect control covers {self.control.shape[1]} frames, the decoder reached "
                    f"frame {start + n}", field="control")
            control = self._batch(control, hidden.shape[0]).to(hidden.dtype)
            delta = self.adapter.gamma[index].to(hidden.dtype) * control
            if self._prefix_now:
                delta = torch.cat([delta.new_zeros(hidden.shape[0], self._prefix_now,
                                                   hidden.shape[2]), delta], dim=1)
            self.blocks_seen.append(index)
            hidden = hidden + delta
            return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

        return hook

    def _batch(self, control: torch.Tensor, batch: int) -> torch.Tensor:
        guided = self.guided_batch
        if guided is not None and batch == 2 * guided:
            cond = control.expand(guided, -1, -1)
            uncond = cond if self.uncond_control == "same" else torch.zeros_like(cond)
            return torch.cat([cond, uncond], dim=0)
        return control.expand(batch, -1, -1)


# ------------------------------------------------------------------ checkpoints


def save_adapter(adapter: AffectAdapter, path: Path, *, extra: dict | None = None) -> None:
    """safetensors holding only phi and gamma, with the config it fits in the metadata."""
    from safetensors.torch import save_file

    meta = {"format": ADAPTER_FORMAT, "config": json.dumps(_config_dict(adapter.config))}
    if extra:
        meta["extra"] = json.dumps(extra)
    state = {k: v.detach().to("cpu", torch.float32).contiguous()
             for k, v in adapter.state_dict().items()}
    tmp = path.with_name(path.name + ".part")
    save_file(state, str(tmp), metadata=meta)
    tmp.replace(path)


def load_adapter(path: Path, *, bundle=None) -> AffectAdapter:
    """An adapter from ``save_adapter``; with ``bundle``, checked against that model's shape."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InvalidOptionError("no adapter file here", path=path, field="adapter")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except Exception as err:  # safetensors raises its own error types
        raise InvalidOptionError(f"not a safetensors adapter ({err})", path=path,
                                 field="adapter") from err
    if meta.get("format") != ADAPTER_FORMAT:
        raise InvalidOptionError(f"not a Scorebridge affect adapter (format "
                                 f"{meta.get('format')!r})", path=path, field="adapter")
    raw = json.loads(meta["config"])
    raw["dilations"] = tuple(raw["dilations"])
    config = AdapterConfig(**raw)
    if bundle is not None and (config.hidden_size, config.num_layers) != (
            bundle.hidden_size, bundle.num_layers):
        raise InvalidOptionError(
            f"adapter fits a decoder of {config.num_layers} blocks x {config.hidden_size}; "
            f"{bundle.source} has {bundle.num_layers} x {bundle.hidden_size}",
            path=path, field="adapter")
    adapter = AffectAdapter(config)
    adapter.load_state_dict(state)
    if bundle is not None:
        adapter.to(bundle.device)
    return adapter


def _config_dict(config: AdapterConfig) -> dict:
    out = asdict(config)
    out["dilations"] = list(config.dilations)
    return out


__all__ = ["AdapterConfig", "AffectAdapter", "AffectInjection", "load_adapter", "save_adapter",
           "va_at_frames"]
