"""What a media file holds: duration, streams, picture size, rate, rotation."""

from __future__ import annotations

from pathlib import Path

import av

from bridge.errors import UndecodableMediaError
from bridge.media._container import is_image_format, open_media, origin_s, video_stream
from bridge.types import MediaInfo


def upright_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise turn (0/90/180/270) that shows a decoded frame upright."""
    return round(frame.rotation / 90.0) * 90 % 360


def probe(path: str | Path) -> MediaInfo:
    """Describe a media file.

    ``width``/``height`` are the upright (displayed) size; ``rotation_deg`` is the
    counter-clockwise turn applied to stored frames to show them upright. A still image
    (or a one-frame video) has ``is_still``, ``fps=None`` and duration 0.
    """
    path = Path(path)
    with open_media(path) as container:
        vs = video_stream(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        if vs is None and audio is None:
            raise UndecodableMediaError("no video or audio stream", path=path)
        width = height = rotation = 0
        fps = None
        is_still = False
        if vs is not None:
            first = []
            for frame in container.decode(vs):  # two frames: rotation, and still-or-not
                first.append(frame)
                if len(first) == 2:
                    break
            if not first:
                raise UndecodableMediaError("video stream has no decodable frame", path=path)
            rotation = upright_rotation(first[0])
            width, height = first[0].width, first[0].height
            if rotation in (90, 270):
                width, height = height, width
            is_still = is_image_format(container) or len(first) == 1
            if not is_still and vs.average_rate:
                fps = float(vs.average_rate)
        duration = 0.0 if is_still and audio is None else _duration_s(container, path)
        return MediaInfo(
            path=path,
            duration_s=duration,
            has_video=vs is not None,
            has_audio=audio is not None,
            width=width,
            height=height,
            fps=fps,
            rotation_deg=rotation,
            is_still=is_still,
            audio_sample_rate=audio.rate if audio is not None else None,
        )


def _duration_s(container: av.container.InputContainer, path: Path) -> float:
    if container.duration is not None:
        return container.duration / av.time_base
    ends = [
        float((s.start_time or 0) + s.duration) * float(s.time_base)
        for s in container.streams
        if s.duration is not None and s.time_base is not None
    ]
    if ends:
        return max(ends) - origin_s(container)
    raise UndecodableMediaError("duration unknown", path=path)
