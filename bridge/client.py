"""Clients for a running bridge: gRPC (:class:`BridgeClient`) and HTTP (:class:`HttpBridgeClient`).

Both have the same methods and return the same plain dicts (the proto JSON mapping with
the proto's field names), so callers can switch transport freely::

    client = BridgeClient("127.0.0.1:50051")
    client.wait_ready(10)
    result = client.score("cut.otio", "out/", ScoreOptions(seed=3),
                          on_progress=lambda stage, fraction, msg: print(stage, fraction))
    result["wav_path"], result["analysis"]["affect"]["arousal"]

A failed job raises :class:`RemoteError` (``.code`` is the gRPC status name). The HTTP
client uses only the standard library, and this module imports grpc only inside
``BridgeClient``, so the Resolve plugin can use ``HttpBridgeClient`` where grpcio is absent.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from bridge.config import ScoreOptions
from bridge.errors import BridgeError

ProgressCallback = Callable[[str, float, str], None]
EventCallback = Callable[[dict], None]

MAX_MESSAGE_BYTES = 64 << 20


class RemoteError(BridgeError):
    """The bridge refused a request or a job failed; ``code`` is e.g. "INVALID_ARGUMENT"."""

    def __init__(self, code: str, message: str, *, job_id: str = "",
                 path: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.job_id = job_id
        # The server's message already names the file/field; keep them for programs.
        self.remote_path, self.remote_field = path or None, field or None


def options_dict(options: ScoreOptions | None, *, output_dir: str | Path | None = None
                 ) -> dict[str, Any]:
    """ScoreOptions -> the proto ``ScoreOptions`` JSON (unset fields are left out)."""
    out: dict[str, Any] = {}
    if options is not None:
        for f in fields(options):
            value = getattr(options, f.name)
            if value is not None:
                if isinstance(value, Path):
                    value = str(value)
                elif isinstance(value, Mapping):  # backend_options
                    value = dict(value)
                out[f.name] = value
    if output_dir is not None:
        out["output_dir"] = str(Path(output_dir).expanduser().resolve())
    return out


def timeline_source(timeline: str | Path) -> dict[str, str]:
    """A path is sent as ``path`` (absolute: the bridge has its own working folder);
    OTIO JSON text as ``otio_json``."""
    if isinstance(timeline, str) and timeline.lstrip().startswith("{"):
        return {"otio_json": timeline}
    if "\x00" in str(timeline):
        raise BridgeError("the timeline path contains a NUL byte", field="path")
    return {"path": str(Path(timeline).expanduser().resolve())}


class _ClientBase:
    """Everything but the transport: subclasses implement ``_call`` and ``_stream``."""

    def _call(self, method: str, body: dict) -> dict:
        raise NotImplementedError

    def _stream(self, method: str, body: dict) -> Iterator[dict]:
        raise NotImplementedError

    def analyze(self, timeline: str | Path, options: ScoreOptions | None = None,
                on_progress: ProgressCallback | None = None, *,
                on_event: EventCallback | None = None) -> dict:
        """Run AnalyzeTimeline; return the AnalyzeResult dict plus ``job_id``."""
        body = {**timeline_source(timeline), "options": options_dict(options)}
        return self._follow("AnalyzeTimeline", body, on_progress, on_event)

    def score(self, timeline: str | Path, out_dir: str | Path,
              options: ScoreOptions | None = None,
              on_progress: ProgressCallback | None = None, *,
              on_event: EventCallback | None = None) -> dict:
        """Run ScoreTimeline writing into ``out_dir``; return the ScoreResult dict + ``job_id``."""
        body = {**timeline_source(timeline),
                "options": options_dict(options, output_dir=out_dir)}
        return self._follow("ScoreTimeline", body, on_progress, on_event)

    def watch(self, job_id: str, on_progress: ProgressCallback | None = None, *,
              on_event: EventCallback | None = None) -> dict:
        """Follow an existing job from its first event to its result."""
        return self._follow("WatchJob", {"job_id": job_id}, on_progress, on_event)

    def get_job(self, job_id: str) -> dict:
        return self._call("GetJob", {"job_id": job_id})

    def cancel_job(self, job_id: str) -> dict:
        return self._call("CancelJob", {"job_id": job_id})

    def list_jobs(self, limit: int = 0, *, include_results: bool = False) -> list[dict]:
        """Jobs newest first (results left out unless asked for)."""
        body = {"limit": limit, "include_results": include_results}
        return self._call("ListJobs", body).get("jobs", [])

    def list_backends(self) -> dict[str, list[dict]]:
        reply = self._call("ListBackends", {})
        return {"affect": reply.get("affect", []), "music": reply.get("music", [])}

    def _follow(self, method: str, body: dict, on_progress: ProgressCallback | None,
                on_event: EventCallback | None) -> dict:
        for event in self._stream(method, body):
            if on_event is not None:
                on_event(event)
            if "progress" in event:
                p = event["progress"]
                if on_progress is not None:
                    on_progress(p.get("stage", ""), p.get("fraction", 0.0), p.get("message", ""))
            elif "error" in event:
                e = event["error"]
                raise RemoteError(e.get("code", "UNKNOWN"), e.get("message", ""),
                                  job_id=event.get("job_id", ""), path=e.get("path"),
                                  field=e.get("field"))
            else:
                for kind in ("analysis", "score"):
                    if kind in event:
                        return {"job_id": event.get("job_id", ""), **event[kind]}
        raise RemoteError("UNKNOWN", f"{method}: the stream ended without a result")


class BridgeClient(_ClientBase):
    """gRPC client. ``address`` is host:port, e.g. "127.0.0.1:50051".

    Every call but health carries the bridge's token: ``token``, else the one in
    ``token_file``, else the local install's (the config folder), if there is one. For a
    bridge serving TLS give ``tls_ca`` (a PEM file to trust; it may be the server's own
    certificate) or ``tls_pin`` (the fingerprint ``serve`` printed).
    """

    def __init__(self, address: str = "127.0.0.1:50051", *, token: str | None = None,
                 token_file: str | Path | None = None, tls_ca: str | Path | None = None,
                 tls_pin: str | None = None) -> None:
        import grpc  # only here: the HTTP client must work without grpcio

        from bridge.local_config import read_token_file, token_path
        from bridge.server.gen.scorebridge.v1 import bridge_pb2, bridge_pb2_grpc

        self.address = address
        self._grpc = grpc
        self._pb = bridge_pb2
        if token is None:
            if token_file is not None:
                token = read_token_file(token_file)
            elif os.path.lexists(token_path()):
                token = read_token_file(token_path())
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ]
        if tls_pin or tls_ca:
            from bridge.server.tls import pinned_root, read_ca

            if tls_pin:
                root, name = pinned_root(address, tls_pin)
                options.append(("grpc.ssl_target_name_override", name))
            else:
                root = read_ca(tls_ca)
            self._channel = grpc.secure_channel(
                address, grpc.ssl_channel_credentials(root_certificates=root), options=options)
        else:
            self._channel = grpc.insecure_channel(address, options=options)
        self._stub = bridge_pb2_grpc.BridgeStub(self._channel)
        self._requests = {
            "AnalyzeTimeline": bridge_pb2.AnalyzeRequest,
            "ScoreTimeline": bridge_pb2.ScoreRequest,
            "WatchJob": bridge_pb2.JobRef,
            "GetJob": bridge_pb2.JobRef,
            "CancelJob": bridge_pb2.JobRef,
            "ListJobs": bridge_pb2.ListJobsRequest,
            "ListBackends": bridge_pb2.ListBackendsRequest,
        }

    @classmethod
    def from_config(cls, config_dir: str | Path | None = None) -> BridgeClient:
        """The bridge that bridge.json in the config folder names, with its token and pin."""
        from bridge.local_config import read_endpoint, token_path

        endpoint = read_endpoint(config_dir)
        if not endpoint.get("grpc"):
            raise RemoteError("UNAVAILABLE", "no bridge is running for this config folder")
        return cls(endpoint["grpc"], token_file=token_path(config_dir),
                   tls_pin=endpoint.get("tls_fingerprint") or None)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> BridgeClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Block until the bridge's health says SERVING; TimeoutError otherwise."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self._channel)
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"bridge at {self.address} not ready after {timeout_s} s")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=min(left, 2.0),
                                   wait_for_ready=True)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except self._grpc.RpcError:
                pass
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def health(self) -> str:
        """"SERVING", "NOT_SERVING", ... as the bridge reports it now."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        reply = health_pb2_grpc.HealthStub(self._channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def _request(self, method: str, body: dict):
        from google.protobuf import json_format

        return json_format.ParseDict(body, self._requests[method]())

    def _to_dict(self, msg) -> dict:
        from google.protobuf import json_format

        return json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)

    def _error(self, err) -> RemoteError:
        code = err.code().name if err.code() else "UNKNOWN"
        if code == "UNAVAILABLE":
            return RemoteError(code, f"cannot reach the bridge at {self.address}: {err.details()}")
        return RemoteError(code, err.details() or code)

    def _call(self, method: str, body: dict) -> dict:
        try:
            return self._to_dict(getattr(self._stub, method)(self._request(method, body),
                                                             metadata=self._metadata))
        except self._grpc.RpcError as err:
            raise self._error(err) from None

    def _stream(self, method: str, body: dict) -> Iterator[dict]:
        call = getattr(self._stub, method)(self._request(method, body), metadata=self._metadata)
        try:
            for msg in call:
                yield self._to_dict(msg)
        except self._grpc.RpcError as err:
            raise self._error(err) from None
        finally:
            call.cancel()  # no-op when finished; frees the stream if the caller stopped early


class HttpBridgeClient(_ClientBase):
    """HTTP/JSON client (standard library only). ``base_url`` like "http://127.0.0.1:50052"."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 3600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s  # per socket read; a quiet job may be slow between events

    @classmethod
    def from_config(cls, config_dir: str | Path | None = None) -> HttpBridgeClient:
        """The bridge the endpoint file in the config folder names, with its token."""
        from bridge.local_config import read_endpoint, read_token_file, token_path

        endpoint = read_endpoint(config_dir)
        if not endpoint.get("http"):
            raise RemoteError("UNAVAILABLE", "no bridge is running for this config folder")
        return cls(endpoint["http"], read_token_file(token_path(config_dir)))

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + "/v1/health", timeout=2) as resp:
                    if json.load(resp).get("status") == "SERVING":
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"bridge at {self.base_url} not ready after {timeout_s} s")

    def _open(self, method: str, body: dict):
        request = urllib.request.Request(
            f"{self.base_url}/v1/{method}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"},
        )
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as err:
            try:
                detail = json.loads(err.read() or b"{}")
            except ValueError:
                detail = {}
            raise RemoteError(detail.get("code", f"HTTP_{err.code}"),
                              detail.get("message", err.reason)) from None
        except urllib.error.URLError as err:
            raise RemoteError("UNAVAILABLE",
                              f"cannot reach the bridge at {self.base_url}: {err.reason}"
                              ) from None

    def _call(self, method: str, body: dict) -> dict:
        with self._open(method, body) as resp:
            return json.load(resp)

    def _stream(self, method: str, body: dict) -> Iterator[dict]:
        with self._open(method, body) as resp:
            yield from parse_sse(resp)


def parse_sse(lines) -> Iterator[dict]:
    """JSON objects from a Server-Sent Events byte stream (``data:`` lines; blank = end)."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield json.loads("\n".join(data))
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        # other fields (event:, id:, retry:, comments) are not used by the bridge
    if data:
        yield json.loads("\n".join(data))


def score_via_server(address: str, timeline: str | Path, out_dir: str | Path,
                     options: ScoreOptions | None = None,
                     on_progress: ProgressCallback | None = None, *,
                     token_file: str | Path | None = None, tls_ca: str | Path | None = None,
                     tls_pin: str | None = None) -> dict:
    """Score through a running bridge (gRPC); returns the ScoreResult dict (+ ``job_id``).

    Ctrl-C (or SIGTERM) cancels the job on the bridge rather than leaving it running there.
    """
    job_ids: list[str] = []
    with BridgeClient(address, token_file=token_file, tls_ca=tls_ca, tls_pin=tls_pin) as client:
        try:
            return client.score(
                timeline, out_dir, options, on_progress,
                on_event=lambda e: job_ids.append(e["job_id"]) if not job_ids else None,
            )
        except KeyboardInterrupt:
            if job_ids:
                client.cancel_job(job_ids[0])
            raise
