"""Reading media: the only package that imports PyAV.

``probe`` describes a file, ``sample_frames`` gives a few upright RGB frames per second
(with successors, for motion), ``frames_between`` every frame of a short range,
``find_change`` the first frame of a new picture in a short range (decoding few),
``decode_audio`` mono float32 sound, ``content_key`` a cheap cache key. Inside
``reuse_open_files`` these calls keep the files they read open for the next call. Test
media is made with :mod:`bridge.media.synth`.
"""

from bridge.media._container import reuse_open_files
from bridge.media.audio import decode_audio
from bridge.media.frames import Change, find_change, frames_between, preroll_s, sample_frames
from bridge.media.key import content_key
from bridge.media.probe import probe

__all__ = ["Change", "content_key", "decode_audio", "find_change", "frames_between",
           "preroll_s", "probe", "reuse_open_files", "sample_frames"]
