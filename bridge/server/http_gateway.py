"""HTTP/JSON gateway: the Bridge service for plugins that cannot speak gRPC (Premiere UXP).

``POST /v1/<Method>`` with the request message in the proto JSON mapping; unary methods
answer one JSON message, streaming methods answer Server-Sent Events (one JobEvent JSON per
``data:`` line). It calls the same servicer methods as gRPC, with a stand-in context.
``GET /v1/health`` answers liveness without a token and without data.

Security, because any web page can make the user's browser send requests to 127.0.0.1:

* ``Authorization: Bearer <token>`` (the per-install token) or 401;
* ``Host`` must be this loopback address and port, or 403 (a DNS-rebinding page would send
  its own host name);
* no ``Access-Control-Allow-*`` header ever, and OPTIONS (CORS preflight) gets 405, so a
  page cannot read answers or send JSON with custom headers.

Bounded: a socket that sends nothing for ``SOCKET_TIMEOUT_S`` is closed, at most
``MAX_CONNECTIONS`` are served at once (the next one gets 503 at once), and a request
with two Host headers is refused rather than judged by the first.
"""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf import json_format

from bridge.server import auth, convert, status
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb
from bridge.server.grpc_service import BridgeServicer

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 << 20  # same bound as the gRPC message size
SOCKET_TIMEOUT_S = 30.0  # an idle or trickling client must not hold a thread forever
MAX_CONNECTIONS = 32  # each connection is a thread; an SSE stream holds one for the job

# method name -> (request type, streams?)
_METHODS: dict[str, tuple[type, bool]] = {
    "AnalyzeTimeline": (pb.AnalyzeRequest, True),
    "ScoreTimeline": (pb.ScoreRequest, True),
    "WatchJob": (pb.JobRef, True),
    "GetJob": (pb.JobRef, False),
    "CancelJob": (pb.JobRef, False),
    "ListJobs": (pb.ListJobsRequest, False),
    "ListBackends": (pb.ListBackendsRequest, False),
    "StartWatch": (pb.StartWatchRequest, False),
    "StopWatch": (pb.WatchFolderRef, False),
    "ListWatches": (pb.ListWatchesRequest, False),
}


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class _HttpContext:
    """The part of grpc.ServicerContext the servicer and the health servicer use."""

    def __init__(self) -> None:
        self.active = True
        self.code = grpc.StatusCode.OK

    def is_active(self) -> bool:
        return self.active

    def abort(self, code: grpc.StatusCode, details: str):
        raise _Aborted(code, details)

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        pass


class HttpGateway(ThreadingHTTPServer):
    daemon_threads = True  # a stream in progress must not keep the process alive
    block_on_close = False

    def __init__(self, host: str, port: int, *, servicer: BridgeServicer, token: str,
                 health=None, max_connections: int = MAX_CONNECTIONS,
                 socket_timeout_s: float = SOCKET_TIMEOUT_S) -> None:
        super().__init__((host, port), _Handler)
        self.socket_timeout_s = socket_timeout_s
        self._slots = threading.BoundedSemaphore(max_connections)
        self.servicer = servicer
        self.token = token
        self.health = health
        bound = self.server_address[1]
        self.port = bound
        # Names a legitimate local client puts in Host; anything else is a foreign page.
        self.allowed_hosts = {f"127.0.0.1:{bound}", f"localhost:{bound}", f"[::1]:{bound}"}
        if host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""):
            self.allowed_hosts.add(f"{host}:{bound}")
        self._thread: threading.Thread | None = None

    def process_request(self, request, client_address) -> None:
        """Serve the connection in a thread if a slot is free; else answer 503 and close."""
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                body = b'{"code": "RESOURCE_EXHAUSTED", "message": "too many connections"}'
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                b"Content-Type: application/json\r\nRetry-After: 1\r\n"
                                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
                                + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http-gateway",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def serving(self) -> bool:
        if self.health is None:
            return True
        from grpc_health.v1 import health_pb2

        ctx = _HttpContext()
        reply = self.health.Check(health_pb2.HealthCheckRequest(service=""), ctx)
        return reply.status == health_pb2.HealthCheckResponse.SERVING


class _Handler(BaseHTTPRequestHandler):
    server: HttpGateway
    server_version = "scorebridge"
    sys_version = ""
    # Events are small writes: without TCP_NODELAY each one can wait for a delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        self.timeout = self.server.socket_timeout_s  # StreamRequestHandler.setup applies it
        super().setup()

    # ------------------------------------------------------------ verbs

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        if self.path != "/v1/health":
            self._send_json(HTTPStatus.NOT_FOUND, {"code": "NOT_FOUND", "message": self.path})
            return
        ok = self.server.serving()
        self._send_json(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE,
                        {"status": "SERVING" if ok else "NOT_SERVING"})

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        if not auth.token_matches(self.headers.get("Authorization"), self.server.token):
            self._send_error(HTTPStatus.UNAUTHORIZED, "UNAUTHENTICATED",
                             "missing or wrong bearer token")
            return
        name = self.path.removeprefix("/v1/")
        if not self.path.startswith("/v1/") or name not in _METHODS:
            self._send_error(HTTPStatus.NOT_FOUND, "UNIMPLEMENTED", f"no method {self.path}")
            return
        request_type, streams = _METHODS[name]
        request = self._read_request(request_type)
        if request is None:
            return
        method = getattr(self.server.servicer, name)
        context = _HttpContext()
        if streams:
            self._stream(method(request, context), context)
        else:
            try:
                reply = method(request, context)
            except _Aborted as err:
                self._send_error(status.http_status(err.code), err.code.name, err.details)
                return
            self._send_json(HTTPStatus.OK, convert.to_dict(reply))

    def _refuse(self) -> None:
        # OPTIONS is the CORS preflight: refusing it keeps cross-site pages out.
        self._send_error(HTTPStatus.METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
                         f"{self.command} is not supported", allow="GET, POST")

    do_OPTIONS = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse

    # ------------------------------------------------------------ pieces

    def _host_ok(self) -> bool:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) == 1 and hosts[0] in self.server.allowed_hosts:
            return True
        self._send_error(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED",
                         "Host header does not name this bridge")
        return False

    def _read_request(self, request_type):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "INVALID_ARGUMENT",
                             f"body must be 0..{MAX_BODY_BYTES} bytes with a Content-Length")
            return None
        body = self.rfile.read(length) if length else b"{}"
        try:
            return json_format.Parse(body.decode("utf-8"), request_type())
        except (json_format.ParseError, UnicodeDecodeError) as err:
            self._send_error(HTTPStatus.BAD_REQUEST, "INVALID_ARGUMENT",
                             f"request body is not a valid {request_type.__name__}: {err}")
            return None

    def _stream(self, events, context: _HttpContext) -> None:
        """Send a job's events as SSE; errors before the first event get a plain status."""
        started = False
        try:
            for event in events:
                if not started:
                    self.send_response(HTTPStatus.OK)
                    self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                    self.send_header("Cache-Control", "no-store")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    started = True
                line = json.dumps(convert.to_dict(event), separators=(",", ":"))
                self.wfile.write(f"data: {line}\n\n".encode())
                self.wfile.flush()
        except _Aborted as err:
            # After the first event the error already went out as the last JobEvent.
            if not started:
                self._send_error(status.http_status(err.code), err.code.name, err.details)
        except (BrokenPipeError, ConnectionResetError):
            # The client left; the job carries on (GetJob / WatchJob find it again).
            context.active = False
        finally:
            events.close()

    def _send_error(self, code: int, name: str, message: str, *, allow: str = "") -> None:
        self._send_json(code, {"code": name, "message": message}, allow=allow)

    def _send_json(self, code: int, body: dict, *, allow: str = "") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)
