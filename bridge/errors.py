"""One exception root for everything the bridge reports to a user.

Each error carries the context a person needs to fix the input: the file, the clip and
the field, where known. The CLI prints ``str(err)`` on one line; the gRPC servicer maps
the class to a status code in one place (``bridge/server/status.py``).
"""

from __future__ import annotations

from pathlib import Path


class BridgeError(Exception):
    """Root of every error the bridge raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        clip: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.clip = clip
        self.field = field

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.clip:
            where.append(f"clip {self.clip!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{': '.join(where)}: {self.message}" if where else self.message


class UnreadableTimelineError(BridgeError):
    """The timeline file exists but cannot be parsed as a timeline."""


class NothingToScoreError(UnreadableTimelineError):
    """The timeline reads, but has no picture to score (audio only, gaps only)."""


class UnsupportedFormatError(BridgeError):
    """No reader or writer handles this file type."""


class MissingMediaError(BridgeError):
    """Media a stage needs is absent or offline."""


class UndecodableMediaError(BridgeError):
    """A media file exists but cannot be decoded (not video, corrupt, unknown codec)."""


class InvalidOptionError(BridgeError):
    """An option is out of range or names something that does not exist."""


class BackendUnavailableError(BridgeError):
    """A named backend exists but cannot run here (missing package, weights or SoundFont)."""


class CancelledError(BridgeError):
    """The job was cancelled; whatever it was writing has been removed."""
