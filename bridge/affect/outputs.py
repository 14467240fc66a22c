"""Affect curve files: CSV, JSON (round trip) and a PNG plot. Every write is atomic."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bridge.errors import UnsupportedFormatError
from bridge.outputs import atomic_write
from bridge.types import AffectCurve, AffectMarker, Cut, Edit

JSON_FORMAT = "scorebridge.affect"
JSON_VERSION = 1
PNG_SIZE_PX = (1600, 500)
_DPI = 100


class UnreadableAffectError(UnsupportedFormatError):
    """A file that should hold an affect curve does not (wrong format, fields or lengths)."""


def write_affect_csv(curve: AffectCurve, path: str | Path) -> Path:
    """One row per hop: time_s (hop start), valence, arousal, confidence."""
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(["time_s", "valence", "arousal", "confidence"])
    for t, v, a, c in zip(curve.times_s, curve.valence, curve.arousal, curve.confidence):
        w.writerow([f"{t:.3f}", f"{v:.4f}", f"{a:.4f}", f"{c:.3f}"])
    return atomic_write(path, lambda f: f.write(text.getvalue().encode()))


def write_affect_json(curve: AffectCurve, path: str | Path, *,
                      markers: tuple[AffectMarker, ...] | list[AffectMarker] = (),
                      cuts: tuple[Cut, ...] | list[Cut] = ()) -> Path:
    """The curve at full precision, plus the markers and cuts it was shown with."""
    doc = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "hop_s": curve.hop_s,
        "source": curve.source,
        "valence": [float(x) for x in curve.valence],
        "arousal": [float(x) for x in curve.arousal],
        "confidence": [float(x) for x in curve.confidence],
        "markers": [asdict(m) for m in markers],
        "cuts": [asdict(c) for c in cuts],
    }
    data = json.dumps(doc, indent=1, ensure_ascii=False).encode()
    return atomic_write(path, lambda f: f.write(data))


def read_affect_json(path: str | Path) -> AffectCurve:
    """Read back what ``write_affect_json`` wrote; UnreadableAffectError names what is wrong."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise UnreadableAffectError("no such file", path=path) from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UnreadableAffectError(f"not an affect JSON file ({err})", path=path) from err
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise UnreadableAffectError(f"not a {JSON_FORMAT} file", path=path, field="format")
    if doc.get("version") != JSON_VERSION:
        raise UnreadableAffectError(f"version {doc.get('version')!r} is not {JSON_VERSION}",
                                    path=path, field="version")
    arrays = {}
    for key in ("valence", "arousal", "confidence"):
        try:
            arrays[key] = np.asarray(doc[key], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as err:
            raise UnreadableAffectError("missing or not a list of numbers", path=path,
                                        field=key) from err
        if arrays[key].ndim != 1:
            raise UnreadableAffectError("must be a flat list", path=path, field=key)
    hop_s = doc.get("hop_s")
    if not isinstance(hop_s, int | float) or hop_s <= 0:
        raise UnreadableAffectError(f"{hop_s!r} is not a positive number", path=path,
                                    field="hop_s")
    try:
        return AffectCurve(hop_s=float(hop_s), source=str(doc.get("source", "")), **arrays)
    except ValueError as err:
        raise UnreadableAffectError(str(err), path=path, field="valence") from err


def plot_affect_png(curve: AffectCurve, path: str | Path, *, edit: Edit | None = None,
                    cuts: tuple[Cut, ...] | list[Cut] = ()) -> Path:
    """Valence and arousal over time, cuts as vertical lines, shot names along the bottom."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display needed
    from matplotlib.figure import Figure

    fig = Figure(figsize=(PNG_SIZE_PX[0] / _DPI, PNG_SIZE_PX[1] / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.05, 0.2, 0.93, 0.7))
    t = curve.times_s + 0.5 * curve.hop_s
    # The last hop may reach past the last frame; nothing is drawn beyond it.
    end_s = edit.duration_s if edit is not None else len(curve) * curve.hop_s
    for c in cuts:
        if c.is_gradual:  # a fade or dissolve: its span, lightly
            ax.axvspan(c.start_s, min(c.end_s, end_s), color="0.92", lw=0, zorder=0)
        else:
            ax.axvline(c.time_s, color="0.75", lw=0.8, zorder=0)
    for k, (a, b) in enumerate(_runs(curve.confidence <= 0)):  # interpolated hops
        ax.axvspan(a * curve.hop_s, min(b * curve.hop_s, end_s), color="#f2e6c9", lw=0,
                   zorder=0, label="no picture (interpolated)" if k == 0 else None)
    ax.axhline(0, color="0.5", lw=0.6)
    ax.plot(t, curve.arousal, color="#d62728", lw=2.2, label="arousal")
    ax.plot(t, curve.valence, color="#1f77b4", lw=2.2, label="valence")
    ax.set_xlim(0, end_s)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("affect (-1..1)")
    ax.set_xlabel("timeline time (s)")
    title = f"Affect curve — {edit.name}" if edit is not None else "Affect curve"
    ax.set_title(f"{title} ({curve.source}, hop {curve.hop_s:g} s)", loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, fontsize=9,
              frameon=False)
    ax.grid(axis="y", color="0.9")
    if edit is not None:
        shots = fig.add_axes((0.05, 0.03, 0.93, 0.05), sharex=ax)
        shots.set_axis_off()
        for i, shot in enumerate(edit.shots):
            shots.axvspan(shot.record_start_s, shot.record_end_s,
                          color="0.85" if i % 2 else "0.7", lw=0)
            if shot.duration_s >= 0.02 * end_s:  # names of tiny shots would overlap
                shots.text(0.5 * (shot.record_start_s + shot.record_end_s), 0.5, shot.name,
                           ha="center", va="center", fontsize=8, clip_on=True)
        shots.set_ylim(0, 1)
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=_DPI))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) index pairs of the runs of True in a boolean array."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))
