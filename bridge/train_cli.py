"""`scorebridge train-adapter`: train NarraScore's affect adapter on a frozen MusicGen."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_command(subparsers) -> argparse.ArgumentParser:
    """Register ``train-adapter`` on the CLI's subparsers."""
    help_text = "train the affect adapter (phi and gamma only) on audio with per-second VA"
    p = subparsers.add_parser("train-adapter", help=help_text, description=help_text)
    p.add_argument("--model", required=True, help="MusicGen folder or cached hub id")
    p.add_argument("--data", required=True, type=Path,
                   help="a folder of name.wav + name.json, or a DEAM/PMEmo annotation CSV")
    p.add_argument("--audio-dir", type=Path, help="audio folder for a CSV (<id>.wav/.mp3)")
    p.add_argument("--captions", type=Path, help="CSV id,caption for a CSV dataset")
    p.add_argument("--value-range", default="auto", choices=("auto", "-1..1", "0..1"),
                   help="scale of the CSV's values (default auto)")
    p.add_argument("-o", "--out", required=True, type=Path, help="adapter .safetensors")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--segment-s", type=float, default=30.0, help="clip length (default 30)")
    p.add_argument("--shallow-fraction", type=float, default=0.75,
                   help="share of decoder blocks that receive the control (default 0.75)")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--cache-dir", type=Path, help="EnCodec code cache (default beside --out)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"))
    p.add_argument("--resume", action="store_true", help="continue from --out and its state")
    p.set_defaults(func=cmd_train_adapter)
    return p


def cmd_train_adapter(args: argparse.Namespace) -> int:
    from bridge.errors import InvalidOptionError
    from bridge.music.musicgen import _resolve_device
    from bridge.render.musicgen import require_neural

    require_neural()
    from bridge.render.musicgen.loader import load_musicgen
    from bridge.render.musicgen.train import (
        TrainSettings,
        load_csv_dataset,
        load_folder_dataset,
        train_adapter,
    )

    if args.steps < 1 or args.batch < 1 or args.lr <= 0 or args.segment_s <= 0:
        raise InvalidOptionError("steps, batch, lr and segment-s must be positive",
                                 field="train-adapter")
    if args.data.is_dir():
        examples = load_folder_dataset(args.data)
    else:
        if args.audio_dir is None:
            raise InvalidOptionError("a CSV dataset needs --audio-dir", path=args.data,
                                     field="audio-dir")
        examples = load_csv_dataset(args.data, args.audio_dir, captions=args.captions,
                                    value_range=args.value_range)
    bundle = load_musicgen(args.model, _resolve_device(args.device), args.dtype)
    settings = TrainSettings(steps=args.steps, lr=args.lr, batch_size=args.batch,
                             segment_s=args.segment_s, shallow_fraction=args.shallow_fraction,
                             save_every=args.save_every)
    quiet = getattr(args, "quiet", False)

    def log(step: int, loss: float) -> None:
        if not quiet and (step == 1 or step % 10 == 0 or step == settings.steps):
            print(f"step {step}/{settings.steps}  loss {loss:.4f}", flush=True)

    print(f"{len(examples)} examples; training {args.out}")
    train_adapter(bundle, examples, args.out, settings=settings, cache_dir=args.cache_dir,
                  resume=args.resume, log=log)
    print(f"wrote {args.out}")
    return 0
