"""Every test process gets its own analysis cache folder, never the user's."""

import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="scorebridge-test-cache-")
os.environ["SCOREBRIDGE_CACHE_DIR"] = _CACHE  # set before any test (or subprocess) starts


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)
