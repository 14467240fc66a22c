"""The per-user config folder: the bridge's token, its TLS pair and ``bridge.json``.

Standard library only (plus ``bridge.errors``, itself standard-library only): the server,
the clients and the Resolve plugin all use this one module, and ``install-resolve`` copies
it beside the Resolve scripts, where only Resolve's own Python runs.

* ``token`` — the per-install secret every gRPC method but health and every HTTP call
  require. Mode 0600 in a 0700 folder. A token that is a symlink or readable by others is
  exposed: the bridge refuses it and writes a new one (clients must re-read it).
* ``bridge.json`` — where the running bridge listens (and its TLS fingerprint). Only the
  bridge holding ``bridge.lock`` writes or removes it, so a second bridge started with the
  same folder neither overwrites it nor deletes it when it stops.
* ``tls-cert.pem`` / ``tls-key.pem`` — the generated self-signed pair (``serve
  --tls-self-signed``), kept so that its fingerprint stays the same across restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import IO, Any

from bridge.errors import BridgeError

log = logging.getLogger(__name__)

TOKEN_FILE = "token"
ENDPOINT_FILE = "bridge.json"
LOCK_FILE = "bridge.lock"
TLS_CERT_FILE = "tls-cert.pem"
TLS_KEY_FILE = "tls-key.pem"
MIN_TOKEN_CHARS = 32
MAX_TOKEN_CHARS = 512


class TokenFileError(BridgeError):
    """The token file is missing, a folder, unreadable, empty or too short."""


def config_dir(explicit: str | Path | None = None) -> Path:
    """``explicit``, else $SCOREBRIDGE_CONFIG_DIR, else this OS's config folder.

    The rule itself lives in ``bridge.platform_paths`` (stdlib-only too, and copied beside
    the Resolve plugin): ~/.config/scorebridge on Linux, Application Support on macOS,
    %APPDATA% on Windows. Everything that needs the folder calls this function.
    """
    from bridge import platform_paths

    return platform_paths.config_dir(explicit)


def private_folder(directory: str | Path | None = None) -> Path:
    """The config folder, created if needed, mode 0700."""
    folder = config_dir(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not folder.is_dir():
            raise TokenFileError("the config folder is not a folder", path=folder)
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            os.chmod(folder, 0o700)
    except OSError as err:
        raise TokenFileError(f"cannot use the config folder: {err.strerror}", path=folder
                             ) from err
    return folder


# ---------------------------------------------------------------- the token


def _check_token_text(text: str, path: Path) -> str:
    token = text.strip()
    if not token:
        raise TokenFileError("the token file is empty", path=path)
    if len(token) < MIN_TOKEN_CHARS:
        raise TokenFileError(f"the token is too short ({len(token)} characters; at least "
                             f"{MIN_TOKEN_CHARS})", path=path)
    if len(token) > MAX_TOKEN_CHARS or not token.isascii() or not token.isprintable() \
            or any(c.isspace() for c in token):
        raise TokenFileError("the token file does not hold one token", path=path)
    return token


def read_token_file(path: str | Path) -> str:
    """A client's token from ``path`` (e.g. ``--token-file``); TokenFileError says what is wrong."""
    path = Path(path).expanduser()
    try:
        if path.is_dir():
            raise TokenFileError("the token file is a folder", path=path)
        with open(path, "rb") as f:
            data = f.read(MAX_TOKEN_CHARS + 2)
    except FileNotFoundError:
        raise TokenFileError("no token file here (copy the bridge's token to this path)",
                             path=path) from None
    except OSError as err:
        raise TokenFileError(f"cannot read the token file: {err.strerror}", path=path
                             ) from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise TokenFileError("the token file does not hold one token", path=path) from None
    return _check_token_text(text, path)


def token_path(directory: str | Path | None = None) -> Path:
    return config_dir(directory) / TOKEN_FILE


def load_or_create_token(directory: str | Path | None = None) -> str:
    """The bridge's token, created on first use (0600 in a 0700 folder).

    A token that others could read (a symlink, group/world permissions) or that is empty
    or short is replaced by a new one; a folder or an unreadable file is an error.
    """
    folder = private_folder(directory)
    path = folder / TOKEN_FILE
    for _ in range(3):  # another bridge may be replacing it at the same moment
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            token = _create_token(path)
            if token is not None:
                return token
            continue
        if stat.S_ISDIR(info.st_mode):
            raise TokenFileError("the token file is a folder; remove it", path=path)
        exposed = ("a symlink" if stat.S_ISLNK(info.st_mode)
                   else "not a regular file" if not stat.S_ISREG(info.st_mode)
                   else f"readable by others (mode {stat.S_IMODE(info.st_mode):o})"
                   if info.st_mode & 0o077 else "")
        if not exposed:
            try:
                return _check_token_text(_read_no_follow(path), path)
            except TokenFileError:
                exposed = "empty or not a valid token"
        log.warning("%s: the token file is %s; it is refused and replaced by a new one "
                    "(plugins must read it again)", path, exposed)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # the link itself, never its target
    raise TokenFileError("the token file keeps changing; is another bridge starting?",
                         path=path)


def _read_no_follow(path: Path) -> str:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise TokenFileError(f"cannot read the token file: {err.strerror}", path=path
                             ) from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_TOKEN_CHARS + 2)
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return ""


def _create_token(path: Path) -> str | None:
    """Write a new token; None if another process created one first (then use theirs)."""
    token = secrets.token_urlsafe(32)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o600)  # by path: os.fchmod is missing on Windows before 3.13
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(token + "\n")
        try:
            os.link(tmp, path)  # never replaces: two bridges starting together agree
        except FileExistsError:
            return None
    finally:
        os.unlink(tmp)
    log.info("created bridge token at %s", path)
    return token


# ---------------------------------------------------------------- bridge.json


class EndpointLock:
    """Held by the one bridge that owns ``bridge.json`` in a config folder."""

    def __init__(self, handle: IO[str] | None, folder: Path) -> None:
        self._handle = handle
        self.folder = folder

    @classmethod
    def acquire(cls, directory: str | Path | None = None) -> EndpointLock | None:
        """The lock, or None while another running bridge holds it."""
        folder = private_folder(directory)
        handle = open(folder / LOCK_FILE, "a")  # noqa: SIM115 - held until release()
        try:
            import fcntl
        except ImportError:  # Windows: trust the PID in bridge.json
            other = read_endpoint(folder).get("pid")
            if isinstance(other, int) and other != os.getpid() and pid_alive(other):
                handle.close()
                return None
            return cls(handle, folder)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return cls(handle, folder)

    def write(self, **fields: Any) -> Path:
        """Say where this bridge listens (with its pid) for plugins and local clients."""
        path = self.folder / ENDPOINT_FILE
        data = json.dumps({**fields, "pid": os.getpid()}).encode()
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".bridge.", suffix=".tmp")
        try:
            os.chmod(tmp, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def release(self) -> None:
        """Remove bridge.json (it is ours: we hold the lock) and let the lock go."""
        if self._handle is None:
            return
        path = self.folder / ENDPOINT_FILE
        if read_endpoint(self.folder).get("pid") == os.getpid():
            with contextlib.suppress(OSError):
                path.unlink()
        self._handle.close()
        self._handle = None


def read_endpoint(directory: str | Path | None = None) -> dict[str, Any]:
    """What the running bridge wrote to bridge.json; empty when none is running."""
    try:
        data = json.loads((config_dir(directory) / ENDPOINT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def tls_pair_paths(directory: str | Path | None = None) -> tuple[Path, Path]:
    """Where a generated self-signed certificate and its key are kept."""
    folder = config_dir(directory)
    return folder / TLS_CERT_FILE, folder / TLS_KEY_FILE


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists; True when that cannot be told safely."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        # os.kill on Windows terminates the process whatever the signal: never probe.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True
