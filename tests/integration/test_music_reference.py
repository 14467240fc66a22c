"""Same seed, same analysis -> the same WAV, stem and MIDI bytes as before the music seam.

The hashes below were recorded from the tree before ``bridge/music/`` existed (the
FluidSynth renderer still did ducking, loudness, limiting, the fade and the write).
The analysis is built in code (no x264 encode, whose bytes can wobble), and the dialogue
is a 16-bit WAV, so every input is bit-exact; the output then depends only on the
composer, FluidSynth and the finishing stage. FluidSynth's output differs between library
versions and SoundFonts, so the check runs where the hashes were recorded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from bridge.media.synth import SceneSpec, encode_audio
from bridge.style import STYLES
from bridge.types import AffectCurve, Analysis, Clip, Cut, Edit

RATE = Fraction(25)
DURATION_FRAMES = 12 * 25 + 7  # 12.28 s: not a whole second, so the exact-length write shows
CUTS_S = (2.4, 4.0, 6.8, 9.2)
REFERENCE_FONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
REFERENCE_FONT_BYTES = 148_398_306
REFERENCE_FLUIDSYNTH = "2.3.1"

# name -> sha256 of the file written; recorded before the refactor (see module doc)
EXPECTED = {
    "plain": {
        "score.wav": "9243d81d740cdc69c4b9489a66e4aca4d12957afbdea3d3b0ce5f74ee74f7e42",
        "score.mid": "858cd8124bf89b200811d4261069a4581a39eaf28c7dc26134ba1c2e9adca1a1",
    },
    "stems+duck": {
        "score.wav": "6490f54babdee5c667b117b0fa020c8e78ed0e2bf76e673ed419b4214ccb79bb",
        "score.mid": "858cd8124bf89b200811d4261069a4581a39eaf28c7dc26134ba1c2e9adca1a1",
        "stems/pads.wav": "9f103fab914744a228abe2b78f1a1584551352837b5bde8c646deb0dba156292",
        "stems/bass.wav": "7c4fd7b00df98b9836928948bb6e54c3cd7e3bbb874862ceeee989fc4d9fd573",
        "stems/melody.wav": "6910cc8dcae5b006cf62c5ba7b92e0b859fee00ccfc9061555aa3b349f7caddb",
        "stems/texture.wav": "4b8f07dd65240ec16df7f56242a1e1d4702bc31861907df9cf29fb15d6a12eb0",
        "stems/drums.wav": "d81588b4a9f6a534f78c3449277ebeda03a5d66aedf15de0f25aea77e70d9504",
    },
}


def reference_analysis(folder: Path) -> Analysis:
    """A 12.28 s edit with four cuts, a rising-then-falling arc and 5 s of dialogue at 3 s."""
    voice = folder / "voice.wav"
    encode_audio(voice, [SceneSpec(5.0, audio="speech", level_dbfs=-14)])
    bounds = (0.0, *CUTS_S, DURATION_FRAMES / RATE)
    shots = tuple(
        Clip(name=f"Shot {i + 1}", kind="video", record_start_s=float(a), record_end_s=float(b),
             media_path=None, media_start_s=0.0, media_missing=True)
        for i, (a, b) in enumerate(pairwise(bounds))
    )
    dialogue = Clip(name="Dialogue", kind="audio", record_start_s=3.0, record_end_s=8.0,
                    media_path=voice, media_start_s=0.0)
    edit = Edit(name="reference", source_path=folder / "reference.otio", rate=RATE,
                drop_frame=False, start_timecode="00:00:00:00", start_frame=0,
                duration_frames=DURATION_FRAMES, shots=shots, audio_clips=(dialogue,))
    t = np.arange(13) + 0.5
    curve = AffectCurve(hop_s=1.0, valence=0.6 * np.sin(t / 4.0) - 0.1,
                        arousal=np.interp(t, [0, 8, 13], [-0.6, 0.8, -0.2]),
                        confidence=np.ones(13))
    return Analysis(edit=edit, cuts=tuple(Cut(s, "edit") for s in CUTS_S), affect=curve,
                    style=STYLES["cinematic-orchestral"], markers=())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render_reference(folder: Path, *, stems: bool, duck_db: float) -> dict[str, str]:
    """Hashes of everything the symbolic backend writes for the reference analysis."""
    from bridge.music import MusicRequest, music_backends

    analysis = reference_analysis(folder)
    out = folder / "out"
    out.mkdir()
    request = MusicRequest(seed=3, stems=stems, duck_db=duck_db)
    backend = music_backends.create("symbolic", soundfont=str(REFERENCE_FONT))
    music = backend.generate(
        analysis, request, wav_path=out / "score.wav", midi_path=out / "score.mid",
        stems_dir=out / "stems",
    )
    hashes = {"score.wav": digest(music.wav_path)}
    if music.midi_path is not None:
        hashes["score.mid"] = digest(music.midi_path)
    hashes.update({f"stems/{p.name}": digest(p) for p in music.stem_paths.values()})
    return hashes


def _reference_setup() -> str:
    """"" where the hashes were recorded (same library and SoundFont), else why not."""
    if not REFERENCE_FONT.is_file() or REFERENCE_FONT.stat().st_size != REFERENCE_FONT_BYTES:
        return f"the hashes were recorded with {REFERENCE_FONT} ({REFERENCE_FONT_BYTES} bytes)"
    found = ctypes.util.find_library("fluidsynth")
    version = None
    if found:
        library = ctypes.CDLL(found)
        library.fluid_version_str.restype = ctypes.c_char_p
        version = library.fluid_version_str().decode()
    if version != REFERENCE_FLUIDSYNTH:
        return f"the hashes were recorded with FluidSynth {REFERENCE_FLUIDSYNTH}, found {version}"
    return ""


@pytest.mark.skipif(bool(_reference_setup()), reason=_reference_setup() or "n/a")
@pytest.mark.parametrize(("name", "stems", "duck_db"),
                         [("plain", False, 0.0), ("stems+duck", True, 9.0)])
def test_symbolic_backend_writes_the_same_bytes_as_before(name, stems, duck_db, tmp_path):
    assert render_reference(tmp_path, stems=stems, duck_db=duck_db) == EXPECTED[name]
