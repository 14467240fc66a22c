"""Training the affect adapter (NarraScore eq. 7): only phi and gamma learn; MusicGen is frozen.

Data: (audio, valence/arousal over time, caption) from a plain folder (``name.wav`` +
``name.json``) or DEAM/PMEmo-style CSV annotations. Audio is encoded by the model's EnCodec
once and the codes are cached on disk. Each step teacher-forces the delayed code layout with
the caption as the text condition and the control injected, and minimises the decoder's
cross-entropy averaged over codebooks. Checkpoints hold only the adapter (safetensors) plus a
``.state.pt`` sidecar (optimizer, step) so training resumes where it stopped.

Note: with gamma = 0 the gradient reaching phi is exactly zero at the first step (it is
multiplied by gamma); gamma moves first, then phi.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.render.musicgen import require_neural

require_neural()
import torch  # noqa: E402

from bridge.render.musicgen.adapter import (  # noqa: E402
    AdapterConfig,
    AffectAdapter,
    AffectInjection,
    load_adapter,
    save_adapter,
)
from bridge.render.musicgen.sampling import encode_condition  # noqa: E402

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a")


@dataclass(frozen=True, eq=False)
class Example:
    audio_path: Path
    times_s: np.ndarray  # annotation times
    valence: np.ndarray  # in [-1, 1]
    arousal: np.ndarray
    caption: str = ""


# ------------------------------------------------------------------ datasets


def load_folder_dataset(folder: Path) -> list[Example]:
    """``name.wav`` (or flac/mp3/ogg/m4a) beside ``name.json`` holding
    {"hop_s": 1.0, "valence": [...], "arousal": [...], "caption": "..."}; value i describes
    [i*hop_s, (i+1)*hop_s) like the pipeline's affect curve."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidOptionError("training data folder not found", path=folder, field="data")
    examples = []
    for meta_path in sorted(folder.glob("*.json")):
        audio = next((meta_path.with_suffix(s) for s in AUDIO_SUFFIXES
                      if meta_path.with_suffix(s).is_file()), None)
        if audio is None:
            raise InvalidOptionError("no audio file beside it", path=meta_path, field="data")
        try:
            meta = json.loads(meta_path.read_text())
            hop_s = float(meta.get("hop_s", 1.0))
            valence = np.asarray(meta["valence"], dtype=float)
            arousal = np.asarray(meta["arousal"], dtype=float)
        except (ValueError, KeyError, TypeError) as err:
            raise InvalidOptionError(f"needs hop_s, valence and arousal ({err})",
                                     path=meta_path, field="data") from err
        if len(valence) != len(arousal) or len(valence) == 0:
            raise InvalidOptionError("valence and arousal must be equally long and not empty",
                                     path=meta_path, field="data")
        times = (np.arange(len(valence)) + 0.5) * hop_s
        examples.append(Example(audio, times, _checked(valence, meta_path),
                                _checked(arousal, meta_path), str(meta.get("caption", ""))))
    if not examples:
        raise InvalidOptionError("no name.json + audio pairs", path=folder, field="data")
    return examples


def load_csv_dataset(annotations: Path, audio_dir: Path, *, captions: Path | None = None,
                     value_range: str = "auto") -> list[Example]:
    """DEAM/PMEmo-style dynamic annotations.

    Long form (PMEmo ``dynamic_annotations.csv``): one row per (id, time) with columns like
    ``musicId, frameTime, Arousal(mean), Valence(mean)``. Wide form (DEAM ``arousal.csv`` /
    ``valence.csv``): one row per song, columns ``song_id, sample_15000ms, ...``; pass the
    arousal file and its ``valence`` sibling is found by name. ``value_range``: "-1..1",
    "0..1" (mapped to -1..1), or "auto" (0..1 when no value is negative).
    Audio: ``audio_dir/<id>.<wav|mp3|...>``; captions: optional CSV ``id,caption``.
    """
    annotations, audio_dir = Path(annotations), Path(audio_dir)
    header, rows = _read_csv(annotations)
    lowered = [h.strip().lower() for h in header]
    if any(re.fullmatch(r"sample_\d+ms", h) for h in lowered):
        series = _wide_series(annotations, header, rows)
    else:
        series = _long_series(annotations, lowered, rows)
    caption_of = {}
    if captions is not None:
        _, caption_rows = _read_csv(Path(captions))
        caption_of = {r[0].strip(): r[1].strip() for r in caption_rows if len(r) >= 2}
    values = np.concatenate([np.concatenate([v, a]) for _, v, a in series.values()])
    if value_range == "auto":
        value_range = "0..1" if values.min() >= 0 else "-1..1"
    if value_range not in ("0..1", "-1..1"):
        raise InvalidOptionError("value_range must be -1..1, 0..1 or auto", field="value_range")
    examples = []
    for song, (times, valence, arousal) in sorted(series.items()):
        if value_range == "0..1":
            valence, arousal = 2 * valence - 1, 2 * arousal - 1
        audio = next((audio_dir / f"{song}{s}" for s in AUDIO_SUFFIXES
                      if (audio_dir / f"{song}{s}").is_file()), None)
        if audio is None:
            raise InvalidOptionError(f"no audio for song {song!r} in {audio_dir}",
                                     path=annotations, field="data")
        examples.append(Example(audio, times, _checked(valence, annotations),
                                _checked(arousal, annotations), caption_of.get(song, "")))
    return examples


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise InvalidOptionError("annotation file not found", path=path, field="data")
    with path.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InvalidOptionError("no annotation rows", path=path, field="data")
    return rows[0], rows[1:]


def _column(lowered: list[str], path: Path, *needles: str) -> int:
    for i, name in enumerate(lowered):
        if any(n in name for n in needles):
            return i
    raise InvalidOptionError(f"no column named like {' / '.join(needles)}", path=path,
                             field="data")


def _long_series(path, lowered, rows):
    c_id = _column(lowered, path, "musicid", "song_id", "id")
    c_t = _column(lowered, path, "frametime", "time")
    c_a, c_v = _column(lowered, path, "arousal"), _column(lowered, path, "valence")
    grouped: dict[str, list[tuple[float, float, float]]] = {}
    for line, r in enumerate(rows, start=2):
        try:
            grouped.setdefault(r[c_id].strip(), []).append(
                (float(r[c_t]), float(r[c_v]), float(r[c_a])))
        except (ValueError, IndexError) as err:
            raise InvalidOptionError(f"line {line}: {err}", path=path, field="data") from err
    out = {}
    for song, triples in grouped.items():
        t, v, a = map(np.asarray, zip(*sorted(triples)))
        out[song] = (t, v, a)
    return out


def _wide_series(path, header, rows):
    sibling = path.with_name(path.name.lower().replace("arousal", "valence"))
    if "arousal" not in path.name.lower() or not sibling.is_file():
        raise InvalidOptionError("wide (DEAM) form: pass arousal.csv with valence.csv beside it",
                                 path=path, field="data")
    v_header, v_rows = _read_csv(sibling)

    def by_song(head, body, file):
        times = {i: int(m.group(1)) / 1000 for i, h in enumerate(head)
                 if (m := re.fullmatch(r"sample_(\d+)ms", h.strip().lower()))}
        out = {}
        for line, r in enumerate(body, start=2):
            try:
                cells = [(t, float(r[i])) for i, t in times.items() if i < len(r) and r[i].strip()]
            except ValueError as err:
                raise InvalidOptionError(f"line {line}: {err}", path=file, field="data") from err
            out[r[0].strip()] = dict(cells)
        return out

    arousal, valence = by_song(header, rows, path), by_song(v_header, v_rows, sibling)
    out = {}
    for song, a in arousal.items():
        common = sorted(set(a) & set(valence.get(song, {})))
        if common:
            out[song] = (np.asarray(common), np.asarray([valence[song][t] for t in common]),
                         np.asarray([a[t] for t in common]))
    return out


def _checked(values: np.ndarray, path: Path) -> np.ndarray:
    if not np.all(np.isfinite(values)) or np.abs(values).max() > 1.0 + 1e-6:
        raise InvalidOptionError("affect values must be finite and within -1..1", path=path,
                                 field="data")
    return values.astype(np.float32)


# ------------------------------------------------------------------ codes, once


def cached_codes(bundle, example: Example, cache_dir: Path) -> np.ndarray:
    """(K, T) EnCodec codes of the example's audio, computed once per model and file."""
    from bridge.media import decode_audio

    stat = example.audio_path.stat()
    config = bundle.model.config.audio_encoder
    key = hashlib.sha1(json.dumps([str(example.audio_path.resolve()), stat.st_size,
                                   stat.st_mtime_ns, bundle.source, config.codebook_size,
                                   bundle.num_codebooks]).encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"{example.audio_path.stem}-{key}.npy"
    if path.is_file():
        return np.load(path)
    audio = decode_audio(example.audio_path, sr=bundle.sampling_rate)
    with torch.no_grad():
        values = torch.from_numpy(audio)[None, None].to(bundle.device, bundle.dtype)
        codes = bundle.model.audio_encoder.encode(values).audio_codes[0, 0]
    codes = codes.cpu().numpy().astype(np.int64)
    if codes.shape[0] != bundle.num_codebooks:
        raise InvalidOptionError(
            f"EnCodec gave {codes.shape[0]} codebooks, the decoder reads {bundle.num_codebooks}",
            path=example.audio_path, field="model")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npy")
    np.save(tmp, codes)
    tmp.replace(path)
    return codes


# ------------------------------------------------------------------ the loss (eq. 7)


@dataclass(frozen=True, eq=False)
class Segment:
    codes: np.ndarray  # (K, T)
    va: np.ndarray  # (T + 2 * halo, 2) at the frame rate, halo frames each side
    caption: str


def make_segments(bundle, examples: list[Example], *, segment_s: float, halo: int,
                  cache_dir: Path) -> list[Segment]:
    """Clips of ``segment_s`` with half overlap (the paper used 30 s with 15 s)."""
    rate = bundle.frame_rate_hz
    n = max(1, round(segment_s * rate))
    segments = []
    for example in examples:
        codes = cached_codes(bundle, example, cache_dir)
        frames = np.arange(-halo, codes.shape[1] + halo) / rate
        va = np.stack([np.interp(frames, example.times_s, example.valence),
                       np.interp(frames, example.times_s, example.arousal)], 1)
        for start in range(0, codes.shape[1] - n + 1, max(1, n // 2)):
            segments.append(Segment(codes[:, start:start + n],
                                    va[start:start + n + 2 * halo].astype(np.float32),
                                    example.caption))
    if not segments:
        raise InvalidOptionError(f"every clip is shorter than the {segment_s} s segment",
                                 field="segment_s")
    return segments


def delayed_batch(codes: torch.Tensor, *, start: int, pad: int) -> tuple[torch.Tensor,
                                                                       torch.Tensor]:
    """(B, K, T) codes -> decoder inputs (B*K, T+K-1) and targets (B, K, T+K-1), -100 where no
    code is due (the delay pattern's start and end padding)."""
    batch, k_books, n = codes.shape
    layout = torch.full((batch, k_books, n + k_books), pad, dtype=torch.long,
                        device=codes.device)
    targets = torch.full_like(layout, -100)
    for k in range(k_books):
        layout[:, k, :1 + k] = start
        layout[:, k, 1 + k:1 + k + n] = codes[:, k]
        targets[:, k, 1 + k:1 + k + n] = codes[:, k]
    return layout[:, :, :-1].reshape(batch * k_books, -1), targets[:, :, 1:]


def adapter_loss(bundle, adapter: AffectAdapter, injection: AffectInjection,
                 segments: list[Segment]) -> torch.Tensor:
    """Cross-entropy of the frozen decoder with the control injected (mean over codebooks)."""
    device = bundle.device
    codes = torch.as_tensor(np.stack([s.codes for s in segments]), device=device)
    va = torch.as_tensor(np.stack([s.va for s in segments]), device=device, dtype=bundle.dtype)
    halo = adapter.config.halo_frames
    n = codes.shape[2]
    control = adapter(va)[:, halo:halo + n]
    # decoder column p gets frame p's control; the last K-1 columns repeat the last frame
    control = torch.cat([control, control[:, -1:].expand(-1, bundle.num_codebooks, -1)], dim=1)
    injection.set_control(control)
    ids, targets = delayed_batch(codes, start=bundle.start_token_id, pad=bundle.pad_token_id)
    condition = encode_condition(bundle, [s.caption for s in segments])
    logits = bundle.model(decoder_input_ids=ids, **condition.first_kwargs).logits
    logits = logits.reshape(len(segments), bundle.num_codebooks, -1, logits.shape[-1])
    losses = [torch.nn.functional.cross_entropy(logits[:, k].reshape(-1, logits.shape[-1]).float(),
                                                targets[:, k].reshape(-1), ignore_index=-100)
              for k in range(bundle.num_codebooks)]
    return torch.stack(losses).mean()


# ------------------------------------------------------------------ the loop


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 1000
    lr: float = 1e-4
    batch_size: int = 4
    segment_s: float = 30.0
    shallow_fraction: float = 0.75
    seed: int = 0
    save_every: int = 100


def train_adapter(bundle, examples: list[Example], out_path: Path, *,
                  settings: TrainSettings = TrainSettings(), cache_dir: Path | None = None,
                  resume: bool = False, adapter_config: AdapterConfig | None = None,
                  log: Callable[[int, float], None] | None = None) -> AffectAdapter:
    """Train phi and gamma on ``examples``; save to ``out_path`` every ``save_every`` steps and
    at the end. ``resume`` continues from ``out_path`` and its ``.state.pt``."""
    out_path = Path(out_path)
    state_path = out_path.with_name(out_path.name + ".state.pt")
    cache_dir = Path(cache_dir) if cache_dir else out_path.parent / "code-cache"
    bundle.model.requires_grad_(False)
    step = 0
    if resume and out_path.is_file():
        adapter = load_adapter(out_path, bundle=bundle)
    else:
        config = adapter_config or AdapterConfig.for_model(
            bundle, shallow_fraction=settings.shallow_fraction)
        torch.manual_seed(settings.seed)
        adapter = AffectAdapter(config).to(bundle.device)
    adapter.train()
    optimizer = torch.optim.AdamW(adapter.parameters(), lr=settings.lr, weight_decay=0.0)
    if resume and state_path.is_file():
        state = torch.load(state_path, weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
    segments = make_segments(bundle, examples, segment_s=settings.segment_s,
                             halo=adapter.config.halo_frames, cache_dir=cache_dir)
    log_path = out_path.with_name(out_path.name + ".log.csv")
    with AffectInjection(bundle, adapter) as injection:
        while step < settings.steps:
            # the batch depends on (seed, step) only, so a resumed run sees the same data
            order = np.random.default_rng([settings.seed, step]).permutation(len(segments))
            batch = [segments[i] for i in order[:settings.batch_size]]
            optimizer.zero_grad(set_to_none=True)
            loss = adapter_loss(bundle, adapter, injection, batch)
            loss.backward()
            optimizer.step()
            step += 1
            value = float(loss.detach())
            with log_path.open("a") as f:
                f.write(f"{step},{value:.6f}\n")
            if log is not None:
                log(step, value)
            if step % settings.save_every == 0 or step == settings.steps:
                save_checkpoint(adapter, optimizer, step, out_path, state_path)
    adapter.eval()
    return adapter


def save_checkpoint(adapter, optimizer, step: int, out_path: Path, state_path: Path) -> None:
    save_adapter(adapter, out_path, extra={"step": step})
    tmp = state_path.with_name(state_path.name + ".part")
    torch.save({"optimizer": optimizer.state_dict(), "step": step}, tmp)
    tmp.replace(state_path)
