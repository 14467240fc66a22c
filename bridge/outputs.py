"""All-or-nothing outputs: single files and whole output folders.

`atomic_write` writes one file through a temp file beside it and renames it into place, so
readers never see half a file. A whole job writes every file into a hidden staging folder
inside the destination; only when the whole job has succeeded are the files renamed into
place. A failed or cancelled job removes
the staging folder, so the destination never holds a half-written set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from bridge.errors import BridgeError


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write through a temp file in the same folder, then rename into place."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise BridgeError(f"cannot write here: {err.strerror}", path=path) from err
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


class StagedOutputs:
    def __init__(self, final_dir: Path, staging_dir: Path) -> None:
        self.final_dir = final_dir
        self.staging_dir = staging_dir

    def path(self, name: str) -> Path:
        """Where to write `name` now (inside the staging folder)."""
        return self.staging_dir / name

    def final(self, name: str) -> Path:
        """Where `name` will live once the job succeeds (for references inside files)."""
        return self.final_dir / name

    def commit(self) -> None:
        for entry in sorted(self.staging_dir.iterdir()):
            target = self.final_dir / entry.name
            if entry.is_dir():
                if target.exists():
                    shutil.rmtree(target)
                entry.rename(target)
            else:
                os.replace(entry, target)


@contextmanager
def staged_outputs(final_dir: str | Path) -> Iterator[StagedOutputs]:
    final = Path(final_dir).expanduser().resolve()
    try:
        final.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BridgeError(f"cannot create output folder: {err.strerror}", path=final) from err
    staging = Path(tempfile.mkdtemp(prefix=".scorebridge-", dir=final))
    outputs = StagedOutputs(final, staging)
    try:
        yield outputs
        outputs.commit()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
