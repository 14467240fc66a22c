"""The analysis cache: per-shot measurements on disk, so a re-score decodes only what changed.

An entry is a handful of numpy arrays measured on one media file over one media-time range,
by one kind of measurement (the estimator's name, version and parameters, e.g.
``picture-v1-r2-w160``). Layout::

    ROOT/<content key of the media>/<kind>/<start µs>-<end µs>.sbc

The content key (`bridge.media.content_key`) changes when the file does, so an edited or
replaced file never hits an old entry; the range in the file name lets a trimmed shot find
the entry of the untrimmed one and reuse its overlap.

Each file is ``MAGIC + blake2b(payload) + payload`` (payload: ``np.savez``, no pickles). A file
whose checksum does not match is removed and reported as a miss: recomputed, never a crash.
Writes go to a temporary file in the same folder and are renamed into place, so readers in
other processes see either no entry or a whole one; two processes writing the same entry
write the same bytes and the last rename wins. Reads refresh the file's mtime, and `trim`
evicts the least recently used files once the folder outgrows its bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"SBC1"
_DIGEST = 16
SUFFIX = ".sbc"
DEFAULT_MAX_BYTES = 2 << 30  # 2 GiB: a feature film's picture measurements take a few MB
STALE_TMP_S = 3600.0
_KIND_OK = re.compile(r"^[A-Za-z0-9._-]+$")
_MEDIA_KEY = re.compile(r"^[0-9a-f]{16,64}$")  # `content_key` hex digests


def default_cache_dir() -> Path:
    """``$SCOREBRIDGE_CACHE_DIR``, else the platform's user cache folder."""
    explicit = os.environ.get("SCOREBRIDGE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "scorebridge" / "analysis"


def default_max_bytes() -> int:
    mb = os.environ.get("SCOREBRIDGE_CACHE_MAX_MB")
    return int(float(mb) * (1 << 20)) if mb else DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class CacheInfo:
    root: Path
    entries: int
    bytes: int
    max_bytes: int


@dataclass
class CacheStats:
    """What one run asked of the cache (for the CLI's summary and for tests)."""

    hits: int = 0
    misses: int = 0
    partial: int = 0  # a trimmed range served partly from an overlapping entry
    corrupt: int = 0
    writes: int = 0


def _range_name(start_s: float, end_s: float) -> str:
    return f"{round(start_s * 1e6)}-{round(end_s * 1e6)}{SUFFIX}"


def _parse_range(name: str) -> tuple[float, float] | None:
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else None
    if stem is None:
        return None
    a, _, b = stem.partition("-")
    if not (a.isdigit() and b.isdigit()):
        return None
    return int(a) / 1e6, int(b) / 1e6


def encode_entry(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    payload = buf.getvalue()
    return MAGIC + hashlib.blake2b(payload, digest_size=_DIGEST).digest() + payload


def decode_entry(blob: bytes) -> dict[str, np.ndarray] | None:
    """The arrays, or None when the bytes are not a whole, unaltered entry."""
    head = len(MAGIC) + _DIGEST
    if len(blob) < head or blob[: len(MAGIC)] != MAGIC:
        return None
    payload = blob[head:]
    if hashlib.blake2b(payload, digest_size=_DIGEST).digest() != blob[len(MAGIC):head]:
        return None
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError):
        return None


class AnalysisCache:
    """Entries keyed by (media content key, measurement kind, media range)."""

    def __init__(self, root: str | Path | None = None, *, max_bytes: int | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes = default_max_bytes() if max_bytes is None else int(max_bytes)
        self.stats = CacheStats()

    # ------------------------------------------------------------ entries

    def _folder(self, media_key: str, kind: str) -> Path:
        if not _MEDIA_KEY.match(media_key) or not _KIND_OK.match(kind):
            raise ValueError(f"cache keys must be plain names, got {media_key!r}/{kind!r}")
        return self.root / media_key / kind

    def get(self, media_key: str, kind: str, start_s: float, end_s: float,
            ) -> dict[str, np.ndarray] | None:
        path = self._folder(media_key, kind) / _range_name(start_s, end_s)
        found = self._load(path)
        if found is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return found

    def _load(self, path: Path) -> dict[str, np.ndarray] | None:
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        arrays = decode_entry(blob)
        if arrays is None:
            self.stats.corrupt += 1
            path.unlink(missing_ok=True)  # our own file, and useless: recompute it
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # least-recently-used order for `trim`
        return arrays

    def put(self, media_key: str, kind: str, start_s: float, end_s: float,
            arrays: Mapping[str, np.ndarray]) -> None:
        folder = self._folder(media_key, kind)
        blob = encode_entry(arrays)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=SUFFIX)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(blob)
                os.replace(tmp, folder / _range_name(start_s, end_s))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return  # a cache that cannot be written only costs speed
        self.stats.writes += 1

    def overlapping(self, media_key: str, kind: str, start_s: float, end_s: float,
                    ) -> list[tuple[float, float]]:
        """Cached ranges of this media and kind that overlap [start_s, end_s), widest first."""
        try:
            names = os.listdir(self._folder(media_key, kind))
        except OSError:
            return []
        out = []
        for name in names:
            r = _parse_range(name)
            if r is not None and min(r[1], end_s) - max(r[0], start_s) > 0:
                out.append(r)
        return sorted(out, key=lambda r: -(min(r[1], end_s) - max(r[0], start_s)))

    def get_range(self, media_key: str, kind: str, start_s: float, end_s: float,
                  ) -> dict[str, np.ndarray] | None:
        """An entry stored under exactly this range (no hit/miss counted)."""
        return self._load(self._folder(media_key, kind) / _range_name(start_s, end_s))

    # ------------------------------------------------------------ housekeeping

    def _files(self) -> list[tuple[Path, os.stat_result]]:
        out = []
        if not self.root.is_dir():
            return out
        for folder, _, names in os.walk(self.root):
            for name in names:
                p = Path(folder) / name
                try:
                    out.append((p, p.stat()))
                except OSError:
                    continue
        return out

    def info(self) -> CacheInfo:
        files = [(p, st) for p, st in self._files() if p.name.endswith(SUFFIX)
                 and not p.name.startswith(".tmp-")]
        return CacheInfo(self.root, len(files), sum(st.st_size for _, st in files),
                         self.max_bytes)

    def trim(self) -> int:
        """Evict least recently used entries until the cache is under 80 % of its bound.

        Also removes temporary files older than an hour (a writer that was killed). Returns
        the number of files removed."""
        now = time.time()
        removed = 0
        entries = []
        for p, st in self._files():
            if p.name.startswith(".tmp-"):
                if now - st.st_mtime > STALE_TMP_S:
                    p.unlink(missing_ok=True)
                    removed += 1
            elif p.name.endswith(SUFFIX):
                entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return removed
        goal = 0.8 * self.max_bytes
        for _, size, p in sorted(entries):
            if total <= goal:
                break
            p.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        n = self.info().entries
        if self.root.is_dir():
            for child in self.root.iterdir():
                if child.is_dir() and _MEDIA_KEY.match(child.name):  # ours, nothing else
                    shutil.rmtree(child, ignore_errors=True)
        return n
