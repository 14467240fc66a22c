"""The two training commands of the neural path; torch is imported only when one runs.

``scorebridge train-probe``: fit the VLM sensor's affect probe on annotated video::

    scorebridge train-probe targets.csv --vlm lkhl/VideoLLaMA3-2B-Image-HF -o probe/

The CSV has columns video,time,valence,arousal (see ``bridge.affect.vlm_train``). The
backbone stays frozen; its states are cached under ``--cache`` (default: a hidden folder
in the output) so a second run with other probe settings does not run the backbone again.

``scorebridge train-adapter``: train NarraScore's affect adapter (phi and gamma only) on a
frozen MusicGen (see ``bridge.render.musicgen``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_commands(subparsers) -> None:
    add_probe_command(subparsers)
    add_adapter_command(subparsers)


def add_probe_command(subparsers) -> argparse.ArgumentParser:
    """Register ``train-probe`` on the CLI's subparsers (the sensor's own defaults apply where
    an option is left out: importing it here would load the analysis stack for every command)."""
    help_text = "train the VLM affect sensor's probe on per-frame valence/arousal targets"
    p = subparsers.add_parser("train-probe", help=help_text, description=help_text)
    p.add_argument("targets", type=Path, help="CSV with columns video,time,valence,arousal")
    p.add_argument("--vlm", required=True, help="model folder or hub id (video_llama_3, smolvlm)")
    p.add_argument("-o", "--out", type=Path, required=True, help="folder for the probe")
    p.add_argument("--layer", type=int, default=-1,
                   help="hidden-state layer to probe (0 = embeddings, -1 = last; default -1)")
    p.add_argument("--hidden", type=int, default=256, help="probe hidden width (default 256)")
    p.add_argument("--epochs", type=int, default=300, help="default 300")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--lambda", dest="lam", type=float, default=0.5,
                   help="weight of the L1 term of the loss (default 0.5)")
    p.add_argument("--window", type=int, help="frames per window (default: the sensor's)")
    p.add_argument("--overlap", type=int, help="frames shared (default: the sensor's)")
    p.add_argument("--frame-side", type=int, help="decode width in px (default: the sensor's)")
    p.add_argument("--cache", type=Path, help="state cache folder (default OUT/.state-cache)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train_probe)
    return p


def probe_metrics(pred, truth) -> dict[str, float]:
    """Pearson r and Lin's CCC of held-out predictions, per dimension (nan when fewer
    than two frames or a constant series)."""
    from bridge.eval.metrics import ccc, pearson

    out = {}
    for d, name in enumerate(("valence", "arousal")):
        out[f"{name} pearson"] = pearson(pred[:, d], truth[:, d])
        out[f"{name} ccc"] = ccc(pred[:, d], truth[:, d])
    return out


def cmd_train_probe(args: argparse.Namespace) -> int:
    from bridge.affect.vlm import require_neural

    require_neural()
    from bridge.affect.vlm_train import train_probe
    from bridge.shell import progress_bars

    with progress_bars(not args.quiet) as progress:
        sizes = {name: value for name, value in (("window", args.window),
                                                 ("overlap", args.overlap),
                                                 ("frame_side", args.frame_side))
                 if value is not None}
        report = train_probe(args.targets, args.vlm, args.out, layer=args.layer,
                             hidden=args.hidden, epochs=args.epochs, lr=args.lr, lam=args.lam,
                             cache_dir=args.cache, seed=args.seed, **sizes,
                             progress=progress)
    for line in report.lines():
        print(line)
    for name, value in probe_metrics(report.held_out_pred, report.held_out_truth).items():
        print(f"{name}: {value:.3f}")
    print(f"wrote {args.out}")
    return 0


def add_adapter_command(subparsers) -> argparse.ArgumentParser:
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
