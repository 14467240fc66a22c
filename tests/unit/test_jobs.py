"""JobManager: bounded pool, followers from the first event, cancel, persistence.

The work functions here are small real workloads (they write files, wait on events, raise
the bridge's errors); the manager under test is the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bridge.errors import InvalidOptionError
from bridge.jobs import JOB_FILE, LIVE_PREFIX, JobManager, JobState, QueueFullError, UnknownJobError

pytestmark = pytest.mark.timeout(60)


def gated(gate: threading.Event, *, started: threading.Event | None = None, steps: int = 3):
    """Work that reports progress, writes a file, and waits for `gate` (checking cancel)."""

    def work(progress, cancel, workdir: Path) -> dict:
        (workdir / "partial.bin").write_bytes(b"x" * 100)
        if started is not None:  # only once the partial file exists, which tests check
            started.set()
        for i in range(steps):
            progress("affect", i / steps, f"step {i}")
        while not gate.wait(0.01):
            cancel.raise_if_cancelled()
        progress("affect", 1.0, "done")
        return {"answer": 42}

    return work


@pytest.fixture
def manager(tmp_path):
    m = JobManager(tmp_path / "jobs", workers=1, max_queue=1)
    yield m
    m.shutdown(timeout_s=5)


def wait_done(job) -> list:
    """Every event of the job, returning once its final event is in (the module timeout
    bounds the wait)."""
    return list(job.events(poll_s=0.05))


def test_success_events_and_record(manager):
    gate = threading.Event()
    gate.set()
    job = manager.submit("analyze", gated(gate), request={"source": "a.otio"})
    events = wait_done(job)
    assert events[0].progress[0] == "queued"
    assert [e.progress[1] for e in events[1:-1]] == [0.0, 1 / 3, 2 / 3, 1.0]
    assert events[-1].result == {"answer": 42}
    assert job.state is JobState.SUCCEEDED and job.finished_unix >= job.started_unix > 0
    record = json.loads((job.dir / JOB_FILE).read_text())
    assert record["state"] == "SUCCEEDED" and record["result"] == {"answer": 42}
    assert record["request"] == {"source": "a.otio"}
    # A late follower still sees everything from the first event.
    assert [e.progress for e in job.events()] == [e.progress for e in events]


def test_bound_counts_running_and_queued(manager):
    gate, started = threading.Event(), threading.Event()
    first = manager.submit("score", gated(gate, started=started))
    second = manager.submit("score", gated(gate))
    with pytest.raises(QueueFullError):
        manager.submit("score", gated(gate))
    assert started.wait(5)
    assert first.state is JobState.RUNNING and second.state is JobState.QUEUED
    gate.set()
    wait_done(first)
    wait_done(second)
    assert second.started_unix >= first.finished_unix
    manager.submit("score", gated(gate))  # room again


def test_cancel_running_removes_partial_output(manager):
    gate, started = threading.Event(), threading.Event()
    job = manager.submit("score", gated(gate, started=started))
    assert started.wait(5)
    assert (job.workdir / "partial.bin").exists()
    manager.cancel(job.id)
    events = wait_done(job)
    assert job.state is JobState.CANCELLED
    assert events[-1].error.kind == "CancelledError"
    assert not job.workdir.exists()
    assert json.loads((job.dir / JOB_FILE).read_text())["state"] == "CANCELLED"


def test_cancel_queued_never_runs(manager):
    gate, started = threading.Event(), threading.Event()
    first = manager.submit("score", gated(gate, started=started))
    ran = threading.Event()

    def must_not_run(progress, cancel, workdir):
        ran.set()
        return {}

    second = manager.submit("score", must_not_run)
    assert started.wait(5)
    manager.cancel(second.id)
    assert second.state is JobState.CANCELLED
    gate.set()
    wait_done(first)
    assert first.state is JobState.SUCCEEDED
    assert not ran.is_set()


def test_failure_keeps_error_context(manager):
    def bad(progress, cancel, workdir):
        (workdir / "half.wav").write_bytes(b"RIFF")
        raise InvalidOptionError("800 dB is outside 0..40", field="duck_db")

    job = manager.submit("score", bad)
    events = wait_done(job)
    assert job.state is JobState.FAILED
    assert events[-1].error.kind == "InvalidOptionError"
    assert events[-1].error.field == "duck_db" and "duck_db" in events[-1].error.message
    assert not job.workdir.exists()


def test_bug_in_work_is_internal_error(manager):
    def buggy(progress, cancel, workdir):
        return {}["missing"]

    job = manager.submit("analyze", buggy)
    wait_done(job)
    assert job.state is JobState.FAILED and job.error.kind == "InternalError"
    assert "KeyError" in job.error.message


def test_restart_lists_finished_and_fails_interrupted(tmp_path):
    root = tmp_path / "jobs"
    first = JobManager(root, workers=1, max_queue=1)
    gate, started = threading.Event(), threading.Event()
    gate.set()
    done = first.submit("analyze", gated(gate))
    wait_done(done)
    stuck_gate = threading.Event()
    stuck = first.submit("score", gated(stuck_gate, started=started))
    assert started.wait(5)
    # Simulate a crash: the record on disk still says RUNNING, and the process that owned
    # the job (its .live-<pid> marker) is gone.
    assert json.loads((stuck.dir / JOB_FILE).read_text())["state"] == "RUNNING"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (stuck.dir / f"{LIVE_PREFIX}{os.getpid()}").rename(stuck.dir / f"{LIVE_PREFIX}{dead.pid}")

    second = JobManager(root)
    try:
        again = second.get(done.id)
        assert again.state is JobState.SUCCEEDED and again.result == {"answer": 42}
        assert [e.result for e in again.events()] == [{"answer": 42}]
        interrupted = second.get(stuck.id)
        assert interrupted.state is JobState.FAILED and "interrupted" in interrupted.error.message
        assert [j.id for j in second.list()] == [stuck.id, done.id]  # newest first
        with pytest.raises(UnknownJobError):
            second.get("nope")
    finally:
        stuck_gate.set()
        first.shutdown(timeout_s=5)
        second.shutdown(timeout_s=5)


def test_shutdown_cancels_and_refuses(tmp_path):
    m = JobManager(tmp_path / "jobs", workers=1, max_queue=2)
    gate, started = threading.Event(), threading.Event()
    running = m.submit("score", gated(gate, started=started))
    queued = m.submit("score", gated(gate))
    assert started.wait(5)
    assert m.shutdown(cancel=True, timeout_s=5)
    assert running.state is JobState.CANCELLED and queued.state is JobState.CANCELLED
    with pytest.raises(QueueFullError):
        m.submit("score", gated(gate))


def test_follower_stops_when_not_alive(manager):
    gate, started = threading.Event(), threading.Event()
    job = manager.submit("score", gated(gate, started=started, steps=0))
    assert started.wait(5)
    alive = [True]
    seen = []
    follower = threading.Thread(target=lambda: seen.extend(job.events(poll_s=0.02,
                                                                       alive=lambda: alive[0])))
    follower.start()
    alive[0] = False
    follower.join(2)
    assert not follower.is_alive()  # it gave up although the job is still running
    assert job.state is JobState.RUNNING
    gate.set()
    wait_done(job)


def test_job_ids_sort_in_submission_order_within_a_millisecond(tmp_path):
    """Pruning keeps the newest jobs by id: ids made in the same millisecond must not sort
    at random."""
    manager = JobManager(tmp_path / "jobs", workers=1, max_queue=50)
    try:
        jobs = [manager.submit("analyze", lambda p, c, w: {}) for _ in range(20)]
        ids = [j.id for j in jobs]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    finally:
        manager.shutdown()
