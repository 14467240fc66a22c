"""`python -m bridge serve` as a real process: ready, then SIGTERM during a job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bridge_fixtures import SLOW, first_event, make_timeline, run_in_thread

from bridge.client import BridgeClient, HttpBridgeClient, RemoteError

pytestmark = pytest.mark.timeout(180)

GRACE_S = 3.0
REPO = Path(__file__).resolve().parents[2]


def start_serve(tmp_path: Path) -> tuple[subprocess.Popen, dict, Path, Path]:
    jobs_dir, config_dir = tmp_path / "jobs", tmp_path / "config"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve", "--port", "0", "--http-port", "0",
         "--jobs-dir", str(jobs_dir), "--config-dir", str(config_dir),
         "--grace", str(GRACE_S)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    endpoint_file = config_dir / "bridge.json"
    deadline = time.monotonic() + 60
    while not endpoint_file.exists():
        if proc.poll() is not None:
            pytest.fail(f"serve exited early ({proc.returncode}): {proc.stdout.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("serve did not write its endpoint file within 60 s")
        time.sleep(0.1)
    return proc, json.loads(endpoint_file.read_text()), jobs_dir, config_dir


def test_sigterm_during_score_exits_in_grace_without_partial_files(tmp_path):
    timeline = make_timeline(tmp_path / "tl", shot_s=5.0, shots=3)
    proc, endpoint, jobs_dir, config_dir = start_serve(tmp_path)
    out = tmp_path / "score_out"
    try:
        assert endpoint["pid"] == proc.pid
        http = HttpBridgeClient.from_config(config_dir)  # what a plugin does
        http.wait_ready(30)
        with BridgeClient.from_config(config_dir) as client:
            client.wait_ready(30)
            on_event, in_affect, ids = first_event("affect")
            box = run_in_thread(client.score, timeline, out, SLOW, on_event=on_event)
            assert in_affect.wait(60), "the job never reached the affect stage"
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=GRACE_S + 5)
            took = time.monotonic() - t0
            box["thread"].join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = proc.stdout.read()
    assert rc == 0, log
    assert took < GRACE_S + 1.0, f"exit took {took:.2f} s\n{log}"
    assert "stopped" in log
    err = box.get("error")
    assert isinstance(err, RemoteError) and err.code in ("CANCELLED", "UNAVAILABLE"), box
    # No partial files: not in the requested output folder, not in the job's folder.
    assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))
    job_dir = jobs_dir / ids[0]
    assert sorted(p.name for p in job_dir.iterdir()) == ["job.json"]
    assert json.loads((job_dir / "job.json").read_text())["state"] == "CANCELLED"
    assert not (config_dir / "bridge.json").exists()  # endpoint withdrawn
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_sigint_when_idle_and_token_kept(tmp_path):
    proc, _, _, config_dir = start_serve(tmp_path)
    token = (config_dir / "token").read_text()
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=GRACE_S + 5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # A second start reuses the install's token.
    proc, _, _, _ = start_serve(tmp_path)
    try:
        assert (config_dir / "token").read_text() == token
        assert oct(os.stat(config_dir / "token").st_mode & 0o777) == "0o600"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=GRACE_S + 5)
