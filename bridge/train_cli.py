"""`scorebridge train-probe`: fit the VLM sensor's affect probe on annotated video.

    scorebridge train-probe targets.csv --vlm lkhl/VideoLLaMA3-2B-Image-HF -o probe/

The CSV has columns video,time,valence,arousal (see ``bridge.affect.vlm_train``). The
backbone stays frozen; its states are cached under ``--cache`` (default: a hidden folder
in the output) so a second run with other probe settings does not run the backbone again.
torch is imported only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_command(subparsers) -> argparse.ArgumentParser:
    """Register ``train-probe`` on the CLI's subparsers."""
    from bridge.affect.vlm import DEFAULT_FRAME_SIDE, DEFAULT_OVERLAP, DEFAULT_WINDOW

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
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="frames per window")
    p.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP, help="frames shared")
    p.add_argument("--frame-side", type=int, default=DEFAULT_FRAME_SIDE,
                   help="decode width in px (default %(default)s)")
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
        report = train_probe(args.targets, args.vlm, args.out, layer=args.layer,
                             hidden=args.hidden, epochs=args.epochs, lr=args.lr, lam=args.lam,
                             window=args.window, overlap=args.overlap,
                             frame_side=args.frame_side, cache_dir=args.cache, seed=args.seed,
                             progress=progress)
    for line in report.lines():
        print(line)
    for name, value in probe_metrics(report.held_out_pred, report.held_out_truth).items():
        print(f"{name}: {value:.3f}")
    print(f"wrote {args.out}")
    return 0
