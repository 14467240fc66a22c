"""Music backends and the finishing stage they share.

    backend = music_backends.create("symbolic", soundfont="/path/GM.sf2")
    output = backend.generate(analysis, MusicRequest(seed=2), wav_path=..., midi_path=...,
                              stems_dir=...)

``base``: the ``MusicBackend`` protocol, ``MusicRequest``, ``MusicOutput`` and the registry
(``music_backends``; external backends join through the ``scorebridge.music_backends``
entry-point group). ``master``: the finishing stage any source of float blocks goes
through (ducking, loudness, limiter, end fade, stems, exact-length 24-bit WAV).
``symbolic``: the embedded backend (composer, arrangement, FluidSynth). ``musicgen``: the
neural backend (transformers' MusicGen + the affect adapter; torch only when it runs).
``fit``: bends any backend's audio so a beat lands on every cut (``finish(fit_to_picture=)``).
"""

from bridge.music.base import (
    ENTRY_POINT_GROUP,
    MusicBackend,
    MusicOutput,
    MusicRequest,
    music_backends,
)
from bridge.music.master import END_FADE_S, GainEnvelope, MasterResult, finish, master_audio
from bridge.music.musicgen import MusicgenBackend
from bridge.music.symbolic import SymbolicBackend, render_arrangement

__all__ = [
    "END_FADE_S",
    "ENTRY_POINT_GROUP",
    "GainEnvelope",
    "MasterResult",
    "MusicBackend",
    "MusicOutput",
    "MusicRequest",
    "MusicgenBackend",
    "SymbolicBackend",
    "finish",
    "master_audio",
    "music_backends",
    "render_arrangement",
]
