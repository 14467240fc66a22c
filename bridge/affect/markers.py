"""Affect curve -> coloured timeline markers an editor can read at a glance.

Quadrants of the valence/arousal plane and their OTIO colours:

    excited (v >= 0, a >= 0)  RED, or ORANGE when mild
    tense   (v <  0, a >= 0)  PURPLE
    calm    (v >= 0, a <  0)  GREEN, or CYAN when mild
    sad     (v <  0, a <  0)  BLUE

"Mild" means the section's mean point lies within ``MILD_RADIUS`` of the centre.
A marker's name is the quadrant word, an arrow for the sign of the mean arousal
(↑ rising energy, a >= 0; ↓ low energy, a < 0) and its magnitude: "tense ↑0.7", "sad ↓0.4".
"""

from __future__ import annotations

import numpy as np

from bridge.errors import InvalidOptionError
from bridge.types import AffectCurve, AffectMarker, Cut

CHANGE = 0.25  # a hop further than this from its section's running mean starts a new one
MIN_SECTION_S = 4.0
SNAP_S = 1.5  # section starts move to a cut this close
MILD_RADIUS = 0.4
PEAK_PROMINENCE = 0.15
PEAK_SPACING_S = 8.0


def quadrant(valence: float, arousal: float) -> str:
    if arousal >= 0:
        return "excited" if valence >= 0 else "tense"
    return "calm" if valence >= 0 else "sad"


def colour(valence: float, arousal: float) -> str:
    q = quadrant(valence, arousal)
    mild = float(np.hypot(valence, arousal)) < MILD_RADIUS
    if q == "excited":
        return "ORANGE" if mild else "RED"
    if q == "calm":
        return "CYAN" if mild else "GREEN"
    return "PURPLE" if q == "tense" else "BLUE"


MAX_MARKERS = 2000


def affect_markers(curve: AffectCurve, *, density: str = "sections",
                   cuts: tuple[Cut, ...] | list[Cut] = ()) -> tuple[AffectMarker, ...]:
    """Markers for a curve: ``"sections"``, ``"peaks"`` (arousal maxima) or ``"every:N"`` (s)."""
    if len(curve) == 0:
        return ()
    if density == "sections":
        spans = _sections(curve, cuts=[c.time_s for c in cuts])
        return tuple(_marker(curve, a, b) for a, b in spans)
    if density == "peaks":
        return _peaks(curve)
    if density.startswith("every:"):
        text = density.removeprefix("every:").rstrip("s")
        try:
            every_s = float(text)
        except ValueError:
            every_s = 0.0
        if every_s <= 0:
            raise InvalidOptionError(f"{density!r}: N must be a positive number of seconds",
                                     field="markers")
        end_s = len(curve) * curve.hop_s
        count = int(np.ceil(end_s / every_s))
        if count > MAX_MARKERS:  # each marker is a record in the result and the editor's UI
            raise InvalidOptionError(
                f"{density!r} makes {count} markers on this {end_s:.0f} s timeline; at most "
                f"{MAX_MARKERS}: choose a larger N", field="markers")
        starts = np.arange(0.0, end_s, every_s)
        return tuple(_marker(curve, s, min(s + every_s, end_s)) for s in starts)
    raise InvalidOptionError(f"{density!r}: use sections, peaks or every:N", field="markers")


def _marker(curve: AffectCurve, start_s: float, end_s: float, *, label: str | None = None
            ) -> AffectMarker:
    i0 = int(np.floor(start_s / curve.hop_s + 1e-9))
    i1 = max(i0 + 1, int(np.ceil(end_s / curve.hop_s - 1e-9)))
    v = float(np.mean(curve.valence[i0:i1]))
    a = float(np.mean(curve.arousal[i0:i1]))
    c = float(np.mean(curve.confidence[i0:i1]))
    q = quadrant(v, a)
    arrow = "↑" if a >= 0 else "↓"
    return AffectMarker(
        start_s=start_s,
        duration_s=end_s - start_s,
        name=f"{label or q} {arrow}{abs(a):.1f}",
        note=(f"valence {v:+.2f}, arousal {a:+.2f}, confidence {c:.2f} "
              f"({start_s:.1f}–{end_s:.1f} s)"),
        color=colour(v, a),
        valence=v,
        arousal=a,
        quadrant=q,
    )


def _sections(curve: AffectCurve, *, cuts: list[float]) -> list[tuple[float, float]]:
    """(start_s, end_s) of sections of steady affect."""
    v, a, hop = curve.valence, curve.arousal, curve.hop_s
    bounds = [0]  # hop indices where sections start
    sv, sa, count = v[0], a[0], 1
    for i in range(1, len(curve)):
        mv, ma = sv / count, sa / count
        moved = max(abs(v[i] - mv), abs(a[i] - ma)) > CHANGE
        if moved or quadrant(v[i], a[i]) != quadrant(mv, ma):
            bounds.append(i)
            sv, sa, count = v[i], a[i], 1
        else:
            sv, sa, count = sv + v[i], sa + a[i], count + 1
    spans = [[b * hop, e * hop] for b, e in zip(bounds, [*bounds[1:], len(curve)])]
    spans = _merge_short(spans, curve)
    # snap each inner boundary to the nearest cut within SNAP_S: music changes on a cut
    for k in range(1, len(spans)):
        t = spans[k][0]
        near = [c for c in cuts if abs(c - t) <= SNAP_S and spans[k - 1][0] < c < spans[k][1]]
        if near:
            best = min(near, key=lambda c: abs(c - t))
            spans[k - 1][1] = spans[k][0] = best
    return [(s, e) for s, e in spans]


def _merge_short(spans: list[list[float]], curve: AffectCurve) -> list[list[float]]:
    """Merge the shortest section into its more similar neighbour until all are long enough."""
    min_s = min(MIN_SECTION_S, len(curve) * curve.hop_s)

    def mean(span: list[float]) -> np.ndarray:
        i0 = round(span[0] / curve.hop_s)
        i1 = max(i0 + 1, round(span[1] / curve.hop_s))
        return np.array([curve.valence[i0:i1].mean(), curve.arousal[i0:i1].mean()])

    while len(spans) > 1:
        lengths = [e - s for s, e in spans]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_s - 1e-9:
            break
        here = mean(spans[k])
        options = [j for j in (k - 1, k + 1) if 0 <= j < len(spans)]
        j = min(options, key=lambda j: float(np.linalg.norm(mean(spans[j]) - here)))
        lo, hi = min(j, k), max(j, k)
        spans[lo:hi + 1] = [[spans[lo][0], spans[hi][1]]]
    return spans


def _peaks(curve: AffectCurve) -> tuple[AffectMarker, ...]:
    """One hop-long marker at each local arousal maximum that stands out."""
    from scipy.signal import find_peaks  # imported only for "peaks" markers (slow import)

    distance = max(1, round(PEAK_SPACING_S / curve.hop_s))
    idx, _ = find_peaks(curve.arousal, prominence=PEAK_PROMINENCE, distance=distance)
    if len(idx) == 0:
        idx = np.array([int(np.argmax(curve.arousal))])
    return tuple(_marker(curve, i * curve.hop_s, (i + 1) * curve.hop_s, label="peak")
                 for i in idx)
