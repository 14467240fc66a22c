"""Opening media with PyAV and turning its failures into BridgeErrors that name the file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise UndecodableMediaError(f"cannot open as media: {err}", path=path) from err
    try:
        yield container
    except av.FFmpegError as err:
        raise UndecodableMediaError(f"cannot decode: {err}", path=path) from err
    finally:
        container.close()


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
