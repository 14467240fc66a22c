"""Server lifecycle: build, start, serve until SIGTERM/SIGINT, stop within the grace period.

    python -m bridge.server [--port 50051] [--http-port 50052] [--listen ADDR] [--jobs-dir DIR]

(the same as ``scorebridge serve``). Health is NOT_SERVING until the server is ready and
again from the moment shutdown begins; running jobs are cancelled on shutdown, and the
pipeline removes what they were writing.

Every gRPC method but health needs the install's token as ``authorization`` metadata. The
gRPC port binds ``--listen`` (loopback by default; any other address only with TLS); the
HTTP gateway for the plugins always stays on 127.0.0.1, so its token never leaves the box.
Job streams and unary calls have separate thread budgets, so open streams never starve
health, GetJob or CancelJob.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bridge import platform_paths
from bridge.errors import BridgeError
from bridge.jobs import JobManager
from bridge.local_config import EndpointLock, load_or_create_token
from bridge.local_config import config_dir as find_config_dir
from bridge.server.auth import TokenInterceptor
from bridge.server.gen.scorebridge.v1 import bridge_pb2_grpc as pb_grpc
from bridge.server.grpc_service import SERVICE_NAME, BridgeServicer
from bridge.server.http_gateway import HttpGateway
from bridge.server.tls import TlsPair, is_loopback

log = logging.getLogger("bridge.server")

MAX_MESSAGE_BYTES = 64 << 20  # a long timeline's OTIO JSON and result fit comfortably
LOOPBACK = "127.0.0.1"
MAX_STREAMS = 16  # job streams (Analyze/Score/WatchJob) open at once; more are refused
UNARY_WORKERS = 8  # threads that only unary calls and health can use


class StartError(BridgeError):
    """The bridge cannot start as asked (port in use, no TLS for a public address)."""


def default_jobs_root() -> Path:
    """$SCOREBRIDGE_JOBS_DIR, else ``jobs`` in this OS's cache folder (~/.cache/scorebridge)."""
    return platform_paths.jobs_dir()


def set_serving(health_servicer: health.HealthServicer, serving: bool) -> None:
    value = (health_pb2.HealthCheckResponse.SERVING if serving
             else health_pb2.HealthCheckResponse.NOT_SERVING)
    for service in ("", SERVICE_NAME):  # "" = the whole server
        health_servicer.set(service, value)


def build_server(
    address: str = "127.0.0.1:0",
    *,
    jobs: JobManager,
    token: str,
    tls: TlsPair | None = None,
    servicer: BridgeServicer | None = None,
    health_servicer: health.HealthServicer | None = None,
    max_streams: int = MAX_STREAMS,
    unary_workers: int = UNARY_WORKERS,
    start: bool = True,
) -> tuple[grpc.Server, int]:
    """A gRPC server with the Bridge service, health and reflection; returns (server, port).

    With ``start`` (default) the server is started and health turns SERVING; otherwise it
    stays NOT_SERVING until the caller starts it and calls :func:`set_serving`.
    Streams that follow a job hold a thread each, so the servicer admits at most
    ``max_streams`` of them and the pool has ``unary_workers`` more threads that only unary
    calls and health can use. Every method except health requires ``token``.
    """
    workers = max_streams + unary_workers
    servicer = servicer or BridgeServicer(jobs, max_streams=max_streams)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc"),
        interceptors=[TokenInterceptor(token)],
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),  # a second bridge on the same port must fail, not share
        ],
        # Past this many calls in flight gRPC answers RESOURCE_EXHAUSTED instead of queueing.
        maximum_concurrent_rpcs=4 * workers,
    )
    pb_grpc.add_BridgeServicer_to_server(servicer, server)
    health_servicer = health_servicer or health.HealthServicer()
    set_serving(health_servicer, False)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    _check_free(address)
    try:
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            creds = grpc.ssl_server_credentials([(tls.key_pem, tls.cert_pem)])
            port = server.add_secure_port(address, creds)
    except RuntimeError as err:
        raise StartError(f"cannot listen on {address} (in use, or not an address of this "
                         "machine)", field="port") from err
    if port == 0:
        raise StartError(f"cannot listen on {address} (in use, or not an address of this "
                         "machine)", field="port")
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
    tls: TlsPair | None = None
    servicer: BridgeServicer | None = None  # for its watch folders, stopped with the bridge

    @property
    def grpc_address(self) -> str:
        # A wildcard bind is reached locally through loopback.
        host = LOOPBACK if self.host in ("0.0.0.0", "::", "") else self.host
        return _join(host, self.grpc_port)

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http.port}"

    def stop(self, grace_s: float = 5.0) -> bool:
        """Refuse new work, cancel jobs, stop both servers; True if all ended within grace."""
        deadline = time.monotonic() + grace_s
        self.health.enter_graceful_shutdown()  # NOT_SERVING, and it stays so
        if self.servicer is not None:
            self.servicer.stop_watches()  # no new jobs from watched folders
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
    tls: TlsPair | None = None,
    max_streams: int = MAX_STREAMS,
) -> RunningBridge:
    """Start gRPC on ``host`` and the HTTP gateway on loopback; SERVING when both listen.

    A ``host`` that others can reach requires ``tls``: the token would travel in clear.
    """
    if not is_loopback(host) and tls is None:
        raise StartError(f"--listen {host} is reachable from other machines and needs "
                         "TLS: give --tls-cert/--tls-key or --tls-self-signed", field="listen")
    health_servicer = health.HealthServicer()
    servicer = BridgeServicer(jobs, max_streams=max_streams)
    server, port = build_server(
        _join(host, grpc_port), jobs=jobs, token=token, tls=tls, servicer=servicer,
        health_servicer=health_servicer, max_streams=max_streams, start=False,
    )
    try:
        gateway = HttpGateway(LOOPBACK, http_port, servicer=servicer, token=token,
                              health=health_servicer)
    except OSError as err:
        server.stop(0)
        raise StartError(f"cannot listen on {LOOPBACK}:{http_port} for HTTP: {err.strerror}",
                         field="http_port") from err
    server.start()
    gateway.start()
    set_serving(health_servicer, True)
    return RunningBridge(server, port, gateway, health_servicer, jobs, host, tls, servicer)


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
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_self_signed: bool = False,
    keep_jobs: int | None = None,
    keep_days: float | None = None,
    ray_address: str | None = None,
    ray_jobs: int | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status (0 after a clean stop).

    Problems the operator must fix (a port in use, a bad token file, a public ``listen``
    without TLS) raise a BridgeError, which the CLI prints as one line with exit status 2.
    """
    from bridge.server.tls import TlsError, load_or_create_self_signed, load_pair

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    host = listen or host
    wants_tls = tls_self_signed or tls_cert is not None or tls_key is not None
    if not is_loopback(host) and not wants_tls:
        raise StartError(f"--listen {host} is reachable from other machines and needs "
                         "TLS: give --tls-cert/--tls-key or --tls-self-signed", field="listen")
    token = load_or_create_token(config_dir)
    tls = None
    if tls_cert is not None or tls_key is not None:
        if tls_cert is None or tls_key is None:
            raise TlsError("give both --tls-cert and --tls-key", field="tls_cert")
        tls = load_pair(tls_cert, tls_key)
    elif tls_self_signed:
        tls = load_or_create_self_signed(find_config_dir(config_dir), [host])
    limits = {k: v for k, v in (("keep_last", keep_jobs), ("keep_days", keep_days))
              if v is not None}
    with contextlib.ExitStack() as cluster:
        if ray_address:
            from bridge.cluster import RayRunner, ray_session

            if ray_jobs is not None and ray_jobs < 1:
                raise StartError("--ray-jobs must be at least 1", field="ray_jobs")
            resources = cluster.enter_context(
                ray_session(None if ray_address == "local" else ray_address))
            # The bridge only waits on Ray; the cluster's CPUs bound how many jobs run.
            workers = ray_jobs or max(1, int(resources.get("CPU", 1)))
            limits["runner"] = RayRunner()
            log.info("jobs run on Ray at %s (%d at once)", ray_address, workers)
        return _serve(host=host, grpc_port=grpc_port, http_port=http_port,
                      jobs_root=jobs_root, config_dir=config_dir, grace_s=grace_s,
                      workers=workers, max_queue=max_queue, token=token, tls=tls,
                      limits=limits)


def _serve(*, host: str, grpc_port: int, http_port: int, jobs_root: Path | None,
           config_dir: Path | None, grace_s: float, workers: int, max_queue: int, token: str,
           tls: TlsPair | None, limits: dict) -> int:
    jobs = JobManager(jobs_root or default_jobs_root(), workers=workers, max_queue=max_queue,
                      **limits)
    try:
        bridge = start_bridge(jobs=jobs, token=token, host=host, grpc_port=grpc_port,
                              http_port=http_port, tls=tls)
    except BaseException:
        jobs.shutdown(cancel=True, timeout_s=1.0)
        raise
    endpoint = EndpointLock.acquire(config_dir)
    if endpoint is None:
        log.warning("another bridge owns %s; plugins will keep finding that one",
                    find_config_dir(config_dir) / "bridge.json")
    else:
        endpoint.write(grpc=bridge.grpc_address, http=bridge.http_url,
                       tls_fingerprint=tls.fingerprint if tls else None)
    log.info("serving gRPC on %s%s and HTTP on %s (jobs in %s)", _join(host, bridge.grpc_port),
             " with TLS" if tls else "", bridge.http_url, jobs.root)
    if tls is not None:
        # On stdout, for the operator to hand to the team: clients pin it with --tls-pin.
        print(f"TLS certificate fingerprint: {tls.fingerprint}", flush=True)

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
        if endpoint is not None:
            endpoint.release()
    if not clean:
        log.warning("some work did not stop within %.1f s", grace_s)
    log.info("stopped")
    return 0


def _check_free(address: str) -> None:
    """Refuse a taken port in one line before gRPC tries it (and logs its own lines)."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
        try:
            probe.bind((host, int(port)))
        except OSError as err:
            raise StartError(f"cannot listen on {address}: {err.strerror}", field="port"
                             ) from None


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
