"""Dialogue ducking: lower the music while the timeline's own audio has someone speaking.

The side-chain (the timeline's audio, mono or multichannel, any rate; 8-16 kHz is plenty)
is measured as short-time RMS at ``control_hz``. Activity switches on above
``threshold_db`` and off only below ``threshold_db - hysteresis_db``; it is held for
``hold_s`` across the gaps between words and starts ``lookahead_s`` early. The target
gain (0 or -depth_db) is then slew-limited in dB: it falls at most ``depth_db`` per
``attack_s`` and rises at most ``depth_db`` per ``release_s``, so the change per
millisecond is bounded. The result is a control-rate curve (100 values a second, ~3 MB
for an hour) that ``DuckingEnvelope.block`` expands to per-sample linear gain on demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridge.analysis.sound import SideChainLevel
from bridge.errors import InvalidOptionError
from bridge.types import SoundTrack

__all__ = ["DuckingEnvelope", "ducking_envelope", "ducking_from_level"]


@dataclass(frozen=True, eq=False)
class DuckingEnvelope:
    """Gain in dB at control times k / control_hz (k = 0, 1, ...); satisfies GainEnvelope."""

    gain_db: np.ndarray
    control_hz: float
    active: np.ndarray  # bool per control frame: dialogue detected (after hold/look-ahead)

    def block(self, start_sample: int, n: int, sr: int) -> np.ndarray:
        """Linear gain for samples [start_sample, start_sample + n) at ``sr``."""
        position = (start_sample + np.arange(n)) * (self.control_hz / sr)
        first = max(0, int(position[0]) - 1) if n else 0
        last = min(len(self.gain_db), int(position[-1]) + 2) if n else 0
        knots = np.arange(first, last)
        gain_db = np.interp(position, knots, self.gain_db[first:last])
        return 10 ** (gain_db / 20)


def ducking_envelope(
    dialogue: np.ndarray,
    *,
    dialogue_sr: float,
    duration_s: float,
    control_hz: float = 100.0,
    **shape: float,
) -> DuckingEnvelope:
    """Music gain that dips where ``dialogue`` is active (see module doc); ``shape`` is
    ``ducking_from_level``'s depth, threshold, attack, release, look-ahead, hysteresis and
    hold, with its defaults."""
    dialogue = np.asarray(dialogue)
    checks = {
        "dialogue": dialogue.ndim in (1, 2) and np.issubdtype(dialogue.dtype, np.number),
        "dialogue_sr": dialogue_sr > 0,
        "duration_s": duration_s > 0 and math.isfinite(duration_s),
        "control_hz": 1 <= control_hz <= 1000,
    }
    _check(checks)
    level = SideChainLevel(duration_s=duration_s, control_hz=control_hz)
    level.add(dialogue, sr=dialogue_sr)
    return ducking_from_level(level, **shape)


def ducking_from_level(
    level: SideChainLevel | SoundTrack,
    *,
    depth_db: float = 9.0,
    threshold_db: float = -45.0,
    attack_s: float = 0.08,
    release_s: float = 0.5,
    lookahead_s: float = 0.05,
    hysteresis_db: float = 6.0,
    hold_s: float = 0.25,
) -> DuckingEnvelope:
    """The envelope from a side-chain measured piece by piece, or from the sound pass's
    energy track (see module doc)."""
    _check({
        "depth_db": 0 <= depth_db <= 60,
        "attack_s": attack_s > 0,
        "release_s": release_s > 0,
        "lookahead_s": lookahead_s >= 0,
        "hysteresis_db": hysteresis_db >= 0,
        "hold_s": hold_s >= 0,
    })
    control_hz, n_frames = level.control_hz, level.n_frames
    level_db = level.level_db()
    active = _hysteresis(level_db, on_db=threshold_db, off_db=threshold_db - hysteresis_db)
    hold_n = round(hold_s * control_hz)
    ahead_n = round(lookahead_s * control_hz)
    # frame k counts as active if any raw frame in [k - hold_n, k + ahead_n] is
    counts = np.concatenate([[0], np.cumsum(active)])
    frames = np.arange(n_frames)
    lo = np.clip(frames - hold_n, 0, n_frames)
    hi = np.clip(frames + ahead_n + 1, 0, n_frames)
    active = counts[hi] - counts[lo] > 0
    target_db = np.where(active, -float(depth_db), 0.0)
    gain_db = _slew_limit(
        target_db,
        down_per_frame=depth_db / (attack_s * control_hz),
        up_per_frame=depth_db / (release_s * control_hz),
    )
    return DuckingEnvelope(gain_db=gain_db, control_hz=float(control_hz), active=active)


def _check(checks: dict[str, bool]) -> None:
    for name, ok in checks.items():
        if not ok:
            raise InvalidOptionError("out of range or wrong shape", field=name)


def _hysteresis(level_db: np.ndarray, *, on_db: float, off_db: float) -> np.ndarray:
    """On above on_db, off below off_db, otherwise keep the previous state (starts off)."""
    decided = np.where(level_db > on_db, 1, np.where(level_db < off_db, 0, -1))
    decided = np.concatenate([[0], decided])
    last_decision = np.maximum.accumulate(np.where(decided >= 0, np.arange(len(decided)), 0))
    return decided[last_decision][1:].astype(bool)


def _slew_limit(target: np.ndarray, *, down_per_frame: float, up_per_frame: float) -> np.ndarray:
    """Follow ``target`` with a bounded step per frame (sequential by nature, so a loop)."""
    out = np.empty(len(target))
    value = 0.0  # start at full level; the first duck ramps down like any other
    for k, want in enumerate(target.tolist()):
        value = min(max(want, value - down_per_frame), value + up_per_frame)
        out[k] = value
    return out
