"""The Bridge servicer: protobuf in, a pipeline job, protobuf out.

Both transports call these methods: gRPC directly, the HTTP gateway with a small stand-in
context (``abort``, ``is_active``, ``set_code``). Every status code comes from
``bridge.server.status``: a raised BridgeError via ``_errors_to_status``, a job's recorded
error in ``_follow`` (after it went out as the stream's last JobEvent).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import threading
from pathlib import Path
from typing import Any

from bridge.config import ScoreOptions
from bridge.errors import BridgeError, InvalidOptionError, UnreadableTimelineError
from bridge.jobs import Job, JobManager, QueueFullError, UnknownJobError
from bridge.outputs import write_text_atomic
from bridge.progress import CancelToken, ProgressFn
from bridge.server import convert, status
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb
from bridge.server.gen.scorebridge.v1 import bridge_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Bridge"].full_name  # "scorebridge.v1.Bridge"
INLINE_TIMELINE = "timeline.otio"  # where otio_json text is written inside a job's workdir


class TooManyStreamsError(QueueFullError):
    """Every stream slot is taken (each open stream holds a server thread)."""


def _errors_to_status(method):
    """The one place a BridgeError becomes an RPC status (unary and streaming methods)."""

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(self, request, context):
            try:
                yield from method(self, request, context)
            except BridgeError as exc:
                context.abort(status.code_for_exception(exc), str(exc))

        return stream

    @functools.wraps(method)
    def unary(self, request, context):
        try:
            return method(self, request, context)
        except BridgeError as exc:
            context.abort(status.code_for_exception(exc), str(exc))

    return unary


MAX_WATCHES = 8  # each watch is an observer thread and a worker thread


class BridgeServicer(pb_grpc.BridgeServicer):
    def __init__(self, jobs: JobManager, *, max_streams: int = 16) -> None:
        self.jobs = jobs
        self.max_streams = max_streams
        self._stream_slots = threading.BoundedSemaphore(max_streams)
        self._watches: dict[Path, Any] = {}  # folder -> bridge.watch.FolderWatcher
        self._watch_lock = threading.Lock()

    @contextlib.contextmanager
    def _stream_slot(self):
        """Hold one of ``max_streams`` slots while a stream is open; refuse when none is free."""
        if not self._stream_slots.acquire(blocking=False):
            raise TooManyStreamsError(
                f"{self.max_streams} job streams are already open on this bridge; close one "
                "or poll with GetJob")
        try:
            yield
        finally:
            self._stream_slots.release()

    # ------------------------------------------------------------ streaming jobs

    @_errors_to_status
    def AnalyzeTimeline(self, request: pb.AnalyzeRequest, context):
        with self._stream_slot():
            source, options, _ = _parse_request(request)
            job = self.jobs.submit(
                "analyze", functools.partial(_analyze_job, source, options),
                request={"source": source.describe()},
            )
            yield from self._follow(job, context)

    @_errors_to_status
    def ScoreTimeline(self, request: pb.ScoreRequest, context):
        with self._stream_slot():
            source, options, output_dir = _parse_request(request)
            job = self.jobs.submit(
                "score", functools.partial(_score_job, source, options, output_dir),
                request={"source": source.describe(),
                         "output_dir": output_dir and str(output_dir)},
            )
            yield from self._follow(job, context)

    @_errors_to_status
    def WatchJob(self, request: pb.JobRef, context):
        with self._stream_slot():
            yield from self._follow(self.jobs.get(request.job_id), context)

    def _follow(self, job: Job, context):
        """Stream a job's events; a failed job also ends the call with its status code.

        The job does not depend on this call: if the client goes away, ``is_active`` turns
        false, this loop stops and the job carries on.
        """
        for event in job.events(alive=context.is_active):
            if event.error is None:
                yield convert.event_to_pb(event)
                continue
            code = status.code_for_error(event.error)
            yield convert.event_to_pb(event, code.name)
            context.abort(code, event.error.message)

    # ------------------------------------------------------------ unary

    @_errors_to_status
    def GetJob(self, request: pb.JobRef, context) -> pb.Job:
        return _job_pb(self.jobs.get(request.job_id))

    @_errors_to_status
    def CancelJob(self, request: pb.JobRef, context) -> pb.Job:
        return _job_pb(self.jobs.cancel(request.job_id))

    @_errors_to_status
    def ListJobs(self, request: pb.ListJobsRequest, context) -> pb.ListJobsResponse:
        jobs = self.jobs.list(max(request.limit, 0))
        # Results can be large (curves, the result OTIO): a listing leaves them out unless asked.
        return pb.ListJobsResponse(
            jobs=[_job_pb(j, with_result=request.include_results) for j in jobs])

    @_errors_to_status
    def ListBackends(self, request: pb.ListBackendsRequest, context) -> pb.ListBackendsResponse:
        from bridge.pipeline import list_backends

        return convert.backends_to_pb(list_backends())

    # ------------------------------------------------------------ watch folders

    @_errors_to_status
    def StartWatch(self, request: pb.StartWatchRequest, context) -> pb.WatchFolder:
        from bridge.watch import DEFAULT_SETTLE_S, FolderWatcher

        folder = _watch_folder(request.folder)
        for desc, value in request.options.ListFields():
            if isinstance(value, str):
                _no_nul(value, desc.name)
        options, _ = convert.options_from_pb(request.options)
        _check_names(options)
        settle = request.settle_s if request.HasField("settle_s") else DEFAULT_SETTLE_S
        with self._watch_lock:
            if folder in self._watches:
                return _watch_pb(folder, self._watches[folder])
            if len(self._watches) >= MAX_WATCHES:
                raise QueueFullError(f"this bridge already watches {MAX_WATCHES} folders; "
                                     "stop one first")
            watcher = FolderWatcher(folder, functools.partial(self._score_in_queue, options),
                                    settle_s=settle)
            self._watches[folder] = watcher.start()
            return _watch_pb(folder, watcher)

    @_errors_to_status
    def StopWatch(self, request: pb.WatchFolderRef, context) -> pb.WatchFolder:
        folder = _watch_folder(request.folder, must_exist=False)
        with self._watch_lock:
            watcher = self._watches.pop(folder, None)
        if watcher is None:
            raise UnknownWatchError("this folder is not watched", path=folder)
        watcher.stop()
        return _watch_pb(folder, watcher, active=False)

    @_errors_to_status
    def ListWatches(self, request: pb.ListWatchesRequest, context) -> pb.ListWatchesResponse:
        with self._watch_lock:
            watches = list(self._watches.items())
        return pb.ListWatchesResponse(watches=[_watch_pb(f, w) for f, w in watches])

    def stop_watches(self) -> None:
        with self._watch_lock:
            watches, self._watches = list(self._watches.values()), {}
        for watcher in watches:
            watcher.stop()

    def _score_in_queue(self, options: ScoreOptions, timeline: Path, out_dir: Path) -> None:
        """A watched file's job: through the same queue as every other, waited for here (the
        watcher scores one file at a time); a failed job raises its one-line reason."""
        job = self.jobs.submit(
            "score", functools.partial(_score_job, _Source(path=timeline), options, out_dir),
            request={"source": str(timeline), "output_dir": str(out_dir), "watch": True},
        )
        for event in job.events():
            if event.error is not None:
                raise BridgeError(event.error.message)


def _job_pb(job: Job, *, with_result: bool = True) -> pb.Job:
    code = status.code_for_error(job.error).name if job.error else ""
    return convert.job_to_pb(job, code, with_result=with_result)


# ---------------------------------------------------------------- request -> job


class _Source:
    """The timeline of a request: a file the bridge reads, or OTIO JSON text."""

    def __init__(self, *, path: Path | None = None, otio_json: str | None = None) -> None:
        self.path, self.otio_json = path, otio_json

    def describe(self) -> str:
        return str(self.path) if self.path else "<otio_json>"

    def materialize(self, workdir: Path) -> Path:
        if self.path is not None:
            return self.path
        target = workdir / INLINE_TIMELINE
        write_text_atomic(target, self.otio_json or "")
        return target


class UnknownWatchError(UnknownJobError):
    """StopWatch for a folder that is not watched (NOT_FOUND, like an unknown job)."""


def _watch_folder(text: str, *, must_exist: bool = True) -> Path:
    path = Path(_no_nul(text, "folder"))
    if not path.is_absolute():
        raise InvalidOptionError("must be an absolute path (the bridge runs in its own "
                                 "working folder)", path=path, field="folder")
    path = path.resolve()
    if must_exist and not path.is_dir():
        raise InvalidOptionError("not a folder to watch", path=path, field="folder")
    return path


def _watch_pb(folder: Path, watcher, *, active: bool = True) -> pb.WatchFolder:
    return pb.WatchFolder(folder=str(folder), active=active, files=[
        pb.WatchedFile(path=str(f.path), state=f.state, message=f.message, jobs=f.jobs)
        for f in watcher.snapshot()])


def _no_nul(value: str, field: str) -> str:
    if "\x00" in value:
        raise InvalidOptionError("contains a NUL byte", field=field)
    return value


def _parse_request(request) -> tuple[_Source, ScoreOptions, Path | None]:
    """Check what can be checked before queueing, so bad input fails at once."""
    which = request.WhichOneof("source")
    if which == "path":
        path = Path(_no_nul(request.path, "path"))
        if not path.is_absolute():
            # The bridge's working folder is not the client's: a relative path means nothing.
            raise UnreadableTimelineError("must be an absolute path", path=path, field="path")
        path = path.resolve()
        if not path.exists():
            raise UnreadableTimelineError("no such timeline file", path=path, field="path")
        source = _Source(path=path)
    elif which == "otio_json":
        try:
            json.loads(request.otio_json)
        except ValueError as exc:
            raise UnreadableTimelineError(f"not valid OTIO JSON: {exc}", field="otio_json"
                                          ) from exc
        source = _Source(otio_json=request.otio_json)
    else:
        raise InvalidOptionError("give the timeline as otio_json or path", field="source")
    for desc, value in request.options.ListFields():
        if isinstance(value, str):
            _no_nul(value, desc.name)
    options, output_dir = convert.options_from_pb(request.options)
    _check_names(options)
    return source, options, _output_folder(output_dir) if output_dir else None


def _check_names(options: ScoreOptions) -> None:
    """Style and backends must exist (whether they can run is the job's to find out)."""
    from bridge.affect import estimators
    from bridge.music import music_backends
    from bridge.style import STYLES

    if options.style is not None and options.style not in STYLES:
        raise InvalidOptionError(f"unknown style {options.style!r}; choose one of: "
                                 f"{', '.join(sorted(STYLES))}", field="style")
    for field, registry, name in (("affect_backend", estimators, options.affect_backend),
                                  ("music_backend", music_backends, options.music_backend)):
        if name not in registry.names():
            raise InvalidOptionError(f"unknown backend {name!r}; available: "
                                     f"{', '.join(registry.names())}", field=field)


def _output_folder(text: str) -> Path:
    """An absolute folder that is, or can become, a folder the bridge writes into."""
    path = Path(text)
    if not path.is_absolute():
        raise InvalidOptionError("must be an absolute path (the bridge runs in its own "
                                 "working folder)", path=path, field="output_dir")
    path = path.resolve()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    # The folder's state, not the request, is at fault here: FAILED_PRECONDITION.
    if not existing.is_dir():
        raise BridgeError("cannot create output folder: a file is in the way", path=existing,
                          field="output_dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BridgeError("the bridge cannot write into this folder", path=existing,
                          field="output_dir")
    return path


def _analyze_job(source: _Source, options: ScoreOptions,
                 progress: ProgressFn, cancel: CancelToken, workdir: Path) -> dict[str, Any]:
    from bridge.pipeline import analyze_timeline  # imports every stage: only when first used

    analysis = analyze_timeline(source.materialize(workdir), options,
                                progress=progress, cancel=cancel)
    return {"analysis": convert.to_dict(convert.analysis_to_pb(analysis))}


def _score_job(source: _Source, options: ScoreOptions, output_dir: Path | None,
               progress: ProgressFn, cancel: CancelToken, workdir: Path) -> dict[str, Any]:
    from bridge.pipeline import score_timeline

    out_dir = output_dir or workdir / "out"
    created = not out_dir.exists()
    try:
        result = score_timeline(source.materialize(workdir), out_dir, options,
                                progress=progress, cancel=cancel)
    except BaseException:
        # The pipeline removes its partial files; drop the folder too if it made it.
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)
        raise
    return {"score": convert.to_dict(convert.score_to_pb(result))}
