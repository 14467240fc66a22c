"""Play an ``Arrangement`` on FluidSynth, one synth per track, as float blocks per role.

``synthesise`` yields role -> (n, 2) float32 blocks back to back, which is what the
finishing stage (``bridge.music.master``) consumes; the level, ducking, fade and the WAV
are its business, not this module's.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.render.soundfont import SynthTrack, find_soundfont
from bridge.types import Arrangement

_ROLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def arrangement_roles(arrangement: Arrangement) -> list[str]:
    """The arrangement's roles in first-appearance order (the order stems are summed in)."""
    return list(dict.fromkeys(track.role for track in arrangement.tracks))


def default_threads() -> int:
    """Synthesis threads: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def synthesise(
    arrangement: Arrangement,
    *,
    n_samples: int,
    sr: int = 48_000,
    soundfont: Path | str | None = None,
    block_s: float = 10.0,
    threads: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Role -> (n, 2) float32 blocks of ``block_s`` covering [0, n_samples).

    Each track has its own synth, so the tracks of a block are rendered side by side on
    ``threads`` threads (default: one per core; FluidSynth renders without holding
    Python's lock), and the next block is rendered while the caller works on this one.
    Tracks are summed in their own order whatever finishes first, so the result is the
    same, to the bit, for any number of threads.

    The arrangement and the SoundFont are checked before the first block is asked for,
    so a bad note or a missing font fails before any file is opened. The synths are
    released when the iterator is exhausted or closed.
    """
    if not block_s > 0:
        raise InvalidOptionError(f"{block_s} s is not positive", field="block_s")
    threads = default_threads() if threads is None else threads
    if threads < 1:
        raise InvalidOptionError(f"{threads} threads: need at least one", field="threads")
    check_arrangement(arrangement)
    font = find_soundfont(soundfont)
    return _blocks(arrangement, font=font, n_samples=n_samples, sr=sr,
                   block_n=max(1, round(block_s * sr)), threads=threads)


def _blocks(arrangement: Arrangement, *, font: Path, n_samples: int, sr: int,
            block_n: int, threads: int) -> Iterator[dict[str, np.ndarray]]:
    roles = arrangement_roles(arrangement)
    players = _make_players(arrangement, font=font, sr=sr, n_samples=n_samples)
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 and players else None

    def render(n: int):
        """This block of every track: audio now (one thread), or futures (a pool)."""
        if pool is None:
            return [player.render(n) for _, _, player in players]
        return [pool.submit(player.render, n) for _, _, player in players]

    starts = list(range(0, n_samples, block_n))
    try:
        pending = render(min(block_n, n_samples)) if starts else None
        for k, start in enumerate(starts):
            n = min(block_n, n_samples - start)
            audio = [a if isinstance(a, np.ndarray) else a.result() for a in pending]
            if k + 1 < len(starts):  # a synth plays its blocks in order: this one is done
                pending = render(min(block_n, n_samples - starts[k + 1]))
            stems = {role: np.zeros((n, 2), dtype=np.float32) for role in roles}
            for (role, volume, _), block in zip(players, audio):
                stems[role] += block * np.float32(volume)
            yield stems
            del stems  # the consumer is done with it: one block alive at a time
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)  # no synth is closed mid-render
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
                player = SynthTrack(font, sr=sr, program=track.program, is_drum=track.is_drum,
                                    room=arrangement.room, reverb_send=track.reverb_send,
                                    chorus_send=track.chorus_send)
            except InvalidOptionError as err:
                field = "room" if err.field == "room" else f"tracks[{i}].program"
                raise InvalidOptionError(err.message, field=field) from err
            players.append((track.role, track.volume, player))
            for control in track.controls:
                at = round(control.time_s * sr)
                if at < n_samples:
                    player.add_control(sample=at, controller=control.controller,
                                       value=control.value)
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
        for k, control in enumerate(track.controls):
            if not (0 <= control.controller <= 127 and 0 <= control.value <= 127
                    and control.time_s >= 0 and math.isfinite(control.time_s)):
                raise InvalidOptionError(
                    f"controller {control.controller} = {control.value} at {control.time_s} s "
                    "is not a MIDI controller change at a time >= 0",
                    field=f"{where}.controls[{k}]",
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
