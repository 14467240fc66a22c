"""Synthesis: FluidSynth plays an ``Arrangement`` into float blocks per role.

`synthesise` yields the blocks the finishing stage (`bridge.music.master`) turns into the
WAV and stems; `find_soundfont` / `soundfont_available` locate the General MIDI
SoundFont.
"""

from bridge.render.soundfont import (
    INSTALL_HINT,
    SOUNDFONT_ENV,
    find_soundfont,
    soundfont_available,
)
from bridge.render.synthesis import arrangement_roles, check_arrangement, synthesise

__all__ = [
    "INSTALL_HINT",
    "SOUNDFONT_ENV",
    "arrangement_roles",
    "check_arrangement",
    "find_soundfont",
    "soundfont_available",
    "synthesise",
]
