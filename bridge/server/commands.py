"""The ``scorebridge serve`` subcommand and ``scorebridge score --server``'s client side."""

from __future__ import annotations

import argparse
from pathlib import Path

from bridge import platform_paths
from bridge.config import ScoreOptions
from bridge.jobs import KEEP_DAYS, KEEP_LAST
from bridge.progress import ProgressFn, no_progress


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


def score_via_server(address: str, timeline: str | Path, out_dir: str | Path,
                     options: ScoreOptions | None = None,
                     on_progress: ProgressFn | None = None, *,
                     token_file: str | Path | None = None, tls_ca: str | Path | None = None,
                     tls_pin: str | None = None) -> dict:
    """Score through a running bridge (gRPC); returns the ScoreResult dict (+ ``job_id``).

    Ctrl-C (or SIGTERM) cancels the job on the bridge rather than leaving it running there.
    """
    from bridge.client import BridgeClient

    job_ids: list[str] = []
    with BridgeClient(address, token_file=token_file, tls_ca=tls_ca, tls_pin=tls_pin) as client:
        try:
            return client.score(
                timeline, out_dir, options, on_progress or no_progress,
                on_event=lambda e: job_ids.append(e["job_id"]) if not job_ids else None,
            )
        except KeyboardInterrupt:
            if job_ids:
                client.cancel_job(job_ids[0])
            raise
