"""Jobs: long pipeline runs that outlive the request that started them.

A :class:`JobManager` runs at most ``workers`` jobs at a time (the pipeline is CPU-heavy;
default one) and holds up to ``max_queue`` more; past that ``submit`` raises
:class:`QueueFullError`. Each job has a :class:`CancelToken`, an append-only list of events
that any number of followers can read from the beginning, and a record persisted at
``root/<job_id>/job.json`` (atomic rename) so a restarted bridge still lists finished jobs.

A job's work function gets ``(progress, cancel, workdir)`` and returns a JSON-able dict.
``workdir`` is ``root/<job_id>/work``, the place for inputs and default outputs; when a job
fails or is cancelled the folder is removed, so no partial output survives it.

Pure Python on purpose (no grpc): the server maps :class:`JobError.kind` to status codes.
"""

from __future__ import annotations

import enum
import json
import logging
import queue
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError, CancelledError
from bridge.outputs import write_text_atomic
from bridge.progress import CancelToken, ProgressFn

log = logging.getLogger(__name__)

WorkFn = Callable[[ProgressFn, CancelToken, Path], dict[str, Any]]

JOB_FILE = "job.json"
WORK_DIR = "work"


class JobState(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class QueueFullError(BridgeError):
    """Every worker is busy and the queue is at its bound; try again later."""


class UnknownJobError(BridgeError):
    """No job has this id (neither in this run nor persisted by an earlier one)."""


@dataclass(frozen=True)
class JobError:
    """Why a job did not succeed: the exception class name and its one-line message."""

    kind: str  # e.g. "InvalidOptionError", "CancelledError"; "InternalError" for bugs
    message: str
    path: str | None = None
    field: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> JobError:
        if isinstance(exc, BridgeError):
            return cls(type(exc).__name__, str(exc), exc.path, exc.field)
        return cls("InternalError", f"internal error: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class JobEvent:
    """One entry of a job's event list: exactly one of progress / result / error is set."""

    job_id: str
    progress: tuple[str, float, str] | None = None  # (stage, fraction, message)
    result: dict[str, Any] | None = None
    error: JobError | None = None

    @property
    def final(self) -> bool:
        return self.result is not None or self.error is not None


@dataclass
class Job:
    id: str
    kind: str
    request: dict[str, Any]  # what was asked, for listings (JSON-able)
    dir: Path
    state: JobState = JobState.QUEUED
    created_unix: float = field(default_factory=time.time)
    started_unix: float = 0.0
    finished_unix: float = 0.0
    result: dict[str, Any] | None = None
    error: JobError | None = None
    last_progress: tuple[str, float, str] | None = None
    cancel_token: CancelToken = field(default_factory=CancelToken)
    work: WorkFn | None = field(default=None, repr=False)
    _events: list[JobEvent] = field(default_factory=list, repr=False)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def workdir(self) -> Path:
        return self.dir / WORK_DIR

    def events(self, *, poll_s: float = 0.5, alive: Callable[[], bool] = lambda: True
               ) -> Iterator[JobEvent]:
        """Every event from the first, waiting for new ones until the final one.

        ``alive`` is polled every ``poll_s`` while waiting, so a follower whose client has
        gone stops (and frees its thread) even if the job is quiet for a long time.
        """
        i = 0
        while True:
            with self._changed:
                while i >= len(self._events):
                    if not alive():
                        return
                    self._changed.wait(poll_s)
                batch = self._events[i:]
            for event in batch:
                yield event
                if event.final:
                    return
            i += len(batch)

    def _append(self, event: JobEvent) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state.value,
            "request": self.request,
            "created_unix": self.created_unix,
            "started_unix": self.started_unix,
            "finished_unix": self.finished_unix,
            "last_progress": list(self.last_progress) if self.last_progress else None,
            "result": self.result,
            "error": vars(self.error) if self.error else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], job_dir: Path) -> Job:
        err = record.get("error")
        last = record.get("last_progress")
        job = cls(
            id=record["id"],
            kind=record["kind"],
            request=record.get("request") or {},
            dir=job_dir,
            state=JobState(record["state"]),
            created_unix=record.get("created_unix", 0.0),
            started_unix=record.get("started_unix", 0.0),
            finished_unix=record.get("finished_unix", 0.0),
            result=record.get("result"),
            error=JobError(**err) if err else None,
            last_progress=tuple(last) if last else None,  # type: ignore[arg-type]
        )
        # Replay for followers: the outcome is all that is left of a finished job's events.
        if job.state.finished:
            job._events.append(JobEvent(job.id, result=job.result, error=job.error))
        return job


class JobManager:
    """Bounded pool of pipeline jobs with persisted records. See the module docstring."""

    def __init__(self, root: Path, *, workers: int = 1, max_queue: int = 4) -> None:
        if workers < 1 or max_queue < 0:
            raise ValueError("workers must be >= 1 and max_queue >= 0")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._closed = False
        self._load_persisted()
        self._threads = [
            threading.Thread(target=self._worker, name=f"job-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------ public API

    def submit(self, kind: str, work: WorkFn, *, request: dict[str, Any] | None = None) -> Job:
        """Queue ``work``; raises QueueFullError when workers + queue are all taken."""
        with self._lock:
            if self._closed:
                raise QueueFullError("the bridge is shutting down; no new jobs")
            # Count running + queued against workers + max_queue, not the queue alone: a
            # job submitted a moment ago may not have been picked up by a worker yet.
            active = sum(not j.state.finished for j in self._jobs.values())
            if active >= self.workers + self.max_queue:
                raise QueueFullError(
                    f"{active} jobs already running or queued (limit "
                    f"{self.workers} running + {self.max_queue} queued); try again later"
                )
            job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
            job = Job(id=job_id, kind=kind, request=request or {}, dir=self.root / job_id,
                      work=work)
            job.workdir.mkdir(parents=True)
            self._jobs[job_id] = job
            ahead = active
        job._append(JobEvent(job_id, progress=("queued", 0.0, f"{ahead} job(s) ahead")))
        self._persist(job)
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJobError(f"no job with id {job_id!r}", field="job_id")
        return job

    def list(self) -> list[Job]:
        """All known jobs, newest first."""
        with self._lock:
            jobs = list(self._jobs.values())
        return sorted(jobs, key=lambda j: (j.created_unix, j.id), reverse=True)

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop. A queued job ends at once; a running one at its next check."""
        job = self.get(job_id)
        job.cancel_token.cancel()
        with self._lock:
            queued = job.state is JobState.QUEUED
            if queued:
                job.state = JobState.CANCELLED  # the worker skips it when it comes up
        if queued:
            self._finish(job, error=JobError.from_exception(CancelledError("cancelled")))
        return job

    def shutdown(self, *, cancel: bool = True, timeout_s: float = 5.0) -> bool:
        """Stop taking jobs, cancel (or drain) the rest; True if every worker ended in time."""
        with self._lock:
            self._closed = True
            pending = [j for j in self._jobs.values() if not j.state.finished]
        if cancel:
            for job in pending:
                self.cancel(job.id)
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    # ------------------------------------------------------------ internals

    def _worker(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job.state is not JobState.QUEUED:  # cancelled while it waited
                    continue
                job.state = JobState.RUNNING
                job.started_unix = time.time()
            self._persist(job)
            self._run(job)

    def _run(self, job: Job) -> None:
        def progress(stage: str, fraction: float, message: str = "") -> None:
            event = (stage, float(fraction), message)
            job.last_progress = event
            job._append(JobEvent(job.id, progress=event))

        assert job.work is not None
        try:
            job.cancel_token.raise_if_cancelled()
            result = job.work(progress, job.cancel_token, job.workdir)
            job.cancel_token.raise_if_cancelled()  # a cancel that raced the last stage
        except BaseException as exc:  # every failure, even a bug, must end the job
            if not isinstance(exc, BridgeError):
                log.error("job %s crashed:\n%s", job.id, traceback.format_exc())
            self._finish(job, error=JobError.from_exception(exc))
        else:
            self._finish(job, result=result)

    def _finish(self, job: Job, *, result: dict | None = None, error: JobError | None = None
                ) -> None:
        if error is not None:
            # No partial output may outlive a failed or cancelled job.
            shutil.rmtree(job.workdir, ignore_errors=True)
        with self._lock:
            if error is None:
                job.state = JobState.SUCCEEDED
            elif error.kind == "CancelledError":
                job.state = JobState.CANCELLED
            else:
                job.state = JobState.FAILED
            job.result, job.error = result, error
            job.finished_unix = time.time()
            job.work = None  # drop the closure (and whatever request data it holds)
        self._persist(job)
        job._append(JobEvent(job.id, result=result, error=error))

    def _persist(self, job: Job) -> None:
        with self._lock:
            text = json.dumps(job.to_record(), indent=1)
        write_text_atomic(job.dir / JOB_FILE, text)

    def _load_persisted(self) -> None:
        for path in sorted(self.root.glob(f"*/{JOB_FILE}")):
            try:
                job = Job.from_record(json.loads(path.read_text()), path.parent)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring unreadable job record %s: %s", path, exc)
                continue
            if not job.state.finished:
                # The bridge stopped without finishing it (crash, kill -9): it cannot resume.
                job.state = JobState.FAILED
                job.error = JobError("InternalError", "interrupted: the bridge stopped")
                job.finished_unix = time.time()
                shutil.rmtree(job.workdir, ignore_errors=True)
                job._events.append(JobEvent(job.id, error=job.error))
                write_text_atomic(path, json.dumps(job.to_record(), indent=1))
            self._jobs[job.id] = job
