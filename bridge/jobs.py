"""Jobs: long pipeline runs that outlive the request that started them.

A :class:`JobManager` runs at most ``workers`` jobs at a time (the pipeline is CPU-heavy;
default one) and holds up to ``max_queue`` more; past that ``submit`` raises
:class:`QueueFullError`. Each job has a :class:`CancelToken`, an append-only list of events
that any number of followers can read from the beginning, and a record persisted at
``root/<job_id>/job.json`` (atomic rename) so a restarted bridge still lists finished jobs.

A job's work function gets ``(progress, cancel, workdir)`` and returns a JSON-able dict.
``workdir`` is ``root/<job_id>/work``, the place for inputs and default outputs; when a job
fails or is cancelled the folder is removed, so no partial output survives it. The
manager's ``runner`` decides where the work runs: in this process, or (``serve --ray``) as a
Ray task through :func:`bridge.cluster.run_on_ray`, with the same progress, cancel and result.

Bounded over time: finished jobs are pruned (the newest ``keep_last`` are kept, none older
than ``keep_days``), and records are read from disk only when a caller asks for them, so
neither start-up time nor memory grows with the history. A job's folder holds a
``.live-<pid>`` marker while it is unfinished; at start a marker whose process is gone
means the job was interrupted: it is marked so and its partial files are removed.

Pure Python on purpose (no grpc): the server maps :class:`JobError.kind` to status codes.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import queue
import re
import shutil
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError, CancelledError
from bridge.local_config import pid_alive
from bridge.outputs import remove_stale_staging, write_text_atomic
from bridge.progress import CancelToken, ProgressFn

log = logging.getLogger(__name__)

WorkFn = Callable[[ProgressFn, CancelToken, Path], dict[str, Any]]
# Where a job's work runs: in this process by default; `serve --ray` passes one that runs it
# as a Ray task (bridge/cluster.py) with the same arguments, progress, cancel and result.
Runner = Callable[[WorkFn, ProgressFn, CancelToken, Path], dict[str, Any]]


def run_in_process(work: WorkFn, progress: ProgressFn, cancel: CancelToken, workdir: Path
                   ) -> dict[str, Any]:
    return work(progress, cancel, workdir)

JOB_FILE = "job.json"
WORK_DIR = "work"
LIVE_PREFIX = ".live-"  # + pid: present while the job is unfinished
KEEP_LAST = 200  # finished jobs kept (newest first)
KEEP_DAYS = 30.0  # finished jobs older than this are removed
MAX_RESULT_BYTES = 16 << 20  # a result's JSON; more is refused (markers/length limits come first)
_CACHED_RECORDS = 64  # finished jobs held in memory after they were read or ran
# "20261128-072230123-0a1b2c3d" (the older form has no milliseconds); anything else given
# as a job id never reaches the file system.
JOB_ID_RE = re.compile(r"[0-9]{8}-[0-9]{6}(?:[0-9]{3})?-[0-9a-f]{8}")


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


class ResultTooLargeError(BridgeError):
    """A job's result is larger than the bridge keeps (MAX_RESULT_BYTES)."""


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

    def __init__(self, root: Path, *, workers: int = 1, max_queue: int = 4,
                 keep_last: int = KEEP_LAST, keep_days: float = KEEP_DAYS,
                 runner: Runner = run_in_process) -> None:
        if workers < 1 or max_queue < 0:
            raise ValueError("workers must be >= 1 and max_queue >= 0")
        if keep_last < 1 or keep_days <= 0:
            raise BridgeError("keep at least one job, for more than 0 days", field="keep_jobs")
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.root, 0o700)  # records name every user's paths
        except OSError as err:
            raise BridgeError(f"cannot use the jobs folder: {err.strerror}", path=self.root
                              ) from err
        self.workers = workers
        self.runner = runner
        self.max_queue = max_queue
        self.keep_last = keep_last
        self.keep_days = keep_days
        self._lock = threading.Lock()
        self._last_id_ms = 0  # the newest job id's millisecond (ids strictly increase)
        self._live: dict[str, Job] = {}  # queued or running, in this process
        self._cache: OrderedDict[str, Job] = OrderedDict()  # finished, least recent first
        self._finished_ids: set[str] = set()  # on disk; records are read on demand
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._closed = False
        self._scan()
        self.prune()
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
            active = len(self._live)
            if active >= self.workers + self.max_queue:
                raise QueueFullError(
                    f"{active} jobs already running or queued (limit "
                    f"{self.workers} running + {self.max_queue} queued); try again later"
                )
            # Ids sort in submission order (pruning keeps the newest by id): two jobs in the
            # same millisecond get consecutive milliseconds, not a random order.
            ms = max(int(time.time() * 1000), self._last_id_ms + 1)
            self._last_id_ms = ms
            job_id = (time.strftime("%Y%m%d-%H%M%S", time.localtime(ms / 1000))
                      + f"{ms % 1000:03d}-" + uuid.uuid4().hex[:8])
            job = Job(id=job_id, kind=kind, request=request or {}, dir=self.root / job_id,
                      work=work)
            job.workdir.mkdir(parents=True)
            (job.dir / f"{LIVE_PREFIX}{os.getpid()}").touch()
            self._live[job_id] = job
            ahead = active
        job._append(JobEvent(job_id, progress=("queued", 0.0, f"{ahead} job(s) ahead")))
        self._persist(job)
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._live.get(job_id) or self._cache.get(job_id)
            if job is not None:
                if job_id in self._cache:
                    self._cache.move_to_end(job_id)
                return job
            known = job_id in self._finished_ids
        job = self._read(job_id) if known else None
        if job is None:
            raise UnknownJobError(f"no job with id {job_id!r}", field="job_id")
        return job

    def list(self, limit: int = 0) -> list[Job]:
        """Known jobs, newest first; ``limit`` > 0 reads only that many records."""
        with self._lock:
            ids = sorted({*self._live, *self._finished_ids}, reverse=True)
        if limit > 0:
            ids = ids[:limit]
        jobs = []
        for job_id in ids:
            try:
                jobs.append(self.get(job_id))
            except UnknownJobError:  # pruned or unreadable meanwhile
                continue
        return jobs

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

    def prune(self) -> list[str]:
        """Remove finished jobs beyond ``keep_last`` or older than ``keep_days``.

        Only folders in the jobs root are removed (records and default outputs); files a
        job wrote into a folder the user named stay. Returns the removed ids.
        """
        with self._lock:
            finished = sorted(self._finished_ids, reverse=True)
        cutoff = time.time() - self.keep_days * 86400
        doomed = finished[self.keep_last:]
        for job_id in finished[: self.keep_last]:
            try:
                if (self.root / job_id / JOB_FILE).stat().st_mtime < cutoff:
                    doomed.append(job_id)
            except OSError:
                doomed.append(job_id)
        for job_id in doomed:
            with self._lock:
                self._finished_ids.discard(job_id)
                self._cache.pop(job_id, None)
            shutil.rmtree(self.root / job_id, ignore_errors=True)
        return doomed

    def shutdown(self, *, cancel: bool = True, timeout_s: float = 5.0) -> bool:
        """Stop taking jobs, cancel (or drain) the rest; True if every worker ended in time."""
        with self._lock:
            self._closed = True
            pending = list(self._live.values())
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
            result = self.runner(job.work, progress, job.cancel_token, job.workdir)
            job.cancel_token.raise_if_cancelled()  # a cancel that raced the last stage
            size = len(json.dumps(result))
            if size > MAX_RESULT_BYTES:
                raise ResultTooLargeError(
                    f"the result is {size >> 20} MB; the bridge keeps at most "
                    f"{MAX_RESULT_BYTES >> 20} MB (fewer markers or a shorter timeline)")
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
        for marker in job.dir.glob(f"{LIVE_PREFIX}*"):
            marker.unlink(missing_ok=True)
        with self._lock:
            self._live.pop(job.id, None)
            self._finished_ids.add(job.id)
            self._remember(job)
        job._append(JobEvent(job.id, result=result, error=error))
        if len(self._finished_ids) > self.keep_last:
            self.prune()

    def _remember(self, job: Job) -> None:
        """Keep a finished job in the bounded cache (caller holds the lock)."""
        self._cache[job.id] = job
        self._cache.move_to_end(job.id)
        while len(self._cache) > _CACHED_RECORDS:
            self._cache.popitem(last=False)

    def _persist(self, job: Job) -> None:
        with self._lock:
            text = json.dumps(job.to_record(), indent=1)
        write_text_atomic(job.dir / JOB_FILE, text, mode=0o600)

    def _read(self, job_id: str) -> Job | None:
        path = self.root / job_id / JOB_FILE
        try:
            job = Job.from_record(json.loads(path.read_text()), path.parent)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable job record %s: %s", path, exc)
            return None
        if not job.state.finished:  # written by a bridge that stopped before the end
            self._mark_interrupted(job)
        with self._lock:
            self._remember(job)
        return job

    def _scan(self) -> None:
        """Index the job folders by name; settle the ones a dead process left unfinished."""
        try:
            entries = list(os.scandir(self.root))
        except OSError as err:
            raise BridgeError(f"cannot read the jobs folder: {err.strerror}", path=self.root
                              ) from err
        for entry in entries:
            if not JOB_ID_RE.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            folder = Path(entry.path)
            owners = [int(m.name[len(LIVE_PREFIX):]) for m in folder.glob(f"{LIVE_PREFIX}*")
                      if m.name[len(LIVE_PREFIX):].isdigit()]
            if any(pid_alive(pid) for pid in owners):
                continue  # another running bridge's job (a shared jobs folder)
            if not (folder / JOB_FILE).exists():
                if owners:  # died between creating the folder and writing the record
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            if owners:
                job = self._read(entry.name)  # marks it interrupted and cleans it up
                if job is None:
                    continue
                for marker in folder.glob(f"{LIVE_PREFIX}*"):
                    marker.unlink(missing_ok=True)
            self._finished_ids.add(entry.name)

    def _mark_interrupted(self, job: Job) -> None:
        """The bridge stopped without finishing ``job`` (crash, kill -9): it cannot resume."""
        job.state = JobState.FAILED
        job.error = JobError("InternalError", "interrupted: the bridge stopped")
        job.finished_unix = time.time()
        shutil.rmtree(job.workdir, ignore_errors=True)
        output_dir = job.request.get("output_dir")
        if output_dir:  # where its staging folder was, if it had got that far
            remove_stale_staging(output_dir)
        job._events.clear()
        job._events.append(JobEvent(job.id, error=job.error))
        write_text_atomic(job.dir / JOB_FILE, json.dumps(job.to_record(), indent=1), mode=0o600)


