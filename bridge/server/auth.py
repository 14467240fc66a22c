"""The per-install token that the HTTP gateway requires, and where it lives.

Any web page the user opens can send requests to 127.0.0.1; the token (readable only by
the user, mode 0600 in a 0700 folder) is what tells the bridge a request came from a
plugin the user installed. Plugins read it from the same file.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import stat
from pathlib import Path

from bridge import platform_paths
from bridge.outputs import write_text_atomic

log = logging.getLogger(__name__)

TOKEN_FILE = "token"
ENDPOINT_FILE = "bridge.json"  # where a running bridge says which ports it serves


def config_dir(explicit: str | Path | None = None) -> Path:
    """``explicit``, else $SCOREBRIDGE_CONFIG_DIR, else this OS's config folder
    (``bridge.platform_paths.config_dir``: ~/.config/scorebridge on Linux)."""
    return platform_paths.config_dir(explicit)


def load_or_create_token(directory: str | Path | None = None) -> str:
    """The token, created on first use (file mode 0600, folder 0700)."""
    folder = config_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    _tighten(folder, 0o700)
    path = folder / TOKEN_FILE
    try:
        # O_EXCL: two bridges starting together must not overwrite each other's token.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _tighten(path, 0o600)
        token = path.read_text(encoding="ascii").strip()
        if len(token) < 32:
            raise ValueError(f"{path}: token is missing or too short; delete the file") from None
        return token
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")
    log.info("created bridge token at %s", path)
    return token


def token_matches(header: str | None, token: str) -> bool:
    """Check an ``Authorization: Bearer <token>`` header in constant time."""
    if not header or not header.startswith("Bearer "):
        return False
    given = header[len("Bearer "):].strip().encode()
    return hmac.compare_digest(given, token.encode())


def write_endpoint(directory: Path, *, grpc_address: str, http_url: str) -> Path:
    """Tell plugins where this bridge listens (they also need the token beside it)."""
    path = config_dir(directory) / ENDPOINT_FILE
    text = json.dumps({"grpc": grpc_address, "http": http_url, "pid": os.getpid()})
    write_text_atomic(path, text)
    return path


def remove_endpoint(directory: Path) -> None:
    path = config_dir(directory) / ENDPOINT_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():  # not another bridge's
            path.unlink()
    except (OSError, ValueError):
        pass


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current != mode:
        if current & 0o077:
            log.warning("%s was readable by others (mode %o); setting %o", path, current, mode)
        os.chmod(path, mode)
