"""A cheap cache key for a media file: changes when the file does, without reading it all."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bridge.media._container import block_content_keys, check_exists

_EDGE_BYTES = 64 * 1024


def content_key(path: str | Path) -> str:
    """blake2b of size, mtime_ns and the first and last 64 KiB, as hex (read once per file
    inside ``reuse_open_files``, where the picture, sound and cut passes all ask)."""
    path = check_exists(path)
    st = path.stat()
    known = block_content_keys()
    seen = None if known is None else (str(path.resolve()), st.st_size, st.st_mtime_ns,
                                       st.st_ino)
    if known is not None and seen in known:
        return known[seen]
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with open(path, "rb") as f:
        h.update(f.read(_EDGE_BYTES))
        if st.st_size > _EDGE_BYTES:
            f.seek(max(_EDGE_BYTES, st.st_size - _EDGE_BYTES), os.SEEK_SET)
            h.update(f.read(_EDGE_BYTES))
    key = h.hexdigest()
    if known is not None:
        known[seen] = key
    return key
