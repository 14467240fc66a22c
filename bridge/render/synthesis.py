"""Play an ``Arrangement`` on FluidSynth, one synth per track, as float blocks per role.

``synthesise`` yields role -> (n, 2) float32 blocks back to back, which is what the
finishing stage (``bridge.music.master``) consumes; the level, ducking, fade and the WAV
are its business, not this module's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.render.soundfont import SynthTrack, find_soundfont
from bridge.types import Arrangement

_ROLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def arrangement_roles(arrangement: Arrangement) -> list[str]:
    """The arrangement's roles in first-appearance order (the order stems are summed in)."""
    return list(dict.fromkeys(track.role for track in arrangement.tracks))


def synthesise(
    arrangement: Arrangement,
    *,
    n_samples: int,
    sr: int = 48_000,
    soundfont: Path | str | None = None,
    block_s: float = 10.0,
) -> Iterator[dict[str, np.ndarray]]:
    """Role -> (n, 2) float32 blocks of ``block_s`` covering [0, n_samples).

    The arrangement and the SoundFont are checked before the first block is asked for,
    so a bad note or a missing font fails before any file is opened. The synths are
    released when the iterator is exhausted or closed.
    """
    if not block_s > 0:
        raise InvalidOptionError(f"{block_s} s is not positive", field="block_s")
    check_arrangement(arrangement)
    font = find_soundfont(soundfont)
    return _blocks(arrangement, font=font, n_samples=n_samples, sr=sr,
                   block_n=max(1, round(block_s * sr)))


def _blocks(arrangement: Arrangement, *, font: Path, n_samples: int, sr: int,
            block_n: int) -> Iterator[dict[str, np.ndarray]]:
    roles = arrangement_roles(arrangement)
    players = _make_players(arrangement, font=font, sr=sr, n_samples=n_samples)
    try:
        for start in range(0, n_samples, block_n):
            n = min(block_n, n_samples - start)
            stems = {role: np.zeros((n, 2), dtype=np.float32) for role in roles}
            for role, volume, player in players:
                stems[role] += player.render(n) * np.float32(volume)
            yield stems
            del stems  # the consumer is done with it: one block alive at a time
    finally:
        for _, _, player in players:
            player.close()


def _make_players(
    arrangement: Arrangement, *, font: Path, sr: int, n_samples: int
) -> list[tuple[str, float, SynthTrack]]:
    """One synth per track with all its notes queued: (role, volume, synth)."""
    players = []
    try:
        for i, track in enumerate(arrangement.tracks):
            try:
                player = SynthTrack(font, sr=sr, program=track.program, is_drum=track.is_drum)
            except InvalidOptionError as err:
                raise InvalidOptionError(err.message, field=f"tracks[{i}].program") from err
            players.append((track.role, track.volume, player))
            for note in track.notes:
                on = round(note.start_s * sr)
                if on < n_samples:  # tails past the end are cut anyway
                    player.add_note(
                        on_sample=on, off_sample=round(note.end_s * sr), pitch=note.pitch,
                        velocity=note.velocity,
                    )  # fmt: skip
    except BaseException:
        for _, _, player in players:
            player.close()
        raise
    return players


def check_arrangement(arrangement: Arrangement) -> None:
    for i, track in enumerate(arrangement.tracks):
        where = f"tracks[{i}]"
        if not _ROLE_NAME.match(track.role):
            raise InvalidOptionError(
                f"role {track.role!r} is not a plain name [A-Za-z0-9_-]", field=f"{where}.role"
            )
        if not 0 <= track.program <= 127:
            raise InvalidOptionError(
                f"program {track.program} is outside 0..127", field=f"{where}.program"
            )
        if not (track.volume >= 0 and math.isfinite(track.volume)):
            raise InvalidOptionError(
                f"volume {track.volume} is not a finite gain >= 0", field=f"{where}.volume"
            )
        for j, note in enumerate(track.notes):
            here = f"{where}.notes[{j}]"
            if not 0 <= note.pitch <= 127:
                raise InvalidOptionError(
                    f"pitch {note.pitch} is outside 0..127", field=f"{here}.pitch"
                )
            if not 1 <= note.velocity <= 127:
                raise InvalidOptionError(
                    f"velocity {note.velocity} is outside 1..127", field=f"{here}.velocity"
                )
            if not (0 <= note.start_s <= note.end_s and math.isfinite(note.end_s)):
                raise InvalidOptionError(
                    f"times {note.start_s}..{note.end_s} s are not 0 <= start <= end",
                    field=f"{here}.start_s",
                )
