"""All-or-nothing, versioned outputs: single files and whole results.

`atomic_write` writes one file through a temp file beside it and renames it into place, so
readers never see half a file. A whole result (a score: WAV, MIDI, OTIO, affect files,
stems/, report) is written into a hidden staging folder inside the destination; only when
the job has succeeded are its entries moved into place, and if any move fails every move
already made is undone. A failed or cancelled job removes the staging folder.

Nothing the bridge did not write is ever replaced or deleted. Every file of one result
carries the same version: the first result in a folder uses the plain names (``score.wav``,
``stems/``), the next one ``score.v2.wav``, ``stems.v2/``, ``affect.v2.csv`` … and a manifest
(``scorebridge-result.json``, ``scorebridge-result.v2.json`` …) lists what that result wrote.
With ``overwrite`` a new result takes the place of the latest one, and even then only the
files that result's manifest lists (and that still have the size it recorded) are replaced;
anything else in the way stops the commit before it moves a thing.

Public API, shared by the pipeline, the CLI and re-scoring: :func:`versioned_name`,
:func:`versions_in_use`, :func:`next_version`, :class:`ResultManifest`,
:func:`read_manifest`, :func:`latest_manifest`, :func:`staged_outputs`,
:func:`remove_stale_staging`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bridge.errors import BridgeError
from bridge.local_config import pid_alive

MANIFEST_NAME = "scorebridge-result.json"
MANIFEST_FORMAT = "scorebridge.result"
STAGING_PREFIX = ".scorebridge-"  # + "<pid>-<random>"
_OWNER_FILE = ".owner"  # inside a staging folder; locked while its process stages there
_REPLACED_DIR = ".replaced"  # inside a staging folder: what overwrite moved aside
_STAGING_RE = re.compile(re.escape(STAGING_PREFIX) + r"(\d+)-[A-Za-z0-9_]+$")
_STALE_GRACE_S = 60.0  # a folder this young may be a live process that has not locked yet


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread runs.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


RESULT_FILE_MODE = 0o666 & ~_current_umask()  # what open() would give: 0644 under umask 022


class OutputExistsError(BridgeError):
    """A result would replace a file or folder that Scorebridge did not write."""


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None], *,
                 mode: int | None = None) -> Path:
    """Write through a temp file in the same folder, then rename into place.

    ``mode`` defaults to what a plain ``open`` would create (0666 less the umask), so every
    result file has the same permissions however it was written; secrets pass 0o600.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise BridgeError(f"cannot write here: {err.strerror}", path=path) from err
    try:
        os.chmod(tmp, RESULT_FILE_MODE if mode is None else mode)  # not fchmod: Windows
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str, *, mode: int | None = None) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")), mode=mode)


# ---------------------------------------------------------------- version names


def versioned_name(name: str, version: int) -> str:
    """``score.wav`` -> ``score.v2.wav``; ``stems`` -> ``stems.v2``; version 1 is ``name``.

    The version follows the name's first part: ``score.plan.json`` -> ``score.v2.plan.json``.

    Only the first component of a relative name is versioned: ``stems/pad.wav`` ->
    ``stems.v2/pad.wav`` (the files inside a versioned folder keep their names).
    """
    if version < 1:
        raise ValueError(f"versions start at 1, not {version}")
    head, sep, tail = name.partition("/")
    if version == 1:
        return name
    stem, suffix = _split(head)
    return f"{stem}.v{version}{suffix}{sep}{tail}"


def _split(name: str) -> tuple[str, str]:
    # The version goes after the first part, so derived names line up:
    # score.v2.wav, score.v2.plan.json, stems.v2.
    dot = name.find(".", 1)
    return (name, "") if dot < 0 else (name[:dot], name[dot:])


def _version_of(entry: str, base: str) -> int | None:
    """The version ``entry`` has as a name of ``base`` (``score.v3.wav`` of ``score.wav``)."""
    if entry == base:
        return 1
    stem, suffix = _split(base)
    match = re.fullmatch(re.escape(stem) + r"\.v([1-9][0-9]{0,5})" + re.escape(suffix), entry)
    return int(match.group(1)) if match else None


def versions_in_use(folder: str | Path, names: Iterable[str]) -> set[int]:
    """Every version of any of ``names`` (or of a result manifest) present in ``folder``."""
    bases = {n.partition("/")[0] for n in names} | {MANIFEST_NAME}
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return set()
    except OSError as err:
        raise BridgeError(f"cannot list the output folder: {err.strerror}", path=folder) from err
    found = set()
    for entry in entries:
        for base in bases:
            version = _version_of(entry, base)
            if version is not None:
                found.add(version)
    return found


def next_version(folder: str | Path, names: Iterable[str]) -> int:
    """One more than the highest version in use, so versions only ever grow."""
    return max(versions_in_use(folder, names), default=0) + 1


# ---------------------------------------------------------------- manifests


@dataclass(frozen=True)
class ResultManifest:
    """What one result wrote into its folder: the files (relative, with their sizes)."""

    path: Path
    version: int
    kind: str
    created_unix: float
    files: dict[str, int]  # final relative name ("score.v2.wav", "stems.v2/pad.wav") -> bytes
    job_id: str = ""

    @property
    def folder(self) -> Path:
        return self.path.parent

    def lists(self, relative: str) -> bool:
        """True if ``relative`` is a file this result wrote and it still has the same size."""
        size = self.files.get(relative)
        target = self.folder / relative
        return size is not None and target.is_file() and not target.is_symlink() \
            and target.stat().st_size == size

    def owns_entry(self, entry: str) -> bool:
        """True if top-level ``entry`` (a file, or a folder and everything in it) is ours."""
        target = self.folder / entry
        if target.is_symlink() or not target.exists():
            return False
        if target.is_file():
            return self.lists(entry)
        inside = [p for p in target.rglob("*") if not p.is_dir() or p.is_symlink()]
        return all(self.lists(p.relative_to(self.folder).as_posix()) for p in inside)

    def to_json(self) -> dict[str, Any]:
        return {"format": MANIFEST_FORMAT, "version": self.version, "kind": self.kind,
                "job_id": self.job_id, "created_unix": self.created_unix,
                "files": [{"name": n, "size": s} for n, s in sorted(self.files.items())]}


def read_manifest(path: str | Path) -> ResultManifest | None:
    """The manifest at ``path``, or None when there is none or it is not one of ours."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != MANIFEST_FORMAT:
            return None
        files = {str(f["name"]): int(f["size"]) for f in doc["files"]}
        return ResultManifest(path, int(doc["version"]), str(doc.get("kind", "")),
                              float(doc.get("created_unix", 0.0)), files,
                              str(doc.get("job_id", "")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def latest_manifest(folder: str | Path) -> ResultManifest | None:
    """The manifest of the newest result in ``folder`` (highest version), if any."""
    for version in sorted(versions_in_use(folder, ()), reverse=True):
        manifest = read_manifest(Path(folder) / versioned_name(MANIFEST_NAME, version))
        if manifest is not None and manifest.version == version:
            return manifest
    return None


# ---------------------------------------------------------------- staging


class StagedOutputs:
    """A result being written: ``path(name)`` to write now, ``final(name)`` to refer to."""

    def __init__(self, final_dir: Path, staging_dir: Path, version: int, *,
                 kind: str = "", overwrite: bool = False,
                 replaces: ResultManifest | None = None, job_id: str = "") -> None:
        self.final_dir = final_dir
        self.staging_dir = staging_dir
        self.version = version
        self.kind = kind
        self.overwrite = overwrite
        self.replaces = replaces
        self.job_id = job_id
        self.manifest: ResultManifest | None = None

    def path(self, name: str) -> Path:
        """Where to write ``name`` now: inside the staging folder, already under its
        versioned name (so a report's relative link to the WAV stays right)."""
        return self.staging_dir / versioned_name(name, self.version)

    def final(self, name: str) -> Path:
        """Where ``name`` will live once the job succeeds (for references inside files)."""
        return self.final_dir / versioned_name(name, self.version)

    @property
    def manifest_path(self) -> Path:
        return self.final(MANIFEST_NAME)

    def commit(self) -> None:
        """Move every staged entry into place, or none: a failure undoes the moves made."""
        entries = sorted(e for e in os.listdir(self.staging_dir)
                         if e not in (_OWNER_FILE, _REPLACED_DIR))
        if self.kind:  # a result with a manifest
            self._stage_manifest(entries)
            entries.append(versioned_name(MANIFEST_NAME, self.version))
        aside = self._check_targets(entries)
        moved: list[tuple[Path, Path]] = []  # (from, to), in order, for the rollback
        try:
            if aside:
                replaced = self.staging_dir / _REPLACED_DIR
                replaced.mkdir()
                for name in aside:
                    _move(self.final_dir / name, replaced / name, moved)
            for name in entries:
                _place(self.staging_dir / name, self.final_dir / name, moved)
        except BaseException as exc:
            undone = _undo(moved)
            if isinstance(exc, OSError):
                note = "nothing was changed" if undone else "some files could not be put back"
                raise BridgeError(f"cannot put the result in place ({exc.strerror or exc}); "
                                  f"{note}", path=getattr(exc, "filename", None) or self.final_dir
                                  ) from exc
            raise

    def _stage_manifest(self, entries: list[str]) -> None:
        files: dict[str, int] = {}
        for entry in entries:
            p = self.staging_dir / entry
            if p.is_dir() and not p.is_symlink():
                for f in sorted(p.rglob("*")):
                    if f.is_file():
                        files[f.relative_to(self.staging_dir).as_posix()] = f.stat().st_size
            else:
                files[entry] = p.stat().st_size
        self.manifest = ResultManifest(self.manifest_path, self.version, self.kind, time.time(),
                                       files, self.job_id)
        write_text_atomic(self.path(MANIFEST_NAME), json.dumps(self.manifest.to_json(), indent=1))

    def _check_targets(self, entries: list[str]) -> list[str]:
        """Refuse before moving anything; return what overwrite will move aside."""
        ours = self.replaces if self.overwrite else None
        aside = []
        for entry in entries:
            target = self.final_dir / entry
            if not os.path.lexists(target):
                continue
            if ours is not None and target == ours.path:  # the manifest it replaces
                aside.append(entry)
                continue
            if ours is None or not ours.owns_entry(entry):
                why = ("it was not written by Scorebridge or has changed since" if self.overwrite
                       else "it already exists")
                raise OutputExistsError(f"not replacing this: {why}", path=target)
            aside.append(entry)
        if ours is not None:  # the rest of the replaced result goes too, if still unchanged
            tops = {n.partition("/")[0] for n in ours.files} - set(entries)
            aside += sorted(t for t in tops if ours.owns_entry(t))
        return aside


def _move(src: Path, dst: Path, moved: list[tuple[Path, Path]]) -> None:
    os.rename(src, dst)
    moved.append((src, dst))


def _place(src: Path, dst: Path, moved: list[tuple[Path, Path]]) -> None:
    """Rename ``src`` to ``dst`` without ever replacing something that appeared there."""
    if src.is_file() and not src.is_symlink():
        try:
            os.link(src, dst)  # fails if dst exists, where rename would silently replace it
        except FileExistsError:
            raise OutputExistsError("not replacing this: it appeared during the commit",
                                    path=dst) from None
        except OSError:  # no hard links on this file system: check, then rename
            if os.path.lexists(dst):
                raise OutputExistsError("not replacing this: it already exists",
                                        path=dst) from None
            os.rename(src, dst)
        else:
            os.unlink(src)
    else:
        if os.path.lexists(dst):
            raise OutputExistsError("not replacing this: it already exists", path=dst)
        os.rename(src, dst)
    moved.append((src, dst))


def _undo(moved: list[tuple[Path, Path]]) -> bool:
    ok = True
    for src, dst in reversed(moved):
        try:
            os.rename(dst, src)
        except OSError:
            ok = False
    return ok


def _lock(path: Path):
    """An exclusive, non-blocking lock on ``path`` (an open file), or None if held elsewhere.

    ``fcntl`` locks are per open file, so they also tell apart two jobs of one process.
    """
    try:
        import fcntl
    except ImportError:  # Windows: the PID check alone decides
        return None
    f = open(path, "a")  # noqa: SIM115 - the caller keeps it open as long as it stages
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def remove_stale_staging(folder: str | Path) -> list[Path]:
    """Remove staging folders left by a process that died (SIGKILL, power loss).

    A folder is stale when the PID in its name is not running, or when that PID now
    belongs to another process (its owner lock is free) and it is older than a minute.
    Returns what was removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STAGING_RE.fullmatch(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        stale = not pid_alive(int(match.group(1)))
        if not stale and time.time() - entry.stat().st_mtime > _STALE_GRACE_S \
                and (path / _OWNER_FILE).exists():
            held = _lock(path / _OWNER_FILE)
            if held is not None:
                held.close()
                stale = True
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextmanager
def staged_outputs(final_dir: str | Path, names: Iterable[str] = (), *, kind: str = "",
                   overwrite: bool = False, job_id: str = "") -> Iterator[StagedOutputs]:
    """Stage a result for ``final_dir``; commit it when the block ends without an error.

    ``names`` are the names the result may write (unversioned: "score.wav", "stems"); the
    version is chosen from them so that no file of the new result collides with an older
    one. ``kind`` (e.g. "score") writes a manifest; ``overwrite`` replaces the latest
    result's files instead (see the module docstring).
    """
    final = Path(final_dir).expanduser().resolve()
    try:
        final.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BridgeError(f"cannot create output folder: {err.strerror}", path=final) from err
    if not final.is_dir():
        raise BridgeError("the output folder is not a folder", path=final)
    remove_stale_staging(final)
    replaces = latest_manifest(final) if overwrite else None
    version = replaces.version if replaces is not None else next_version(final, names)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=final))
    except OSError as err:
        raise BridgeError(f"cannot write into the output folder: {err.strerror}",
                          path=final) from err
    owner = _lock(staging / _OWNER_FILE)
    outputs = StagedOutputs(final, staging, version, kind=kind, overwrite=overwrite,
                            replaces=replaces, job_id=job_id)
    try:
        yield outputs
        outputs.commit()
    finally:
        if owner is not None:
            with contextlib.suppress(OSError):
                owner.close()
        shutil.rmtree(staging, ignore_errors=True)
