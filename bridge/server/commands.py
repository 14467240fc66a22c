"""The ``scorebridge serve`` subcommand (also ``python -m bridge.server``).

Only the argument parsing lives here, so that building the CLI does not import grpc;
``bridge.server.app`` is imported when the command runs. Nothing in ``bridge.server``
imports this module.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=50051, help="gRPC port (default 50051)")
    parser.add_argument("--http-port", type=int, default=50052,
                        help="HTTP/JSON gateway port (default 50052)")
    parser.add_argument("--listen", metavar="ADDR",
                        help="bind this address instead of 127.0.0.1 (exposes the bridge)")
    parser.add_argument("--jobs-dir", type=Path, metavar="DIR",
                        help="job records and default outputs "
                             "(default $SCOREBRIDGE_JOBS_DIR or ~/.cache/scorebridge/jobs)")
    parser.add_argument("--config-dir", type=Path, metavar="DIR",
                        help="where the token lives (default $SCOREBRIDGE_CONFIG_DIR, "
                             "$XDG_CONFIG_HOME/scorebridge or ~/.config/scorebridge)")
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


def main(argv: list[str] | None = None) -> int:
    """``python -m bridge.server``: the bridge without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="python -m bridge.server",
                                     description="Run the Scorebridge bridge.")
    add_serve_arguments(parser)
    return cmd_serve(parser.parse_args(argv))
