"""Every test process gets its own analysis cache and numba cache folders, never the user's.

librosa's numba kernels are compiled once, here, before any test starts the subprocesses,
servers and Ray workers that measure audio: numba's on-disk cache is not safe for several
processes compiling the same kernel at once (a fresh venv's first run corrupted it and later
measurements crashed).
"""

import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="scorebridge-test-cache-")
os.environ["SCOREBRIDGE_CACHE_DIR"] = _CACHE  # set before any test (or subprocess) starts
os.environ["NUMBA_CACHE_DIR"] = os.path.join(_CACHE, "numba")


def pytest_configure(config):
    from bridge.eval.evaluate import warm_up

    warm_up()


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)
