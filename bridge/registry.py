"""Named extension points: affect estimators and music backends register here by name.

A backend declares the options it takes as ``OptionSpec``s (name, one-line description,
default, parser). Options arrive as strings from the CLI (``--backend-opt KEY=VALUE``),
the proto and the HTTP gateway; ``Registry.create(name, **options)`` parses them with the
backend's own parsers, refuses names the backend does not declare, fills the defaults and
passes the parsed values to the backend's factory as keyword arguments. So a backend only
ever sees values it declared, already in its own types.

Backends outside ``bridge/`` register through Python entry points (the way OTIO finds its
adapter plugins): a distribution declares, e.g. in its pyproject.toml,

    [project.entry-points."scorebridge.music_backends"]
    mybackend = "mypackage.music:register"

and ``register(registry)`` is called with the registry the first time it is asked for its
names, so it can ``registry.register("mybackend", options=...)(MyBackend)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from bridge.errors import BackendUnavailableError, InvalidOptionError

T = TypeVar("T")


@dataclass(frozen=True)
class OptionSpec:
    """One option a backend takes: ``parse`` turns the string form into the value.

    ``parse`` raises ValueError (or TypeError) with a short reason for a bad value; the
    registry turns that into an InvalidOptionError naming the option.
    """

    name: str
    description: str  # one line, shown by `scorebridge backends` and ListBackends
    default: Any = None
    parse: Callable[[str], Any] = str

    def default_text(self) -> str:
        return "" if self.default is None else str(self.default)


def parse_path(text: str) -> Path:
    """A file path; ``~`` expands. Whether it exists is the backend's business."""
    if not text.strip():
        raise ValueError("an empty path")
    return Path(text).expanduser()


def parse_choice(*allowed: str) -> Callable[[str], str]:
    """A parser that accepts one of ``allowed`` words."""
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text

    return parse


def parse_number(kind: type[int] | type[float] = float, *, at_least: float | None = None,
                 above: float | None = None) -> Callable[[str], int | float]:
    """A parser for a number of ``kind`` no smaller than ``at_least`` / larger than ``above``."""
    whole = "a whole number " if kind is int else ""

    def parse(text: str) -> int | float:
        value = kind(text)
        if at_least is not None and value < at_least:
            raise ValueError(f"must be {whole}>= {at_least:g}")
        if above is not None and not value > above:
            raise ValueError(f"must be {whole}> {above:g}")
        return value

    return parse


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not true/false")


@dataclass(frozen=True)
class Availability:
    name: str
    available: bool
    reason: str = ""  # why not, e.g. "torch not installed" or "no weights at PATH"
    options: tuple[OptionSpec, ...] = ()
    description: str = ""  # the factory's first docstring line


class Registry(Generic[T]):
    """name -> factory, its declared options, and an optional check that says why a
    backend cannot run here.

    ``check(**options)`` gets the parsed options (defaults filled in) and returns "" when
    the backend is usable with them, else the reason it is not.
    """

    def __init__(self, kind: str, *, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._factories: dict[str, Callable[..., T]] = {}
        self._checks: dict[str, Callable[..., str]] = {}
        self._options: dict[str, tuple[OptionSpec, ...]] = {}
        self._plugins_loaded = entry_point_group is None
        self._plugin_errors: dict[str, str] = {}

    def register(
        self,
        name: str,
        *,
        check: Callable[..., str] | None = None,
        options: Sequence[OptionSpec] = (),
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory(**parsed_options)`` under ``name``."""
        seen = [spec.name for spec in options]
        if len(set(seen)) != len(seen):
            raise ValueError(f"{self.kind} {name!r} declares an option twice: {seen}")

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            self._options[name] = tuple(options)
            if check is not None:
                self._checks[name] = check
            return factory

        return decorate

    def _load_plugins(self) -> None:
        """Let installed distributions register their backends (once, on first use)."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry in metadata.entry_points(group=self.entry_point_group):
            try:
                entry.load()(self)
            except Exception as err:  # a broken plugin must not break the built-ins
                self._plugin_errors[entry.name] = f"plugin {entry.value!r} failed to load: {err}"

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted({*self._factories, *self._plugin_errors})

    def options(self, name: str) -> tuple[OptionSpec, ...]:
        self._known(name)
        return self._options.get(name, ())

    def parse_options(self, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared option of ``name``: parsed from ``options`` or its default."""
        specs = {spec.name: spec for spec in self.options(name)}
        unknown = sorted(set(options) - set(specs))
        if unknown:
            takes = ", ".join(specs) or "none"
            raise InvalidOptionError(
                f"{self.kind} {name!r} has no option {unknown[0]!r} (it takes: {takes})",
                field=f"backend_options.{unknown[0]}",
            )
        parsed = {key: spec.default for key, spec in specs.items()}
        for key, value in options.items():
            if not isinstance(value, str):  # a library caller passing a Path or a number
                value = str(value)
            try:
                parsed[key] = specs[key].parse(value)
            except (ValueError, TypeError) as err:
                raise InvalidOptionError(
                    f"{value!r} is not valid for {self.kind} {name!r}: {err}",
                    field=f"backend_options.{key}",
                ) from err
        return parsed

    def _reason(self, name: str, parsed: Mapping[str, Any]) -> str:
        if name in self._plugin_errors:
            return self._plugin_errors[name]
        return self._checks[name](**parsed) if name in self._checks else ""

    def availability(self) -> list[Availability]:
        out = []
        for name in self.names():
            parsed = self.parse_options(name, {}) if name in self._factories else {}
            reason = self._reason(name, parsed)
            doc = (getattr(self._factories.get(name), "__doc__", None) or "").strip()
            out.append(Availability(name, not reason, reason, self._options.get(name, ()),
                                    doc.splitlines()[0] if doc else ""))
        return out

    def _known(self, name: str) -> None:
        if name not in self.names():
            raise InvalidOptionError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}",
                field=self.kind,
            )

    def create(self, name: str, **options: Any) -> T:
        """The backend ``name`` built with ``options`` (strings, parsed by its specs)."""
        self._known(name)
        parsed = self.parse_options(name, options)
        reason = self._reason(name, parsed)
        if reason:
            raise BackendUnavailableError(f"{self.kind} {name!r} cannot run: {reason}")
        return self._factories[name](**parsed)
