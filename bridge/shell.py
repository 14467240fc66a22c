"""What the command-line front ends share: progress bars on stderr and the backend flags.

`bridge.cli` and the commands other modules add to it (`eval`, `serve`, ...) import this
module, never `bridge.cli` itself, so the CLI has no import cycle.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from bridge.errors import InvalidOptionError
from bridge.progress import ProgressFn


@contextmanager
def progress_bars(enabled: bool) -> Iterator[ProgressFn]:
    """A rich progress bar per pipeline stage, on stderr; a no-op when disabled."""
    if not enabled:
        yield lambda stage, fraction, message="": None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(
        TextColumn("{task.fields[stage]:>8}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, int] = {}

    def report(stage: str, fraction: float, message: str = "") -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(message, total=1.0, stage=stage)
        bars.update(tasks[stage], completed=min(max(fraction, 0.0), 1.0), description=message)

    with bars:
        yield report


def add_backend_arguments(p: argparse.ArgumentParser, *, affect: bool = True,
                          music: bool = True) -> None:
    """--affect-backend, --music-backend and repeatable --backend-opt KEY=VALUE."""
    if affect:
        p.add_argument("--affect-backend", metavar="NAME",
                       help="affect estimator (default heuristic; see `scorebridge backends`)")
    if music:
        p.add_argument("--music-backend", metavar="NAME",
                       help="music backend (default symbolic; see `scorebridge backends`)")
    p.add_argument("--backend-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="an option for the chosen backend (repeatable); affect.KEY or "
                        "music.KEY picks one backend, e.g. soundfont=/path/GM.sf2")


def backend_option_changes(args: argparse.Namespace) -> dict:
    """The ScoreOptions changes the backend flags ask for."""
    changes: dict = {}
    for name in ("affect_backend", "music_backend"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    pairs = getattr(args, "backend_opt", None) or []
    if pairs:
        options: dict[str, str] = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise InvalidOptionError(f"{pair!r} is not KEY=VALUE", field="--backend-opt")
            options[key.strip()] = value
        changes["backend_options"] = options
    return changes
