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
from pathlib import Path
from typing import Any

from bridge.config import ScoreOptions
from bridge.errors import BridgeError, InvalidOptionError, UnreadableTimelineError
from bridge.jobs import Job, JobManager
from bridge.outputs import write_text_atomic
from bridge.progress import CancelToken, ProgressFn
from bridge.server import convert, status
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb
from bridge.server.gen.scorebridge.v1 import bridge_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Bridge"].full_name  # "scorebridge.v1.Bridge"
INLINE_TIMELINE = "timeline.otio"  # where otio_json text is written inside a job's workdir


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


class BridgeServicer(pb_grpc.BridgeServicer):
    def __init__(self, jobs: JobManager) -> None:
        self.jobs = jobs

    # ------------------------------------------------------------ streaming jobs

    @_errors_to_status
    def AnalyzeTimeline(self, request: pb.AnalyzeRequest, context):
        source, options, _ = _parse_request(request)
        job = self.jobs.submit(
            "analyze", functools.partial(_analyze_job, source, options),
            request={"source": source.describe()},
        )
        yield from self._follow(job, context)

    @_errors_to_status
    def ScoreTimeline(self, request: pb.ScoreRequest, context):
        source, options, output_dir = _parse_request(request)
        job = self.jobs.submit(
            "score", functools.partial(_score_job, source, options, output_dir),
            request={"source": source.describe(), "output_dir": output_dir and str(output_dir)},
        )
        yield from self._follow(job, context)

    @_errors_to_status
    def WatchJob(self, request: pb.JobRef, context):
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
        jobs = self.jobs.list()
        if request.limit > 0:
            jobs = jobs[: request.limit]
        # Results can be large (curves, the result OTIO): a listing leaves them out unless asked.
        return pb.ListJobsResponse(
            jobs=[_job_pb(j, with_result=request.include_results) for j in jobs])

    @_errors_to_status
    def ListBackends(self, request: pb.ListBackendsRequest, context) -> pb.ListBackendsResponse:
        from bridge.pipeline import list_backends

        return convert.backends_to_pb(list_backends())


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


def _parse_request(request) -> tuple[_Source, ScoreOptions, Path | None]:
    """Check what can be checked before queueing, so bad input fails at once."""
    which = request.WhichOneof("source")
    if which == "path":
        path = Path(request.path).expanduser().resolve()
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
    options, output_dir = convert.options_from_pb(request.options)
    return source, options, Path(output_dir).expanduser().resolve() if output_dir else None


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
