"""Server lifecycle: build, start, serve until SIGTERM/SIGINT, stop within the grace period.

    python -m bridge.server [--port 50051] [--http-port 50052] [--listen ADDR] [--jobs-dir DIR]

(the same as ``scorebridge serve``). Health is NOT_SERVING until the server is ready and
again from the moment shutdown begins; running jobs are cancelled on shutdown, and the
pipeline removes what they were writing.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bridge.jobs import JobManager
from bridge.server import auth
from bridge.server.gen.scorebridge.v1 import bridge_pb2_grpc as pb_grpc
from bridge.server.grpc_service import SERVICE_NAME, BridgeServicer
from bridge.server.http_gateway import HttpGateway

log = logging.getLogger("bridge.server")

MAX_MESSAGE_BYTES = 64 << 20  # a long timeline's OTIO JSON and result fit comfortably
LOOPBACK = "127.0.0.1"


def default_jobs_root() -> Path:
    env = os.environ.get("SCOREBRIDGE_JOBS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scorebridge" / "jobs"


def set_serving(health_servicer: health.HealthServicer, serving: bool) -> None:
    value = (health_pb2.HealthCheckResponse.SERVING if serving
             else health_pb2.HealthCheckResponse.NOT_SERVING)
    for service in ("", SERVICE_NAME):  # "" = the whole server
        health_servicer.set(service, value)


def build_server(
    address: str = "127.0.0.1:0",
    *,
    jobs: JobManager,
    servicer: BridgeServicer | None = None,
    health_servicer: health.HealthServicer | None = None,
    max_workers: int = 16,
    start: bool = True,
) -> tuple[grpc.Server, int]:
    """A gRPC server with the Bridge service, health and reflection; returns (server, port).

    With ``start`` (default) the server is started and health turns SERVING; otherwise it
    stays NOT_SERVING until the caller starts it and calls :func:`set_serving`.
    ``max_workers`` bounds concurrent RPCs (each stream that follows a job holds one).
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),  # a second bridge on the same port must fail, not share
        ],
    )
    pb_grpc.add_BridgeServicer_to_server(servicer or BridgeServicer(jobs), server)
    health_servicer = health_servicer or health.HealthServicer()
    set_serving(health_servicer, False)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as err:
        raise OSError(f"cannot listen on {address}: {err}") from err
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    if start:
        server.start()
        set_serving(health_servicer, True)
    return server, port


@dataclass
class RunningBridge:
    """Both transports over one servicer and one job manager."""

    grpc_server: grpc.Server
    grpc_port: int
    http: HttpGateway
    health: health.HealthServicer
    jobs: JobManager
    host: str

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http.port}"

    def stop(self, grace_s: float = 5.0) -> bool:
        """Refuse new work, cancel jobs, stop both servers; True if all ended within grace."""
        deadline = time.monotonic() + grace_s
        self.health.enter_graceful_shutdown()  # NOT_SERVING, and it stays so
        stopped = self.grpc_server.stop(grace_s)  # new RPCs refused; streams get the grace
        jobs_done = self.jobs.shutdown(cancel=True, timeout_s=max(0.0, deadline - time.monotonic()))
        self.http.stop()
        grpc_done = stopped.wait(max(0.0, deadline - time.monotonic()))
        return jobs_done and grpc_done


def start_bridge(
    *,
    jobs: JobManager,
    token: str,
    host: str = LOOPBACK,
    grpc_port: int = 0,
    http_port: int = 0,
) -> RunningBridge:
    """Start gRPC and the HTTP gateway on ``host``; health turns SERVING when both listen."""
    health_servicer = health.HealthServicer()
    servicer = BridgeServicer(jobs)
    server, port = build_server(
        _join(host, grpc_port), jobs=jobs, servicer=servicer,
        health_servicer=health_servicer, start=False,
    )
    try:
        gateway = HttpGateway(host, http_port, servicer=servicer, token=token,
                              health=health_servicer)
    except OSError:
        server.stop(0)
        raise
    server.start()
    gateway.start()
    set_serving(health_servicer, True)
    return RunningBridge(server, port, gateway, health_servicer, jobs, host)


def run_server(
    *,
    host: str = LOOPBACK,
    grpc_port: int = 50051,
    http_port: int = 50052,
    listen: str | None = None,
    jobs_root: Path | None = None,
    config_dir: Path | None = None,
    grace_s: float = 5.0,
    workers: int = 1,
    max_queue: int = 4,
) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status (0 after a clean stop)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if listen and listen != host:
        log.warning(
            "listening on %s, not loopback: anyone who can reach this machine can use the "
            "gRPC port (it has no token); the HTTP gateway still needs the token", listen)
        host = listen
    token = auth.load_or_create_token(config_dir)
    jobs = JobManager(jobs_root or default_jobs_root(), workers=workers, max_queue=max_queue)
    bridge = start_bridge(jobs=jobs, token=token, host=host, grpc_port=grpc_port,
                          http_port=http_port)
    auth.write_endpoint(auth.config_dir(config_dir), grpc_address=bridge.grpc_address,
                        http_url=bridge.http_url)
    log.info("serving gRPC on %s and HTTP on %s (jobs in %s)",
             bridge.grpc_address, bridge.http_url, jobs.root)

    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.wait(0.5):  # short waits keep the main thread responsive to signals
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        clean = bridge.stop(grace_s)
        auth.remove_endpoint(auth.config_dir(config_dir))
    if not clean:
        log.warning("some work did not stop within %.1f s", grace_s)
    log.info("stopped")
    return 0


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
