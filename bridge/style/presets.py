"""Style presets: NarraScore's global semantic anchor, one per piece.

Each preset names the four anchor dimensions (genre, instrumentation, atmosphere, rhythm),
the tempo range the tempo planner may use, a General MIDI program (0-based) per arrangement
role, whether the piece has percussion and which GM drum kit (bank 128 preset) plays it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from bridge.types import Style

ROLES = ("pads", "bass", "melody", "texture", "drums")

# GM bank-128 drum kits as numbered in FluidR3_GM / GS.
KIT_STANDARD = 0
KIT_ROOM = 8
KIT_POWER = 16
KIT_ELECTRONIC = 24
KIT_TR808 = 25
KIT_JAZZ = 32
KIT_BRUSH = 40
KIT_ORCHESTRA = 48


def _programs(*, pads: int, bass: int, melody: int, texture: int, drums: int) -> Mapping[str, int]:
    return MappingProxyType(
        {"pads": pads, "bass": bass, "melody": melody, "texture": texture, "drums": drums}
    )


_PRESETS = (
    Style(
        name="cinematic-orchestral",
        genre="cinematic orchestral film score",
        instrumentation=(
            "string ensemble, cellos and basses, solo horn, harp, orchestral percussion"
        ),
        atmosphere="sweeping and emotive, following the drama of the picture",
        rhythm="broad phrases that tighten into driving ostinatos at the climaxes",
        bpm_min=70.0,
        bpm_max=130.0,
        # String Ensemble 1, Contrabass, French Horn, Orchestral Harp
        programs=_programs(pads=48, bass=43, melody=60, texture=46, drums=KIT_ORCHESTRA),
        percussion=True,
        drum_kit=KIT_ORCHESTRA,
    ),
    Style(
        name="ambient-electronic",
        genre="ambient electronic",
        instrumentation="warm synth pads, soft synth bass, crystal bells, airy textures",
        atmosphere="spacious, floating and contemplative",
        rhythm="slow and even, a gentle pulse rather than a groove",
        bpm_min=66.0,
        bpm_max=110.0,
        # Pad 2 (warm), Synth Bass 1, Pad 1 (new age), FX 3 (crystal)
        programs=_programs(pads=89, bass=38, melody=88, texture=98, drums=KIT_ELECTRONIC),
        percussion=True,
        drum_kit=KIT_ELECTRONIC,
    ),
    Style(
        name="solo-piano",
        genre="solo piano",
        instrumentation="a single acoustic grand piano",
        atmosphere="intimate, reflective and tender",
        rhythm="rubato-like phrasing over a flowing left hand",
        bpm_min=60.0,
        bpm_max=110.0,
        programs=_programs(pads=0, bass=0, melody=0, texture=0, drums=0),
        percussion=False,
        drum_kit=KIT_STANDARD,
    ),
    Style(
        name="acoustic-folk",
        genre="acoustic folk",
        instrumentation="steel-string and nylon guitars, acoustic bass, fiddle, brushed kit",
        atmosphere="warm, hopeful and earthy",
        rhythm="steady strummed pulse at a walking pace",
        bpm_min=80.0,
        bpm_max=130.0,
        # Steel Guitar, Acoustic Bass, Violin, Nylon Guitar
        programs=_programs(pads=25, bass=32, melody=40, texture=24, drums=KIT_BRUSH),
        percussion=True,
        drum_kit=KIT_BRUSH,
    ),
    Style(
        name="synthwave",
        genre="synthwave, retro 1980s electronic",
        instrumentation=(
            "polysynth chords, pulsing synth bass, sawtooth lead, square arpeggios, drum machine"
        ),
        atmosphere="nostalgic, neon-lit and energetic",
        rhythm="driving four-on-the-floor with running eighth-note bass",
        bpm_min=90.0,
        bpm_max=128.0,
        # Pad 3 (polysynth), Synth Bass 1, Lead 2 (sawtooth), Lead 1 (square)
        programs=_programs(pads=90, bass=38, melody=81, texture=80, drums=KIT_ELECTRONIC),
        percussion=True,
        drum_kit=KIT_ELECTRONIC,
    ),
    Style(
        name="hybrid-trailer",
        genre="hybrid trailer music",
        instrumentation=(
            "big strings, brass section, pizzicato ostinato, synth bass, heavy percussion"
        ),
        atmosphere="tense, epic and relentless, building to impacts",
        rhythm="pounding ostinatos and hits that land on every cut",
        bpm_min=85.0,
        bpm_max=140.0,
        # String Ensemble 1, Synth Bass 2, Brass Section, Pizzicato Strings
        programs=_programs(pads=48, bass=39, melody=61, texture=45, drums=KIT_POWER),
        percussion=True,
        drum_kit=KIT_POWER,
    ),
    Style(
        name="lofi",
        genre="lo-fi hip hop",
        instrumentation="electric piano, round electric bass, vibraphone, jazz guitar, soft kit",
        atmosphere="mellow, nostalgic and relaxed",
        rhythm="laid-back head-nod groove",
        bpm_min=70.0,
        bpm_max=95.0,
        # Electric Piano 1, Electric Bass (finger), Vibraphone, Electric Guitar (jazz)
        programs=_programs(pads=4, bass=33, melody=11, texture=26, drums=KIT_JAZZ),
        percussion=True,
        drum_kit=KIT_JAZZ,
    ),
)

STYLES: Mapping[str, Style] = MappingProxyType({s.name: s for s in _PRESETS})

# Styles that close on a plagal (IV-I / iv-i) cadence rather than an authentic one (V-I).
_PLAGAL_STYLES = frozenset({"ambient-electronic"})


def cadence_kind(style: Style) -> Literal["authentic", "plagal"]:
    """Which final cadence suits the style: plagal for ambient, authentic otherwise."""
    return "plagal" if style.name in _PLAGAL_STYLES else "authentic"
