"""Render an ``Arrangement`` to a loudness-normalised 24-bit WAV (and stems) in two passes.

Pass 1 plays every track on its own FluidSynth instance block by block, sums tracks into
role stems, applies the ducking envelope and the end fade, writes the float32 audio to
scratch files beside the output and feeds the mix to a streaming ``LevelMeter``.
Between the passes ``plan_gain`` picks the static gain for ``target_lufs`` and a
look-ahead limiter curve for the true-peak ceiling. Pass 2 reads the scratch files back,
applies gain x limiter to the mix and to every stem (so stems still sum to the mix) and
writes temp WAVs that are renamed into place only when everything succeeded. Memory is
a few blocks plus ~30 MB of meter chunks per hour, whatever the length.

Ducking is applied in pass 1, i.e. before loudness is measured: the loudness target
holds for what the viewer hears, and the music between dialogue sits ``depth_db`` above
the music under dialogue (exactly, except where the limiter acts).

The last ``END_FADE_S`` (30 ms, under one frame at any video rate) is faded out with a
half-cosine ending at zero on the last sample, so the cut-off tails do not click.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile

from bridge.errors import BridgeError, InvalidOptionError
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.render.loudness import LevelMeter, chunk_gain_block, plan_gain
from bridge.render.soundfont import SynthTrack, find_soundfont
from bridge.types import Arrangement

END_FADE_S = 0.03
PASS1_SHARE = 0.8  # of the progress bar; pass 1 carries the synthesis
_PCM24_MAX = 2**23 - 1
_ROLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class GainEnvelope(Protocol):
    """Per-sample linear gain for samples [start_sample, start_sample + n) at ``sr``."""

    def block(self, start_sample: int, n: int, sr: int) -> np.ndarray: ...


@dataclass(frozen=True)
class RenderResult:
    path: Path
    stem_paths: dict[str, Path]
    n_samples: int
    sr: int
    integrated_lufs: float  # measured on the written file (-inf if silent)
    true_peak_dbtp: float  # measured on the written file, 4x oversampled
    gain_db: float  # static normalisation gain applied to the synth output
    limiter_db: float = 0.0  # deepest limiter gain reduction (<= 0)
    warnings: tuple[str, ...] = ()  # e.g. the target loudness was out of reach


def render_arrangement(
    arrangement: Arrangement,
    *,
    out_path: Path | str,
    n_samples: int,
    sr: int = 48_000,
    soundfont: Path | str | None = None,
    stems_dir: Path | str | None = None,
    gain_envelope: GainEnvelope | None = None,
    target_lufs: float = -16.0,
    true_peak_dbtp: float = -1.0,
    block_s: float = 10.0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RenderResult:
    """Render ``arrangement`` to exactly ``n_samples`` of 24-bit stereo WAV at ``sr``."""
    out_path = Path(out_path)
    _check_options(
        out_path=out_path,
        n_samples=n_samples,
        sr=sr,
        block_s=block_s,
        target_lufs=target_lufs,
        true_peak_dbtp=true_peak_dbtp,
    )
    _check_arrangement(arrangement)
    font = find_soundfont(soundfont)
    roles = list(dict.fromkeys(track.role for track in arrangement.tracks))
    stems_dir = Path(stems_dir) if stems_dir is not None else None
    token = uuid.uuid4().hex[:8]
    # scratch audio: one file per role when stems are wanted, else only the mix (key "")
    scratch = {
        key: out_path.with_name(f".{out_path.stem}.{token}.{key or 'mix'}.f32")
        for key in (roles if stems_dir is not None else [""])
    }
    finals = {"": out_path}
    if stems_dir is not None:
        finals.update({role: stems_dir / f"{role}.wav" for role in roles})
    temps = {key: path.with_name(f".{path.stem}.{token}.tmp") for key, path in finals.items()}
    created_stems_dir = stems_dir is not None and not stems_dir.exists()
    block_n = max(1, round(block_s * sr))
    players: list[tuple[str, float, SynthTrack]] = []
    try:
        if stems_dir is not None:
            stems_dir.mkdir(parents=True, exist_ok=True)
        players += _make_players(arrangement, font=font, sr=sr, n_samples=n_samples)
        meter = LevelMeter(sr=sr)
        _synthesise(
            players, roles=roles, scratch=scratch, meter=meter, n_samples=n_samples, sr=sr,
            block_n=block_n, gain_envelope=gain_envelope, progress=progress, cancel=cancel,
        )  # fmt: skip
        for _, _, player in players:
            player.close()
        players.clear()
        plan = plan_gain(meter.finish(), target_lufs=target_lufs, true_peak_dbtp=true_peak_dbtp)
        out_meter = LevelMeter(sr=sr, chunk_n=round(sr * 0.1))  # totals only: 100 ms chunks
        _write(
            plan, chunk_n=meter.chunk_n, roles=roles, scratch=scratch, temps=temps,
            stems=stems_dir is not None, meter=out_meter, n_samples=n_samples, sr=sr,
            block_n=block_n, progress=progress, cancel=cancel,
        )  # fmt: skip
        cancel.raise_if_cancelled()
        for key in sorted(temps, key=lambda k: k == ""):  # the mix last
            os.replace(temps[key], finals[key])
    except BaseException as err:
        for path in temps.values():
            path.unlink(missing_ok=True)
        if created_stems_dir and stems_dir.exists() and not any(stems_dir.iterdir()):
            stems_dir.rmdir()
        if isinstance(err, OSError):  # disk full, permissions: say which file
            raise BridgeError(f"cannot write audio: {err}", path=out_path) from err
        raise
    finally:
        for _, _, player in players:
            player.close()
        for path in scratch.values():
            path.unlink(missing_ok=True)

    final = out_meter.finish()
    lufs = final.integrated_lufs()
    warnings = ()
    if math.isfinite(lufs) and abs(lufs - target_lufs) > 1.0:
        warnings = (
            f"loudness {lufs:.1f} LUFS misses the {target_lufs:.1f} LUFS target: the peaks "
            f"carry the loudness and the {true_peak_dbtp:.1f} dBTP ceiling comes first",
        )
    return RenderResult(
        path=out_path,
        stem_paths={role: finals[role] for role in roles} if stems_dir is not None else {},
        n_samples=n_samples,
        sr=sr,
        integrated_lufs=lufs,
        true_peak_dbtp=final.true_peak_dbtp(),
        gain_db=plan.gain_db,
        limiter_db=20 * math.log10(max(float(plan.chunk_gain.min(initial=1.0)), 1e-12)),
        warnings=warnings,
    )


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


def _synthesise(
    players, *, roles, scratch, meter, n_samples, sr, block_n, gain_envelope, progress, cancel
) -> None:
    """Pass 1: synthesise block by block, duck and fade, meter the mix, keep float32 audio."""
    files = {name: open(path, "wb") for name, path in scratch.items()}  # noqa: SIM115
    try:
        for start in range(0, n_samples, block_n):
            cancel.raise_if_cancelled()
            n = min(block_n, n_samples - start)
            stems = {role: np.zeros((n, 2), dtype=np.float32) for role in roles}
            for role, volume, player in players:
                stems[role] += player.render(n) * np.float32(volume)
            envelope = _envelope(
                start=start, n=n, n_samples=n_samples, sr=sr, gain_envelope=gain_envelope
            )
            if envelope is not None:
                for role in roles:
                    stems[role] *= envelope[:, None]
            mix = _sum_stems(stems, roles, n)
            meter.add(mix)
            for name, f in files.items():
                f.write(memoryview(stems[name] if name else mix))
            progress(
                "render",
                PASS1_SHARE * (start + n) / n_samples,
                f"synthesised {(start + n) / sr:.1f} of {n_samples / sr:.1f} s",
            )
    finally:
        for f in files.values():
            f.close()


def _write(
    plan, *, chunk_n, roles, scratch, temps, stems, meter, n_samples, sr, block_n, progress, cancel
) -> None:
    """Pass 2: gain x limiter on the mix and every stem, 24-bit temp WAVs, meter the result."""
    readers = {name: open(path, "rb") for name, path in scratch.items()}  # noqa: SIM115
    writers: dict[str, soundfile.SoundFile] = {}
    try:
        for key, path in temps.items():
            writers[key] = soundfile.SoundFile(
                path, "w", samplerate=sr, channels=2, subtype="PCM_24", format="WAV"
            )
        static = 10 ** (plan.gain_db / 20)
        for start in range(0, n_samples, block_n):
            cancel.raise_if_cancelled()
            n = min(block_n, n_samples - start)
            blocks = {
                name: np.fromfile(f, dtype=np.float32, count=2 * n).reshape(n, 2)
                for name, f in readers.items()
            }
            mix = blocks[""] if "" in blocks else _sum_stems(blocks, roles, n, np.float64)
            gain = static * chunk_gain_block(
                plan.chunk_gain, start_sample=start, n=n, chunk_n=chunk_n
            )
            pcm = _to_pcm24(mix * gain[:, None])
            writers[""].write(pcm)
            meter.add(pcm / float(2**31))
            for role in roles if stems else ():
                writers[role].write(_to_pcm24(blocks[role] * gain[:, None]))
            progress(
                "render",
                PASS1_SHARE + (1 - PASS1_SHARE) * (start + n) / n_samples,
                f"wrote {(start + n) / sr:.1f} of {n_samples / sr:.1f} s",
            )
    finally:
        for f in readers.values():
            f.close()
        for w in writers.values():
            w.close()


def _sum_stems(
    stems: dict[str, np.ndarray], roles: list[str], n: int, dtype=np.float32
) -> np.ndarray:
    """The mix, summed in role order. Pass 2 sums in float64 so the gained stems add up to
    the gained mix to within their 24-bit rounding."""
    mix = np.zeros((n, 2), dtype=dtype)
    for role in roles:
        mix += stems[role]
    return mix


def _envelope(
    *, start: int, n: int, n_samples: int, sr: int, gain_envelope: GainEnvelope | None
) -> np.ndarray | None:
    """Ducking gain times the end fade for one block, or None when both are 1."""
    fade_n = min(n_samples, max(1, round(END_FADE_S * sr)))
    fade_start = n_samples - fade_n
    env = None
    if gain_envelope is not None:
        env = np.asarray(gain_envelope.block(start, n, sr), dtype=np.float32)
        if env.shape != (n,):
            raise InvalidOptionError(
                f"gain envelope gave shape {env.shape}, expected ({n},)", field="gain_envelope"
            )
    if start + n > fade_start:
        k = np.arange(max(start, fade_start), start + n) - fade_start + 1
        fade = (0.5 * (1 + np.cos(np.pi * k / fade_n))).astype(np.float32)  # 0 on the last sample
        env = np.ones(n, dtype=np.float32) if env is None else env.copy()
        env[n - len(k) :] *= fade
    return env


def _to_pcm24(x: np.ndarray) -> np.ndarray:
    """Round to 24-bit steps, held in the top bits of int32 as libsndfile expects."""
    q = np.clip(np.round(x * 2**23), -_PCM24_MAX - 1, _PCM24_MAX).astype(np.int32)
    return q << 8


def _check_options(
    *,
    out_path: Path,
    n_samples: int,
    sr: int,
    block_s: float,
    target_lufs: float,
    true_peak_dbtp: float,
) -> None:
    if not out_path.parent.is_dir():
        raise InvalidOptionError("the output folder does not exist", path=out_path.parent)
    if not isinstance(n_samples, int | np.integer) or n_samples <= 0:
        raise InvalidOptionError(f"{n_samples!r} is not a positive sample count", field="n_samples")
    if not 8_000 <= sr <= 192_000:
        raise InvalidOptionError(f"{sr} Hz is outside 8000..192000", field="sr")
    if not block_s > 0:
        raise InvalidOptionError(f"{block_s} s is not positive", field="block_s")
    if not -70 < target_lufs < 0:
        raise InvalidOptionError(f"{target_lufs} LUFS is outside -70..0", field="target_lufs")
    if not -20 <= true_peak_dbtp <= 0:
        raise InvalidOptionError(f"{true_peak_dbtp} dBTP is outside -20..0", field="true_peak_dbtp")


def _check_arrangement(arrangement: Arrangement) -> None:
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


def measure_file(path: Path | str) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a WAV, read in blocks by the streaming meter."""
    path = Path(path)
    try:
        info = soundfile.info(str(path))
    except RuntimeError as err:
        raise BridgeError(f"cannot read audio: {err}", path=path) from err
    meter = LevelMeter(sr=info.samplerate, channels=info.channels)
    for block in soundfile.blocks(str(path), blocksize=1 << 18, dtype="float64", always_2d=True):
        meter.add(block)
    stats = meter.finish()
    return stats.integrated_lufs(), stats.true_peak_dbtp()
