"""Progress reporting and cooperative cancellation shared by every stage.

Stages call ``progress(stage, fraction, message)`` and ``cancel.raise_if_cancelled()`` at
natural boundaries (a frame batch, a section); they never know who is listening.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bridge.errors import CancelledError

ProgressFn = Callable[[str, float, str], None]


def no_progress(stage: str, fraction: float, message: str = "") -> None:
    """The default listener: ignores everything."""


class CancelToken:
    """Set from another thread (an RPC cancel, SIGTERM); checked by the pipeline."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("cancelled")


NEVER_CANCELLED = CancelToken()
