"""All-or-nothing output folders.

A job writes every file into a hidden staging folder inside the destination; only when the
whole job has succeeded are the files renamed into place. A failed or cancelled job removes
the staging folder, so the destination never holds a half-written set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bridge.errors import BridgeError


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
