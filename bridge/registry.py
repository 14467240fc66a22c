"""Named extension points: affect estimators and music backends register here by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bridge.errors import BackendUnavailableError, InvalidOptionError

T = TypeVar("T")


@dataclass(frozen=True)
class Availability:
    name: str
    available: bool
    reason: str = ""  # why not, e.g. "torch not installed" or "no weights at PATH"


class Registry(Generic[T]):
    """name -> factory, plus an optional check that says why a backend cannot run here."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._checks: dict[str, Callable[[], str]] = {}

    def register(
        self, name: str, *, check: Callable[[], str] | None = None
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator. ``check()`` returns "" when usable, else the reason it is not."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            if check is not None:
                self._checks[name] = check
            return factory

        return decorate

    def names(self) -> list[str]:
        return sorted(self._factories)

    def availability(self) -> list[Availability]:
        out = []
        for name in self.names():
            reason = self._checks[name]() if name in self._checks else ""
            out.append(Availability(name, not reason, reason))
        return out

    def create(self, name: str, **kwargs) -> T:
        if name not in self._factories:
            raise InvalidOptionError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}",
                field=self.kind,
            )
        reason = self._checks[name]() if name in self._checks else ""
        if reason:
            raise BackendUnavailableError(f"{self.kind} {name!r} cannot run: {reason}")
        return self._factories[name](**kwargs)
