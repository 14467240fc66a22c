"""A watch folder: re-score every timeline an NLE exports into a folder, as it lands.

NLEs write an export in several steps (a temp name, then chunks, then a rename), so a file
is scored only once it has stopped changing for ``settle_s``. One job runs at a time; a file
that changes again while it is being scored is scored again afterwards. Each timeline gets
its own output folder beside it (``NAME.scorebridge/``), so every re-export lands as the
next version there and continues the previous one (`bridge.recut`): the music of what the
recut kept stays. A file that cannot be read is reported in one line and watching goes on.

Only this module imports watchdog.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from bridge.errors import BridgeError, InvalidOptionError

TIMELINE_SUFFIXES = (".otio", ".otioz", ".xml", ".fcpxml", ".edl")
OUT_SUFFIX = ".scorebridge"
DEFAULT_SETTLE_S = 2.0
_POLL_S = 0.2

Scorer = Callable[[Path, Path], object]  # (timeline, output folder) -> result
Report = Callable[[str, Path, str], None]  # (event, timeline, message)


@dataclass
class WatchedFile:
    """What the watcher knows of one timeline file."""

    path: Path
    state: str = "waiting"  # waiting | scoring | scored | failed
    message: str = ""
    signature: tuple[int, int] | None = None  # (size, mtime_ns) when last seen changing
    changed_at: float = 0.0
    scored_signature: tuple[int, int] | None = None
    jobs: int = 0


@dataclass
class FolderWatcher:
    """Watches ``folder`` (not its subfolders) and scores settled timeline files."""

    folder: Path
    score: Scorer
    report: Report = field(default=lambda event, path, message: None)
    settle_s: float = DEFAULT_SETTLE_S
    files: dict[Path, WatchedFile] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise InvalidOptionError("not a folder to watch", path=self.folder)
        if not self.settle_s >= 0:
            raise InvalidOptionError(f"{self.settle_s} s is negative", field="settle_s")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = None
        self._worker = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FolderWatcher:
        handler = _Handler(self._touched)
        self._observer = Observer()
        self._observer.schedule(handler, str(self.folder), recursive=False)
        self._observer.start()
        for path in sorted(self.folder.iterdir()):  # what was there before watching began
            self._touched(path)
        self._worker = threading.Thread(target=self._run, name=f"watch {self.folder.name}",
                                        daemon=True)
        self._worker.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout_s)
        if self._worker is not None:
            self._worker.join(timeout_s)

    def __enter__(self) -> FolderWatcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def snapshot(self) -> list[WatchedFile]:
        with self._lock:
            return [WatchedFile(**vars(f)) for f in self.files.values()]

    @staticmethod
    def out_dir_for(timeline: Path) -> Path:
        return timeline.with_name(timeline.name + OUT_SUFFIX)

    # ------------------------------------------------------------ events and jobs

    def _touched(self, path: Path) -> None:
        path = Path(path)
        if path.parent != self.folder or path.suffix.lower() not in TIMELINE_SUFFIXES \
                or path.name.startswith("."):
            return  # temp names (".name.tmp"), other files, our own output folders
        with self._lock:
            entry = self.files.setdefault(path, WatchedFile(path))
            entry.changed_at = time.monotonic()

    def _due(self) -> WatchedFile | None:
        """A file whose size and mtime have held still for ``settle_s`` and are new."""
        now = time.monotonic()
        with self._lock:
            for entry in self.files.values():
                try:
                    st = entry.path.stat()
                except OSError:  # renamed away or deleted before it settled
                    entry.signature = None
                    continue
                signature = (st.st_size, st.st_mtime_ns)
                if signature != entry.signature:
                    entry.signature, entry.changed_at = signature, now
                    continue
                if now - entry.changed_at >= self.settle_s \
                        and signature != entry.scored_signature and st.st_size > 0:
                    entry.state = "scoring"
                    return entry
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            entry = self._due()
            if entry is None:
                self._stop.wait(_POLL_S)
                continue
            signature = entry.signature
            self.report("scoring", entry.path, "")
            try:
                self.score(entry.path, self.out_dir_for(entry.path))
            except BridgeError as err:
                state, message = "failed", str(err)
            except Exception as err:  # one bad export must not stop the watch
                state, message = "failed", f"{type(err).__name__}: {err}"
            else:
                state, message = "scored", ""
            with self._lock:
                entry.state, entry.message = state, message
                entry.scored_signature = signature
                entry.jobs += 1
            self.report(state, entry.path, message)


class _Handler(FileSystemEventHandler):
    def __init__(self, touched: Callable[[Path], None]) -> None:
        self.touched = touched

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for attr in ("src_path", "dest_path"):
            p = getattr(event, attr, "")
            if p:
                self.touched(Path(p if isinstance(p, str) else p.decode()))
