"""The ``scorebridge serve`` subcommand (also ``python -m bridge.server``).

Only the argument parsing lives here, so that building the CLI does not import grpc;
``bridge.server.app`` is imported when the command runs. Nothing in ``bridge.server``
imports this module.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bridge import platform_paths
from bridge.errors import BridgeError
from bridge.jobs import KEEP_DAYS, KEEP_LAST


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=50051, help="gRPC port (default 50051)")
    parser.add_argument("--http-port", type=int, default=50052,
                        help="HTTP/JSON gateway port (default 50052)")
    parser.add_argument("--listen", metavar="ADDR",
                        help="bind gRPC to this address instead of 127.0.0.1; an address other "
                             "machines reach needs TLS (the HTTP gateway stays on 127.0.0.1)")
    parser.add_argument("--jobs-dir", type=Path, metavar="DIR",
                        help="job records and default outputs "
                             f"(default {platform_paths.jobs_dir()})")
    parser.add_argument("--config-dir", type=Path, metavar="DIR",
                        help=f"where the token lives (default {platform_paths.config_dir()})")
    parser.add_argument("--grace", type=float, default=5.0, metavar="S",
                        help="seconds to finish cancelling jobs on shutdown (default 5)")
    parser.add_argument("--max-queue", type=int, default=4,
                        help="jobs that may wait behind the running one (default 4)")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM",
                        help="serve gRPC over TLS with this certificate (with --tls-key)")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="the certificate's key")
    parser.add_argument("--tls-self-signed", action="store_true",
                        help="serve gRPC over TLS with a generated certificate kept in the "
                             "config folder; prints the fingerprint clients pin (--tls-pin)")
    parser.add_argument("--keep-jobs", type=int, metavar="N",
                        help=f"finished jobs kept, newest first (default {KEEP_LAST})")
    parser.add_argument("--keep-days", type=float, metavar="D",
                        help=f"finished jobs older than D days are removed (default {KEEP_DAYS:g})")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run jobs as tasks on this Ray cluster (ray://host:10001, "
                             "host:6379, auto; 'local' starts one here) instead of in the "
                             "bridge; needs the cluster extra")
    parser.add_argument("--ray-jobs", type=int, metavar="N",
                        help="with --ray: jobs running at once (default: the cluster's CPUs)")


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
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_self_signed=args.tls_self_signed,
        keep_jobs=args.keep_jobs,
        keep_days=args.keep_days,
        ray_address=args.ray,
        ray_jobs=args.ray_jobs,
    )


def add_commands(subparsers) -> None:
    """Register ``serve`` on the CLI's subparsers; the handler is ``args.func(args) -> int``."""
    text = "run the bridge: gRPC and an HTTP/JSON gateway for the editing plugins"
    parser = subparsers.add_parser("serve", help=text, description=text)
    add_serve_arguments(parser)
    parser.set_defaults(func=cmd_serve)


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """How a command reaches a bridge: address, token and TLS trust."""
    parser.add_argument("--server", metavar="ADDR",
                        help="use a running bridge, e.g. 127.0.0.1:50051 or gpu-box:50051")
    parser.add_argument("--token-file", type=Path, metavar="FILE",
                        help="the bridge's token (default: this install's, in the config folder)")
    parser.add_argument("--tls-ca", type=Path, metavar="PEM",
                        help="trust this CA (or the server's own certificate) for TLS")
    parser.add_argument("--tls-pin", metavar="SHA256",
                        help="trust the certificate with this fingerprint (printed by serve)")


def main(argv: list[str] | None = None) -> int:
    """``python -m bridge.server``: the bridge without the rest of the CLI."""
    import sys

    parser = argparse.ArgumentParser(prog="python -m bridge.server",
                                     description="Run the Scorebridge bridge.")
    add_serve_arguments(parser)
    try:
        return cmd_serve(parser.parse_args(argv))
    except BridgeError as err:
        print(f"scorebridge serve: error: {err}", file=sys.stderr)
        return 2
