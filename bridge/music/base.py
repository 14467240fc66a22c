"""The music seam: what a backend is given, what it returns, and the registry of backends.

A backend turns an ``Analysis`` into a soundtrack. It produces float audio in blocks and
hands them to the finishing stage (``bridge.music.master.finish``), which ducks under
dialogue, sets the loudness, limits, fades the last frame and writes the exact-length
24-bit WAV and stems; so a backend is only its synthesis. The embedded "symbolic"
backend (``bridge.music.symbolic``) composes, arranges and plays FluidSynth; a neural
backend registers beside it, here or through the ``scorebridge.music_backends``
entry-point group (see ``bridge.registry``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import Registry
from bridge.types import Analysis

ENTRY_POINT_GROUP = "scorebridge.music_backends"


@dataclass(frozen=True)
class MusicRequest:
    """What every backend honours, whatever it is (its own options came at construction)."""

    seed: int = 0
    sr: int = 48_000
    stems: bool = False
    duck_db: float = 0.0  # 0 = no ducking under the timeline's dialogue
    # False: the finished file is measured elsewhere (the report's baselines, by bridge.eval),
    # so the master skips its own true-peak measurement of it (MusicOutput's is then nan)
    measure_true_peak: bool = True


@dataclass(frozen=True)
class MusicOutput:
    wav_path: Path
    midi_path: Path | None  # None for a backend that makes audio only
    stem_paths: Mapping[str, Path] = field(default_factory=dict)
    plan_summary: Mapping[str, Any] = field(default_factory=dict)
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    warnings: tuple[str, ...] = ()  # e.g. the loudness target was out of reach
    record_path: Path | None = None  # what a re-score starts from (bridge.music.record)


class MusicBackend(Protocol):
    """Built by ``music_backends.create(name, **options)``; one ``generate`` per job.

    ``generate`` writes ``wav_path`` (and ``stems_dir``/ROLE.wav when ``request.stems``,
    and ``midi_path`` if it has MIDI) and returns what it wrote. Paths are staging paths
    the pipeline commits only when the whole job succeeded.
    """

    name: str

    def generate(
        self,
        analysis: Analysis,
        request: MusicRequest,
        *,
        wav_path: Path,
        midi_path: Path,
        stems_dir: Path,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> MusicOutput: ...


music_backends: Registry[MusicBackend] = Registry(
    "music backend", entry_point_group=ENTRY_POINT_GROUP
)
