"""FluidSynth behind one module: SoundFont discovery and a float-output synth per track.

This is the only module that imports ``fluidsynth`` (pyfluidsynth). pyfluidsynth 1.4 only
wraps ``fluid_synth_write_s16`` (dithered int16 that clips); we call the library's own
``fluid_synth_write_float`` through ctypes so the renderer gets unclipped float32 and sets
the level itself.

Timing: FluidSynth applies MIDI events at the start of its internal 64-sample blocks, so an
event issued at sample ``s`` sounds from the next multiple of 64. ``SynthTrack`` therefore
places every event on the 64-sample grid nearest its requested sample (error <= 32 samples,
0.67 ms at 48 kHz), which keeps the timing exact and reproducible.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from bridge.errors import BackendUnavailableError, InvalidOptionError
from bridge.platform_paths import (
    FLUIDSYNTH_NAMES,
    SOUNDFONT_ENV,
    SOUNDFONT_SUFFIXES,
    FluidSynthNotFound,
    find_fluidsynth_library,
    fluidsynth_install_hint,
    soundfont_candidates,
    soundfont_install_hint,
)

EVENT_GRID = 64  # FluidSynth's FLUID_BUFSIZE: events take effect on this sample grid
DRUM_CHANNEL = 9  # General MIDI channel 10
DRUM_BANK = 128
REVERB_CC, CHORUS_CC = 91, 93
FLUID_WARN = 2  # FluidSynth's log level for warnings
# FluidSynth's reverb per room (settings synth.reverb.*): a long, warm hall; a bright plate
# with a shorter tail; a small, damped room. "dry" switches the reverb off.
ROOM_REVERB = {
    "hall": {"room-size": 0.82, "damp": 0.35, "width": 90.0, "level": 0.7},
    "plate": {"room-size": 0.55, "damp": 0.12, "width": 100.0, "level": 0.6},
    "room": {"room-size": 0.3, "damp": 0.55, "width": 50.0, "level": 0.5},
}
CHORUS = {"nr": 3, "level": 1.2, "speed": 0.4, "depth": 6.0}
INSTALL_HINT = soundfont_install_hint()


def find_soundfont(
    explicit: Path | str | None = None, *, search_paths: list[Path] | None = None
) -> Path:
    """The SoundFont to use: ``explicit``, then ``$SCOREBRIDGE_SOUNDFONT``, then this OS's
    usual places (``platform_paths.soundfont_candidates``).

    An explicit path or environment value that is not a readable .sf2/.sf3 file is an error
    (not silently replaced by another font). ``search_paths`` replaces the built-in list.
    """
    for origin, value in (
        ("--soundfont", explicit),
        (SOUNDFONT_ENV, os.environ.get(SOUNDFONT_ENV)),
    ):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise BackendUnavailableError(
                    f"no SoundFont file here (from {origin}); {INSTALL_HINT}", path=path
                )
            if path.suffix.lower() not in SOUNDFONT_SUFFIXES:
                raise BackendUnavailableError(
                    f"not a .sf2/.sf3 SoundFont (from {origin}); {INSTALL_HINT}", path=path
                )
            return path
    candidates = soundfont_candidates() if search_paths is None else search_paths
    for path in candidates:
        if path.is_file() and path.suffix.lower() in SOUNDFONT_SUFFIXES:
            return path
    raise BackendUnavailableError(f"no General MIDI SoundFont found; {INSTALL_HINT}")


_IMPORT_LOCK = threading.Lock()
_DLL_FOLDERS: list = []


@contextmanager
def _loader_answers(library: str) -> Iterator[None]:
    """Make ``ctypes.util.find_library`` answer ``library`` while pyfluidsynth is imported.

    pyfluidsynth looks for its library once, at import, with the system loader only; this
    makes it load the one ``platform_paths`` found (Homebrew and Windows folders included).
    """
    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: library if name in FLUIDSYNTH_NAMES else original(name)
    if os.name == "nt" and os.path.isabs(library):
        # The DLLs it depends on sit beside it; the handle must live as long as the process.
        _DLL_FOLDERS.append(os.add_dll_directory(os.path.dirname(library)))
    try:
        yield
    finally:
        ctypes.util.find_library = original


def _library():
    """The pyfluidsynth module, or a BackendUnavailableError saying what to install."""
    try:
        with _IMPORT_LOCK:
            if "fluidsynth" in sys.modules:  # loaded already: no second lookup
                import fluidsynth
            else:
                with _loader_answers(find_fluidsynth_library()):
                    import fluidsynth
    except FluidSynthNotFound as err:
        raise BackendUnavailableError(f"{err}; {fluidsynth_install_hint()}") from err
    except (ImportError, OSError) as err:  # found but not loadable (wrong architecture, ...)
        raise BackendUnavailableError(
            f"FluidSynth is not usable ({err}); {fluidsynth_install_hint()}, "
            "and pip install pyfluidsynth"
        ) from err
    write_float = getattr(fluidsynth._fl, "fluid_synth_write_float", None)
    if write_float is None:
        raise BackendUnavailableError("this libfluidsynth has no fluid_synth_write_float")
    write_float.argtypes = [
        ctypes.c_void_p, ctypes.c_int,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
    ]  # fmt: skip
    write_float.restype = ctypes.c_int
    lib = fluidsynth._fl
    lib.fluid_synth_get_sfont_by_id.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.fluid_synth_get_sfont_by_id.restype = ctypes.c_void_p
    lib.fluid_synth_add_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.fluid_synth_add_sfont.restype = ctypes.c_int
    lib.fluid_synth_remove_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.fluid_synth_remove_sfont.restype = ctypes.c_int
    # Handing a lent font back re-selects programs on every channel, and FluidSynth warns
    # "No preset found" for each: its warnings say nothing our errors do not (level 2).
    lib.fluid_set_log_function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    lib.fluid_set_log_function(FLUID_WARN, None, None)
    return fluidsynth, write_float


def fluidsynth_version() -> tuple[str, str]:
    """(where the library was loaded from, its version), or BackendUnavailableError."""
    fluidsynth, _ = _library()
    version_str = fluidsynth._fl.fluid_version_str
    version_str.restype = ctypes.c_char_p
    return _loaded_path(getattr(fluidsynth, "lib", "?")), version_str().decode("ascii", "replace")


def _loaded_path(library: str) -> str:
    """The file behind a loader name like "libfluidsynth.so.3", where the OS says (Linux)."""
    if os.path.isabs(library):
        return library
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            for line in maps:
                path = line.split()[-1]
                if os.path.basename(path).startswith(library):
                    return path
    except OSError:
        pass
    return library


class _SharedFont:
    """One SoundFont loaded once per process and lent to every synth that plays it.

    Loading a preset of a compressed .sf3 decodes its samples (about one CPU second a
    preset for MuseScore General): lent instead of loaded, each preset is decoded once per
    process, not once per track and render. A host synth owns the font and keeps every
    preset asked for selected on a channel of its own, so its samples stay loaded (a
    server re-renders with the same instruments). Synths only read the shared samples.
    """

    def __init__(self, fluidsynth, path: Path) -> None:
        self.host = fluidsynth.Synth(**{"synth.dynamic-sample-loading": 1,
                                        "synth.midi-channels": 256,
                                        "synth.reverb.active": 0, "synth.chorus.active": 0})
        self.sfid = self.host.sfload(str(path))
        if self.sfid < 0:
            self.host.delete()
            raise BackendUnavailableError(
                f"FluidSynth cannot load this SoundFont; {INSTALL_HINT}", path=path)
        self.pointer = fluidsynth._fl.fluid_synth_get_sfont_by_id(self.host.synth, self.sfid)
        self.held: dict[tuple[int, int], bool] = {}
        # a synth given the font selects these on all its channels before ours: held too,
        # they load once, not once per synth
        self.hold(0, 0)
        self.hold(DRUM_BANK, 0)

    def hold(self, bank: int, program: int) -> bool:
        """Keep this preset's samples loaded; False when the font has no such preset."""
        key = (bank, program)
        if key not in self.held:
            channel = len(self.held)
            self.held[key] = channel < 256 and (
                self.host.program_select(channel, self.sfid, bank, program) == 0)
        return self.held[key]


_FONTS: dict[tuple[str, int, int], _SharedFont] = {}
# Synths are made and closed from several threads (the report's baselines); selecting and
# releasing a preset of a lent font counts its users without atomics, so those steps hold
# this lock (rendering does not touch the counts).
_FONTS_LOCK = threading.RLock()


def _lend_font(fluidsynth, path: Path, bank: int, program: int) -> _SharedFont | None:
    """The shared font for ``path`` (a changed file is loaded anew) holding the preset, or
    None when the font has no such preset."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _FONTS_LOCK:
        font = _FONTS.get(key)
        if font is None:
            font = _FONTS[key] = _SharedFont(fluidsynth, path)
        return font if font.hold(bank, program) else None


def soundfont_available(explicit: Path | str | None = None) -> str:
    """ "" when FluidSynth and a SoundFont are usable here, else the reason (for backend lists)."""
    try:
        _library()
        find_soundfont(explicit)
    except BackendUnavailableError as err:
        return str(err)
    return ""


class SynthTrack:
    """One FluidSynth instance playing one track on one channel, rendered as float32 stereo.

    Events are queued with their sample time; ``render(n)`` returns the next ``n`` samples
    with every event that falls inside them applied on FluidSynth's 64-sample grid. The
    track sends ``reverb_send`` (CC91) of itself into ``room``'s reverb and ``chorus_send``
    (CC93) into a chorus; each effect runs only where something is sent to it.
    """

    def __init__(
        self, soundfont: Path, *, sr: int, program: int, is_drum: bool, synth_gain: float = 0.2,
        room: str = "dry", reverb_send: int = 0, chorus_send: int = 0,
    ) -> None:
        fluidsynth, self._write_float = _library()
        if room != "dry" and room not in ROOM_REVERB:
            raise InvalidOptionError(f"unknown room {room!r}; one of dry, "
                                     f"{', '.join(ROOM_REVERB)}", field="room")
        reverb = ROOM_REVERB.get(room) if reverb_send > 0 else None
        settings: dict[str, float | int] = {
            "synth.dynamic-sample-loading": 1,
            "synth.reverb.active": int(reverb is not None),
            "synth.chorus.active": int(chorus_send > 0),
        }
        settings.update({f"synth.reverb.{k}": v for k, v in (reverb or {}).items()})
        if chorus_send > 0:
            settings.update({f"synth.chorus.{k}": v for k, v in CHORUS.items()})
        # dynamic sample loading: only the presets in use are read into memory (~10 MB, not 150)
        self._fl = fluidsynth._fl
        self._font = None
        self._synth = fluidsynth.Synth(gain=synth_gain, samplerate=float(sr), **settings)
        self.channel = DRUM_CHANNEL if is_drum else 0
        bank = DRUM_BANK if is_drum else 0
        try:
            shared = _lend_font(fluidsynth, Path(soundfont), bank, program)
        except BaseException:
            self.close()
            raise
        with _FONTS_LOCK:
            if shared is not None:
                sfid = self._fl.fluid_synth_add_sfont(self._synth.synth, shared.pointer)
                self._font = shared.pointer if sfid >= 0 else None
            selected = shared is not None and self._font is not None and (
                self._synth.program_select(self.channel, sfid, bank, program) == 0)
        if not selected:
            self.close()
            raise InvalidOptionError(
                f"SoundFont {soundfont.name} has no preset bank {bank} program {program}",
                field="program",
            )
        self._synth.cc(self.channel, REVERB_CC, int(np.clip(reverb_send, 0, 127)))
        self._synth.cc(self.channel, CHORUS_CC, int(np.clip(chorus_send, 0, 127)))
        # (sample, order, a, b): order 0 note-off (a = pitch), 1 controller (a = number,
        # b = value), 2 note-on (a = pitch, b = velocity)
        self._events: list[tuple[int, int, int, int]] = []
        self._sorted = False
        self._next = 0
        self._pos = 0

    def add_note(self, *, on_sample: int, off_sample: int, pitch: int, velocity: int) -> None:
        """Queue one note (before the first ``render``); both ends snap to the 64-sample grid."""
        if self._sorted:
            raise RuntimeError("add every note before the first render()")
        on = round(on_sample / EVENT_GRID) * EVENT_GRID
        off = max(round(off_sample / EVENT_GRID) * EVENT_GRID, on + EVENT_GRID)
        # at equal times note-offs go first so a repeated pitch re-strikes, and controller
        # changes come before the notes they shape
        self._events.append((on, 2, pitch, velocity))
        self._events.append((off, 0, pitch, 0))

    def add_control(self, *, sample: int, controller: int, value: int) -> None:
        """Queue one controller change (before the first ``render``), on the 64-sample grid."""
        if self._sorted:
            raise RuntimeError("add every event before the first render()")
        at = round(sample / EVENT_GRID) * EVENT_GRID
        self._events.append((at, 1, controller, int(np.clip(value, 0, 127))))

    def render(self, n: int) -> np.ndarray:
        """The next ``n`` samples as (n, 2) float32, applying queued events on time."""
        if not self._sorted:
            self._events.sort()
            self._sorted = True
        out = np.zeros((n, 2), dtype=np.float32)
        done = 0
        end = self._pos + n
        events = self._events
        while done < n:
            while self._next < len(events) and events[self._next][0] <= self._pos + done:
                _, order, a, b = events[self._next]
                if order == 2:
                    self._synth.noteon(self.channel, a, b)
                elif order == 1:
                    self._synth.cc(self.channel, a, b)
                else:
                    self._synth.noteoff(self.channel, a)
                self._next += 1
            stop = end if self._next >= len(events) else min(end, events[self._next][0])
            count = stop - (self._pos + done)
            view = out[done : done + count]
            ptr = view.ctypes.data
            if self._write_float(self._synth.synth, count, ptr, 0, 2, ptr, 1, 2) != 0:
                raise BackendUnavailableError("FluidSynth failed to render audio")
            done += count
        self._pos = end
        return out

    def close(self) -> None:
        if self._synth is not None:
            with _FONTS_LOCK:
                if self._font is not None:  # lent, not ours: deleting the synth would free it
                    self._fl.fluid_synth_remove_sfont(self._synth.synth, self._font)
                    self._font = None
                self._synth.delete()
            self._synth = None
