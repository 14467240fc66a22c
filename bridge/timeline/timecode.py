"""SMPTE-style timecode at any frame rate, and relabelling the rates inside a timeline.

OTIO's timecode functions accept only the broadcast rates and raise below 23.976, while
real media runs at 10, 12, 15, 16, 20, 48 or 120 fps too. A timecode here counts whole
frames at the nominal rate (the rate rounded: 24 for 23.976, 120 for 120); drop-frame
(';') exists only for 29.97 and 59.94, where it skips frame numbers 0-1 (0-3 at 59.94)
at each minute not divisible by ten.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from fractions import Fraction

import opentimelineio as otio

from bridge.errors import UnreadableTimelineError

_PARTS = re.compile(r"^\s*(-)?(\d+)[:;.,](\d\d)[:;.,](\d\d)([:;.,])(\d\d+)\s*$")


def nominal_fps(rate: Fraction) -> int:
    return max(1, round(rate))


def drop_frame_possible(rate: Fraction) -> bool:
    """Drop-frame timecode exists only for 29.97 and 59.94 (multiples of 30000/1001)."""
    return rate.denominator == 1001 and rate.numerator % 30000 == 0


def _dropped_per_minute(rate: Fraction) -> int:
    return 2 * nominal_fps(rate) // 30


def timecode(frames: int, *, rate: Fraction, drop_frame: bool) -> str:
    """'HH:MM:SS:FF' ('HH:MM:SS;FF' for drop-frame) of a frame count."""
    rate = Fraction(rate)
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, not {rate}")
    fps = nominal_fps(rate)
    sign = "-" if frames < 0 else ""
    n = abs(int(frames))
    sep = ":"
    if drop_frame and drop_frame_possible(rate):
        sep = ";"
        drop = _dropped_per_minute(rate)
        per_10min = fps * 600 - drop * 9
        per_min = fps * 60 - drop
        tens, rest = divmod(n, per_10min)
        n += drop * 9 * tens + (drop * ((rest - drop) // per_min) if rest > drop else 0)
    ff = n % fps
    seconds = n // fps
    width = max(2, len(str(fps - 1)))
    return (f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            f"{sep}{ff:0{width}d}")


def frames_of_timecode(stamp: str, *, rate: Fraction) -> int:
    """Frame count of a timecode; ';' or ',' before the frames marks drop-frame."""
    m = _PARTS.match(stamp)
    if not m:
        raise ValueError(f"{stamp!r} is not a timecode")
    neg, hh, mm, ss, sep, ff = m.groups()
    fps = nominal_fps(Fraction(rate))
    if int(ff) >= fps:
        raise ValueError(f"timecode {stamp!r} has frame {int(ff)}, beyond {fps - 1} at "
                         f"{float(rate):.3f} fps")
    n = (int(hh) * 3600 + int(mm) * 60 + int(ss)) * fps + int(ff)
    if sep in ";," and drop_frame_possible(Fraction(rate)):
        minutes = int(hh) * 60 + int(mm)
        n -= _dropped_per_minute(Fraction(rate)) * (minutes - minutes // 10)
    return -n if neg else n


# ---------------------------------------------------------------- rates inside a timeline


def retimed(timeline, change: Callable[[float, float], tuple[float, float]]):
    """A copy with every RationalTime replaced by ``change(value, rate) -> (value, rate)``."""

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("OTIO_SCHEMA", "")).startswith("RationalTime."):
                node["value"], node["rate"] = change(float(node["value"]), float(node["rate"]))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    data = json.loads(otio.adapters.write_to_string(timeline, adapter_name="otio_json"))
    walk(data)
    try:
        return otio.adapters.read_from_string(json.dumps(data), adapter_name="otio_json")
    except Exception as exc:  # should not happen: we wrote what OTIO gave us
        raise UnreadableTimelineError(f"cannot re-time the timeline ({exc})") from exc


def relabel_rate(timeline, *, old: Fraction, new: Fraction):
    """Every time counted at ``old`` fps becomes the same frame count at ``new`` fps."""
    old_f, new_f = float(old), float(new)

    def change(value: float, rate: float) -> tuple[float, float]:
        return (value, new_f) if abs(rate - old_f) < 1e-9 else (value, rate)

    return retimed(timeline, change)
