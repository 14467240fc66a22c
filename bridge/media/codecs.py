"""Which video codecs this installation's FFmpeg (inside PyAV) can decode."""

from __future__ import annotations

import av

# What editors' media usually is: camera/delivery H.264 and HEVC, and the two
# intermediate codecs Resolve and Premiere render to.
EDITING_CODECS = {"h264": "H.264", "hevc": "HEVC", "prores": "ProRes", "dnxhd": "DNxHD/DNxHR"}


def decodable(names=tuple(EDITING_CODECS)) -> dict[str, bool]:
    """codec name -> whether PyAV's FFmpeg has a decoder for it."""
    available = av.codecs_available
    return {name: name in available for name in names}


def ffmpeg_version() -> str:
    """PyAV's version and the libavcodec it carries, e.g. "PyAV 18.1.0, libavcodec 62.28.102"."""
    codec = av.library_versions.get("libavcodec")
    codec_text = ".".join(str(part) for part in codec) if codec else "?"
    return f"PyAV {av.__version__}, libavcodec {codec_text}"
