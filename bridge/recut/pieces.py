"""Which music of the previous score stays, and which stretches are composed again.

The previous score is kept wherever the recut kept the picture: each kept span of the
timeline diff keeps the old music under it, shifted by as much as the picture moved. A kept
span gives up one bar at each edge that touches a change (the transition that leads into,
and out of, the new material), and its music is cut only on the old plan's bar lines, so the
kept material starts and ends on downbeats with its harmony, motif and arrangement whole.
Everything between kept pieces is composed again, to exactly the length between their bar
lines, with the new cuts on its beats.

Pure: works on the diff and the old plan's bar lines; nothing is read or rendered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bridge.recut.diff import KeptSpan

PieceKind = Literal["kept", "shifted", "composed"]
TRANSITION_BARS = 1  # bars given up at each edge of a kept span that touches a change
MIN_KEPT_BARS = 2  # a kept stretch shorter than this is composed again instead
MIN_COMPOSED_S = 1.0  # a stretch to compose must hold a few beats at any tempo


@dataclass(frozen=True)
class Piece:
    """New record times [start_s, end_s): old music shifted (old time = new time - shift_s),
    or music composed for it."""

    start_s: float
    end_s: float
    kind: PieceKind
    shift_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def plan_pieces(spans: Sequence[KeptSpan], *, old_bar_starts_s: np.ndarray,
                old_duration_s: float, new_duration_s: float, tol_s: float) -> tuple[Piece, ...]:
    """Tile [0, new_duration_s) with kept and composed pieces (in record order)."""
    bars = np.asarray(old_bar_starts_s, dtype=np.float64)
    kept: list[Piece] = []
    for span in spans:
        starts_at_top = span.start_s <= tol_s and abs(span.old_start_s) <= tol_s
        runs_to_end = (abs(span.end_s - new_duration_s) <= tol_s
                       and abs(span.old_end_s - old_duration_s) <= tol_s)
        if starts_at_top:
            lo = 0.0
        else:
            inside = bars[bars >= span.old_start_s - tol_s]
            if len(inside) <= TRANSITION_BARS:
                continue
            lo = float(inside[TRANSITION_BARS])
        if runs_to_end:
            hi = old_duration_s
        else:
            inside = bars[bars <= span.old_end_s + tol_s]
            if len(inside) <= TRANSITION_BARS:
                continue
            hi = float(inside[-1 - TRANSITION_BARS])
        n_bars = int(np.count_nonzero((bars >= lo - tol_s) & (bars < hi - tol_s)))
        if hi - lo <= tol_s or (n_bars < MIN_KEPT_BARS and not (starts_at_top and runs_to_end)):
            continue
        kind: PieceKind = "kept" if abs(span.shift_s) <= tol_s else "shifted"
        piece = Piece(lo + span.shift_s, hi + span.shift_s, kind, span.shift_s)
        if kept and piece.start_s < kept[-1].end_s + tol_s:
            continue  # overlapping reuse (the same picture twice): keep the first
        kept.append(piece)

    pieces: list[Piece] = []
    t = 0.0
    for piece in kept:
        gap = piece.start_s - t
        if gap > tol_s:
            if gap < MIN_COMPOSED_S and pieces and pieces[-1].kind != "composed":
                # too short to compose: give the previous kept piece's last bar back too
                pieces[-1] = _trim_last_bar(pieces[-1], bars, tol_s)
            pieces.append(Piece(pieces[-1].end_s if pieces else 0.0, piece.start_s, "composed"))
        pieces.append(piece)
        t = piece.end_s
    if new_duration_s - t > tol_s:
        if pieces and new_duration_s - t < MIN_COMPOSED_S and pieces[-1].kind != "composed":
            pieces[-1] = _trim_last_bar(pieces[-1], bars, tol_s)
        pieces.append(Piece(pieces[-1].end_s if pieces else 0.0, new_duration_s, "composed"))
    return tuple(_merge_composed(pieces, tol_s))


def _trim_last_bar(piece: Piece, bars: np.ndarray, tol_s: float) -> Piece:
    old_end = piece.end_s - piece.shift_s
    earlier = bars[bars < old_end - tol_s]
    if len(earlier) == 0 or earlier[-1] + piece.shift_s <= piece.start_s + tol_s:
        return Piece(piece.start_s, piece.start_s, "composed")
    return Piece(piece.start_s, float(earlier[-1]) + piece.shift_s, piece.kind, piece.shift_s)


def _merge_composed(pieces: list[Piece], tol_s: float) -> list[Piece]:
    out: list[Piece] = []
    for p in pieces:
        if p.duration_s <= tol_s:
            continue
        if out and out[-1].kind == "composed" and p.kind == "composed":
            out[-1] = Piece(out[-1].start_s, p.end_s, "composed")
        else:
            out.append(p)
    return out
