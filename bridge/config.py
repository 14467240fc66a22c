"""Options for a scoring job, with explicit defaults and one validation pass."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

from bridge.errors import InvalidOptionError

MARKER_DENSITIES = ("sections", "peaks")  # plus "every:N" (seconds)
MIN_MARKER_EVERY_S = 0.1  # finer than the affect curve itself says nothing more
BACKEND_KINDS = ("affect", "music")
CUT_DETECTORS = ("signal", "transnet")  # bridge.analysis.cuts, bridge.analysis.transnet


@dataclass(frozen=True)
class ScoreOptions:
    style: str | None = None  # preset name; None = choose from the affect statistics
    seed: int = 0
    affect_backend: str = "heuristic"
    music_backend: str = "symbolic"
    # KEY -> VALUE strings for the chosen backends; "affect.KEY" / "music.KEY" name one of
    # them, a bare KEY goes to each chosen backend that declares it (see backend_options_for)
    backend_options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    stems: bool = False
    duck_db: float = 0.0  # 0 = no ducking; e.g. 9 lowers music 9 dB under dialogue
    markers: str = "sections"  # sections | peaks | every:N
    soundfont: Path | None = None
    sample_rate: int = 48_000
    analysis_rate_hz: float = 2.0  # picture samples per second for affect
    affect_hop_s: float = 1.0
    detect_cuts: bool = True  # also find cuts inside long shots
    cut_detector: str = "signal"  # what finds them: one of CUT_DETECTORS
    report: bool = False
    overwrite: bool = False  # replace the folder's latest result instead of a new version
    timeline_name: str | None = None  # which project of an FCPXML library/event to read
    timeline_rate: str | None = None  # frames per second, e.g. "25" or "24000/1001"; EDLs have none
    cache: bool = True  # reuse per-shot measurements from the analysis cache (bridge/cache.py)
    fresh: bool = False  # compose anew even when the output folder holds an earlier version
    # the version a re-score continues (its WAV, or a result folder); default: the newest
    # result in the output folder
    previous_result: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.backend_options, MappingProxyType):
            object.__setattr__(self, "backend_options",
                               MappingProxyType(dict(self.backend_options)))

    def validated(self) -> ScoreOptions:
        """Return self, or raise InvalidOptionError naming the field."""

        def bad(field: str, why: str) -> InvalidOptionError:
            return InvalidOptionError(why, field=field)

        if not 8_000 <= self.sample_rate <= 192_000:
            raise bad("sample_rate", f"{self.sample_rate} Hz is outside 8000..192000")
        if not 0.1 <= self.analysis_rate_hz <= 30:
            raise bad("analysis_rate_hz", f"{self.analysis_rate_hz} is outside 0.1..30")
        if not 0.1 <= self.affect_hop_s <= 10:
            raise bad("affect_hop_s", f"{self.affect_hop_s} is outside 0.1..10 s")
        if not 0 <= self.duck_db <= 40:
            raise bad("duck_db", f"{self.duck_db} dB is outside 0..40")
        if not 0 <= self.seed < 2**31:
            raise bad("seed", f"{self.seed} is outside 0..2^31-1")
        if self.markers not in MARKER_DENSITIES:
            every = self.markers.removeprefix("every:")
            try:
                ok = self.markers.startswith("every:") and float(every.rstrip("s")) > 0
            except ValueError:
                ok = False
            if not ok:
                raise bad("markers", f"{self.markers!r}: use sections, peaks or every:N")
            if float(every.rstrip("s")) < MIN_MARKER_EVERY_S:
                raise bad("markers", f"{self.markers!r}: N must be at least "
                                     f"{MIN_MARKER_EVERY_S} s")
        if self.timeline_rate is not None:
            self.frame_rate()  # raises naming the field
        if self.cut_detector not in CUT_DETECTORS:
            raise bad("cut_detector", f"{self.cut_detector!r}: use {' or '.join(CUT_DETECTORS)}")
        if self.soundfont is not None and not Path(self.soundfont).is_file():
            raise bad("soundfont", f"no SoundFont file at {self.soundfont}")
        for key, value in self.backend_options.items():
            if not (isinstance(key, str) and isinstance(value, str)):
                raise bad(f"backend_options.{key}", "keys and values must be strings")
            kind, dot, name = key.rpartition(".")
            if not name or (dot and kind not in BACKEND_KINDS):
                raise bad(f"backend_options.{key}",
                          "use KEY, affect.KEY or music.KEY")
        return self

    def frame_rate(self) -> Fraction | None:
        """``timeline_rate`` as an exact positive fraction (29.97 -> 30000/1001), or None."""
        if self.timeline_rate in (None, ""):
            return None
        try:
            rate = Fraction(str(self.timeline_rate).strip())
        except (ValueError, ZeroDivisionError):
            raise InvalidOptionError(f"{self.timeline_rate!r} is not a frame rate",
                                     field="timeline_rate") from None
        if not 0 < rate <= 1000:
            raise InvalidOptionError(f"frame rate {self.timeline_rate} is outside (0, 1000] fps",
                                     field="timeline_rate")
        ntsc = Fraction(round(rate * 1001 / 1000) * 1000, 1001)
        return ntsc if rate.denominator != 1 and abs(rate - ntsc) < Fraction(5, 1000) else rate

    def backend_options_for(self, kind: str, declared: Iterable[str]) -> dict[str, str]:
        """The options meant for the chosen ``kind`` ("affect" or "music") backend.

        "kind.KEY" goes to that backend; a bare KEY to it when it declares KEY. The
        ``soundfont`` shorthand is the music backend's "soundfont" option.
        """
        declared = set(declared)
        chosen: dict[str, str] = {}
        if kind == "music" and self.soundfont is not None:
            chosen["soundfont"] = str(self.soundfont)
        for key, value in self.backend_options.items():
            prefix, _, name = key.rpartition(".")
            if prefix == kind or (not prefix and name in declared):
                chosen[name] = value
        return chosen

    def unclaimed_backend_options(self, declared: Mapping[str, Iterable[str]]) -> list[str]:
        """Bare keys that neither chosen backend declares (a typo, or the wrong backend)."""
        known = {name for names in declared.values() for name in names}
        return [key for key in self.backend_options if "." not in key and key not in known]

    def with_(self, **changes) -> ScoreOptions:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise InvalidOptionError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)
