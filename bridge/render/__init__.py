"""Rendering: FluidSynth synthesis, loudness normalisation and the look-ahead limiter.

`render_arrangement` turns an `Arrangement` into a 24-bit WAV (and stems) of an exact
length at a target loudness; `find_soundfont` / `soundfont_available` locate the General
MIDI SoundFont; `measure_file` reads back a WAV's integrated loudness and true peak.
"""

from bridge.render.loudness import LevelMeter, LevelStats, measure
from bridge.render.renderer import (
    END_FADE_S,
    GainEnvelope,
    RenderResult,
    measure_file,
    render_arrangement,
)
from bridge.render.soundfont import (
    INSTALL_HINT,
    SOUNDFONT_ENV,
    find_soundfont,
    soundfont_available,
)

__all__ = [
    "END_FADE_S",
    "INSTALL_HINT",
    "SOUNDFONT_ENV",
    "GainEnvelope",
    "LevelMeter",
    "LevelStats",
    "RenderResult",
    "find_soundfont",
    "measure",
    "measure_file",
    "render_arrangement",
    "soundfont_available",
]
