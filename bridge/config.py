"""Options for a scoring job, with explicit defaults and one validation pass."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType

from bridge.errors import InvalidOptionError

MARKER_DENSITIES = ("sections", "peaks")  # plus "every:N" (seconds)
BACKEND_KINDS = ("affect", "music")


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
    report: bool = False

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
