"""The finishing stage every music backend shares: float blocks in, the final WAVs out.

A backend yields its audio as blocks: one mapping per block, role -> (n, channels) float32
(channels 1 or 2; mono is played on both sides), every block carrying the same roles, the
blocks back to back from the timeline's first sample. A backend without stems yields one
role (e.g. ``{"music": block}``). Block sizes are the backend's choice and may vary; the
result does not depend on them. A block belongs to the stage once yielded: it is ducked
and faded in place, so a source must not reuse its arrays for the next block.

    result = master_audio(blocks, roles=("music",), out_path=wav, n_samples=n, sr=48_000)

Pass 1 applies the gain envelope (dialogue ducking) and the end fade to every role, sums
the roles into the mix (in role order), feeds the mix to a streaming ``LevelMeter`` and
writes the float32 audio to scratch files beside the output. Between the passes
``plan_gain`` picks the static gain for ``target_lufs`` and a look-ahead limiter curve for
the true-peak ceiling. Pass 2 reads the scratch files back, applies gain x limiter to the
mix and to every stem (so stems still sum to the mix) and writes temp WAVs that are
renamed into place only when everything succeeded. Memory is a few blocks plus ~30 MB of
meter chunks per hour, whatever the length.

The result is exactly ``n_samples`` long: a source that runs short is padded with silence
and one that runs long is cut (a neural decoder's length is a whole number of frames of
its own). Ducking is applied before loudness is measured: the loudness target holds for
what the viewer hears, and the music between dialogue sits ``depth_db`` above the music
under dialogue (exactly, except where the limiter acts).

The last ``END_FADE_S`` (30 ms, under one frame at any video rate) is faded out with a
half-cosine ending at zero on the last sample, so cut-off tails do not click.

``finish`` is the one call a backend makes: it builds the ducking envelope from the
analysis's sound pass when the request asks for it, then runs ``master_audio``.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile

from bridge.errors import BridgeError, InvalidOptionError
from bridge.music.base import MusicRequest
from bridge.music.ducking import ducking_from_level
from bridge.music.loudness import LevelMeter, chunk_gain_block, plan_gain
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.types import Analysis

END_FADE_S = 0.03
PASS1_SHARE = 0.8  # of the progress bar; pass 1 carries the synthesis
WRITE_BLOCK_S = 10.0  # pass 2 reads the scratch audio back in blocks of this length
_PCM24_MAX = 2**23 - 1
_ROLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

RoleBlocks = Mapping[str, np.ndarray]  # role -> (n, channels) float32, one block of audio


class GainEnvelope(Protocol):
    """Per-sample linear gain for samples [start_sample, start_sample + n) at ``sr``."""

    def block(self, start_sample: int, n: int, sr: int) -> np.ndarray: ...


@dataclass(frozen=True)
class MasterResult:
    path: Path
    stem_paths: dict[str, Path]
    n_samples: int
    sr: int
    integrated_lufs: float  # measured on the written file (-inf if silent)
    true_peak_dbtp: float  # measured on the written file, 4x oversampled (nan: not measured)
    gain_db: float  # static normalisation gain applied to the source
    limiter_db: float = 0.0  # deepest limiter gain reduction (<= 0)
    warnings: tuple[str, ...] = ()  # e.g. the target loudness was out of reach


def master_audio(
    blocks: Iterable[RoleBlocks],
    *,
    roles: Sequence[str],
    out_path: Path | str,
    n_samples: int,
    sr: int = 48_000,
    stems_dir: Path | str | None = None,
    gain_envelope: GainEnvelope | None = None,
    target_lufs: float = -16.0,
    true_peak_dbtp: float = -1.0,
    fixed_gain_db: float | None = None,
    end_fade: bool = True,
    measure_true_peak: bool = True,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> MasterResult:
    """Finish ``blocks`` into exactly ``n_samples`` of 24-bit stereo WAV at ``sr`` (and one
    WAV per role in ``stems_dir`` when given). See the module doc.

    A stretch rendered again for a re-score passes the gain its version was mastered with
    (``fixed_gain_db``: no loudness search, the limiter still holds the ceiling) and
    ``end_fade=False`` unless it ends the timeline. ``measure_true_peak=False`` leaves the
    written file's true peak unmeasured (nan): the limiter still holds the ceiling."""
    out_path = Path(out_path)
    roles = list(roles)
    _check_options(out_path=out_path, n_samples=n_samples, sr=sr, target_lufs=target_lufs,
                   true_peak_dbtp=true_peak_dbtp, roles=roles)
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
    try:
        if stems_dir is not None:
            stems_dir.mkdir(parents=True, exist_ok=True)
        meter = LevelMeter(sr=sr)
        _first_pass(
            blocks, roles=roles, scratch=scratch, meter=meter, n_samples=n_samples, sr=sr,
            gain_envelope=gain_envelope, end_fade=end_fade, progress=progress, cancel=cancel,
        )  # fmt: skip
        plan = plan_gain(meter.finish(), target_lufs=target_lufs, true_peak_dbtp=true_peak_dbtp,
                         fixed_gain_db=fixed_gain_db)
        # totals only: 100 ms chunks
        out_meter = LevelMeter(sr=sr, chunk_n=round(sr * 0.1), true_peak=measure_true_peak)
        _second_pass(
            plan, chunk_n=meter.chunk_n, roles=roles, scratch=scratch, temps=temps,
            stems=stems_dir is not None, meter=out_meter, n_samples=n_samples, sr=sr,
            block_n=max(1, round(WRITE_BLOCK_S * sr)), progress=progress, cancel=cancel,
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
        close = getattr(blocks, "close", None)
        if close is not None:  # a generator: let it release its synths or model now
            close()
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
    return MasterResult(
        path=out_path,
        stem_paths={role: finals[role] for role in roles} if stems_dir is not None else {},
        n_samples=n_samples,
        sr=sr,
        integrated_lufs=lufs,
        true_peak_dbtp=final.true_peak_dbtp() if measure_true_peak else math.nan,
        gain_db=plan.gain_db,
        limiter_db=20 * math.log10(max(float(plan.chunk_gain.min(initial=1.0)), 1e-12)),
        warnings=warnings,
    )


def finish(
    blocks: Iterable[RoleBlocks],
    *,
    roles: Sequence[str],
    analysis: Analysis,
    request: MusicRequest,
    wav_path: Path,
    stems_dir: Path,
    fit_to_picture: bool = False,
    max_stretch: float | None = None,
    fit_splice: bool = False,
    fit_report: dict | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> MasterResult:
    """``master_audio`` for a backend's ``generate``: the timeline's length, the request's rate,
    stems and ducking under the dialogue the sound pass heard. ``fit_to_picture`` first bends
    the blocks so a beat lands on every cut (``bridge.music.fit``; for backends whose audio
    does not know the cuts); ``fit_splice`` lets it edit the music on a cut no bend reaches;
    ``fit_report`` (a dict) receives the beats and anchors it chose."""

    edit = analysis.edit
    if fit_to_picture:
        from bridge.music.fit import MAX_STRETCH, fit_blocks

        progress("fit", 0.0, "fitting the music to the cuts")
        blocks = fit_blocks(blocks, roles=roles, sr=request.sr,
                            # hard cuts only: a fade or dissolve is a soft boundary, not a hit
                            # (as for the composer and the report), and no cut hides a splice
                            cuts_s=[cut.time_s for cut in analysis.cuts if not cut.is_gradual],
                            duration_s=edit.duration_s,
                            max_stretch=MAX_STRETCH if max_stretch is None else max_stretch,
                            splice=fit_splice, report=fit_report)
    envelope = None
    if request.duck_db > 0 and analysis.sound.heard_s:
        envelope = ducking_from_level(analysis.sound, depth_db=request.duck_db)
    return master_audio(
        blocks,
        roles=roles,
        out_path=wav_path,
        n_samples=edit.n_samples(request.sr),
        sr=request.sr,
        stems_dir=stems_dir if request.stems else None,
        gain_envelope=envelope,
        measure_true_peak=request.measure_true_peak,
        progress=progress,
        cancel=cancel,
    )


def _stereo_blocks(
    blocks: Iterable[RoleBlocks], *, roles: list[str], n_samples: int, sr: int
) -> Iterable[tuple[int, dict[str, np.ndarray]]]:
    """(start sample, role -> (n, 2) float32) covering exactly [0, n_samples)."""
    start = 0
    for i, block in enumerate(blocks):
        if start >= n_samples:
            break  # a source that runs long is cut at the timeline's end
        if set(block) != set(roles):
            raise InvalidOptionError(
                f"block {i} has roles {sorted(block)}, expected {sorted(roles)}", field="roles"
            )
        stereo = {role: _as_stereo(block[role], role=role, index=i) for role in roles}
        lengths = {len(x) for x in stereo.values()}
        if len(lengths) != 1:
            raise InvalidOptionError(f"block {i} has roles of different lengths {sorted(lengths)}",
                                     field="roles")
        n = min(lengths.pop(), n_samples - start)
        if n == 0:
            continue
        yield start, {role: x[:n] for role, x in stereo.items()}
        start += n
        del block, stereo  # let the source reuse the memory for its next block
    if start < n_samples:  # a source that runs short ends in silence
        pad_n = max(1, round(WRITE_BLOCK_S * sr))
        for pad_start in range(start, n_samples, pad_n):
            n = min(pad_n, n_samples - pad_start)
            yield pad_start, {role: np.zeros((n, 2), dtype=np.float32) for role in roles}


def _as_stereo(x: np.ndarray, *, role: str, index: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2):
        raise InvalidOptionError(
            f"block {index} of role {role!r} has shape {x.shape}; expected (n, 1) or (n, 2)",
            field="roles",
        )
    if not np.isfinite(x).all():
        raise InvalidOptionError(f"block {index} of role {role!r} has NaN or inf samples",
                                 field="roles")
    if x.shape[1] == 1:
        return np.repeat(x, 2, axis=1)
    return x if x.flags.writeable else x.copy()  # e.g. np.broadcast_to views


def _first_pass(
    blocks, *, roles, scratch, meter, n_samples, sr, gain_envelope, end_fade, progress, cancel
) -> None:
    """Pass 1: duck and fade every role, meter the mix, keep float32 audio."""
    files = {name: open(path, "wb") for name, path in scratch.items()}  # noqa: SIM115
    try:
        cancel.raise_if_cancelled()
        for start, stems in _stereo_blocks(blocks, roles=roles, n_samples=n_samples, sr=sr):
            cancel.raise_if_cancelled()
            n = len(stems[roles[0]])
            envelope = _envelope(
                start=start, n=n, n_samples=n_samples, sr=sr, gain_envelope=gain_envelope,
                end_fade=end_fade,
            )
            if envelope is not None:  # in place: a copy of every role would double the block
                for role in roles:
                    stems[role] *= envelope[:, None]
            mix = _sum_stems(stems, roles, n)
            meter.add(mix)
            for name, f in files.items():
                f.write(memoryview(np.ascontiguousarray(stems[name] if name else mix)))
            progress(
                "render",
                PASS1_SHARE * (start + n) / n_samples,
                f"rendered {(start + n) / sr:.1f} of {n_samples / sr:.1f} s",
            )
            del stems, mix, envelope  # before the source makes the next block
    finally:
        for f in files.values():
            f.close()


def _second_pass(
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
    *, start: int, n: int, n_samples: int, sr: int, gain_envelope: GainEnvelope | None,
    end_fade: bool = True,
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
    if end_fade and start + n > fade_start:
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
    target_lufs: float,
    true_peak_dbtp: float,
    roles: list[str],
) -> None:
    """Arguments of a direct call (a job's options were checked once, in ScoreOptions)."""
    if not out_path.parent.is_dir():
        raise InvalidOptionError("the output folder does not exist", path=out_path.parent)
    if not isinstance(n_samples, int | np.integer) or n_samples <= 0:
        raise InvalidOptionError(f"{n_samples!r} is not a positive sample count", field="n_samples")
    if not 8_000 <= sr <= 192_000:
        raise InvalidOptionError(f"{sr} Hz is outside 8000..192000", field="sr")
    if not -70 < target_lufs < 0:
        raise InvalidOptionError(f"{target_lufs} LUFS is outside -70..0", field="target_lufs")
    if not -20 <= true_peak_dbtp <= 0:
        raise InvalidOptionError(f"{true_peak_dbtp} dBTP is outside -20..0", field="true_peak_dbtp")
    if not roles or len(set(roles)) != len(roles):
        raise InvalidOptionError(f"roles {roles} must be distinct and at least one",
                                 field="roles")
    for role in roles:  # stems are named after their roles
        if not _ROLE_NAME.match(role):
            raise InvalidOptionError(f"role {role!r} is not a plain name [A-Za-z0-9_-]",
                                     field="roles")


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
