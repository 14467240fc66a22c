"""Opening media with PyAV and turning its failures into BridgeErrors that name the file."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import av

from bridge.errors import MissingMediaError, UndecodableMediaError

IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "tiff_pipe", "bmp_pipe", "webp_pipe")


def check_exists(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise MissingMediaError("media file not found", path=path)
    if not path.is_file():
        raise UndecodableMediaError("not a file", path=path)
    return path


@contextmanager
def open_media(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open for reading; any PyAV failure inside the block becomes UndecodableMediaError."""
    path = check_exists(path)
    container = _open(path)
    try:
        yield container
    except av.FFmpegError as err:
        raise UndecodableMediaError(f"cannot decode: {err}", path=path) from err
    finally:
        container.close()


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), "r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise UndecodableMediaError(f"cannot open as media: {err}", path=path) from err


def video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The first real video stream (cover art in audio files does not count)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def origin_s(container: av.container.InputContainer) -> float:
    """Container start time: media time 0 is the first frame/sample of the file."""
    start = container.start_time
    return 0.0 if start is None else start / av.time_base


def is_image_format(container: av.container.InputContainer) -> bool:
    return any(name in IMAGE_FORMATS for name in container.format.name.split(","))


# ---------------------------------------------------------------- files kept open


# Opening a container parses its whole index (about 2 ms for three minutes of 1080p MP4),
# which an analysis used to pay for every shot, cut and sound clip again. Inside
# ``reuse_open_files`` each file stays open for the next media call instead.
MAX_OPEN_FILES = 8  # per analysis: each holds a decoder (and its frame buffers)


@dataclass
class OpenFile:
    """A container lent by ``open_shared``. ``reused``: a media call has read it before,
    so its read position and decoder state are wherever that call left them (seek first).
    ``memo`` keeps what is derived from the file once (its keyframe index)."""

    container: av.container.InputContainer
    reused: bool = False
    memo: dict = field(default_factory=dict)


class _OpenFiles:
    """The files kept open by one ``reuse_open_files`` block, least recently used first."""

    def __init__(self) -> None:
        self.files: OrderedDict[tuple, OpenFile] = OrderedDict()
        self.keys: dict[tuple, str] = {}  # content keys worked out in this block
        # a context copied into another thread (asyncio.to_thread) must not share decoders
        self.thread = threading.get_ident()

    def take(self, key: tuple) -> OpenFile | None:
        return self.files.pop(key, None)

    def give_back(self, key: tuple, entry: OpenFile) -> None:
        entry.reused = True
        # a kept decoder lets go of its reference frames (up to 16 at 4K); every reader
        # seeks, which flushes again, before it decodes
        for stream in entry.container.streams:
            context = stream.codec_context
            if context is not None and context.is_open:
                context.flush_buffers()
        self.files[key] = entry
        while len(self.files) > MAX_OPEN_FILES:
            self.files.popitem(last=False)[1].container.close()

    def close(self) -> None:
        while self.files:
            self.files.popitem()[1].container.close()


_OPEN_FILES: ContextVar[_OpenFiles | None] = ContextVar("bridge_media_open_files", default=None)


@contextmanager
def reuse_open_files() -> Iterator[None]:
    """Within this block (in this thread), media calls keep the files they read open and
    reuse them; every file is closed when the block ends. Nested blocks share the outer one
    (one entered in another thread, under a copied context, has its own)."""
    outer = _OPEN_FILES.get()
    if outer is not None and outer.thread == threading.get_ident():
        yield
        return
    files = _OpenFiles()
    token = _OPEN_FILES.set(files)
    try:
        yield
    finally:
        _OPEN_FILES.reset(token)
        files.close()


def block_content_keys() -> dict[tuple, str] | None:
    """Content keys already worked out inside this thread's ``reuse_open_files`` block
    (keyed by path, size, mtime and inode), or None outside one."""
    files = _OPEN_FILES.get()
    return files.keys if files is not None and files.thread == threading.get_ident() else None


@contextmanager
def open_shared(path: str | Path, use: str, *, share: bool = True) -> Iterator[OpenFile]:
    """``open_media``, but inside ``reuse_open_files`` the container opened for the same
    file and ``use`` (callers that need different decoder settings use different names)
    by an earlier call is lent again. A file that changed on disk is opened afresh; one
    whose use failed is closed, not kept; a still image is never kept; ``share=False``
    opens afresh whatever the block.

    A video decoder flushed by a seek gives the same pictures as a new one; an audio
    decoder does not (AAC's first frame after the seek differs), so sound is decoded with a
    decoder of its own (``bridge.media.audio``)."""
    files = _OPEN_FILES.get() if share else None
    if files is None or files.thread != threading.get_ident():
        with open_media(path) as container:
            yield OpenFile(container)
        return
    path = check_exists(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, use)
    entry = files.take(key)
    if entry is None:
        entry = OpenFile(_open(path))
    kept = False
    try:
        yield entry
        kept = not is_image_format(entry.container)
    except av.FFmpegError as err:
        raise UndecodableMediaError(f"cannot decode: {err}", path=path) from err
    finally:
        if kept:
            files.give_back(key, entry)
        else:
            entry.container.close()
