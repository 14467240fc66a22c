"""The ``scorebridge serve`` subcommand and ``scorebridge score --server``'s client side."""

from __future__ import annotations

import argparse
from pathlib import Path

from bridge import platform_paths
from bridge.config import ScoreOptions
from bridge.progress import ProgressFn, no_progress


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=50051, help="gRPC port (default 50051)")
    parser.add_argument("--http-port", type=int, default=50052,
                        help="HTTP/JSON gateway port (default 50052)")
    parser.add_argument("--listen", metavar="ADDR",
                        help="bind this address instead of 127.0.0.1 (exposes the bridge)")
    parser.add_argument("--jobs-dir", type=Path, metavar="DIR",
                        help="job records and default outputs "
                             f"(default {platform_paths.jobs_dir()})")
    parser.add_argument("--config-dir", type=Path, metavar="DIR",
                        help=f"where the token lives (default {platform_paths.config_dir()})")
    parser.add_argument("--grace", type=float, default=5.0, metavar="S",
                        help="seconds to finish cancelling jobs on shutdown (default 5)")
    parser.add_argument("--max-queue", type=int, default=4,
                        help="jobs that may wait behind the running one (default 4)")


def cmd_serve(args: argparse.Namespace) -> int:
    from bridge.server.app import run_server

    return run_server(
        grpc_port=args.port,
        http_port=args.http_port,
        listen=args.listen,
        jobs_root=args.jobs_dir,
        config_dir=args.config_dir,
        grace_s=args.grace,
        max_queue=args.max_queue,
    )


def add_commands(subparsers) -> None:
    """Register ``serve`` on the CLI's subparsers; the handler is ``args.func(args) -> int``."""
    text = "run the bridge: gRPC and an HTTP/JSON gateway for the editing plugins"
    parser = subparsers.add_parser("serve", help=text, description=text)
    add_serve_arguments(parser)
    parser.set_defaults(func=cmd_serve)


def score_via_server(address: str, timeline: str | Path, out_dir: str | Path,
                     options: ScoreOptions | None = None,
                     on_progress: ProgressFn | None = None) -> dict:
    """Score through a running bridge (gRPC); returns the ScoreResult dict (+ ``job_id``).

    Ctrl-C cancels the job on the bridge rather than leaving it running there.
    """
    from bridge.client import BridgeClient

    job_ids: list[str] = []
    with BridgeClient(address) as client:
        try:
            return client.score(
                timeline, out_dir, options, on_progress or no_progress,
                on_event=lambda e: job_ids.append(e["job_id"]) if not job_ids else None,
            )
        except KeyboardInterrupt:
            if job_ids:
                client.cancel_job(job_ids[0])
            raise
