"""Old edit vs new edit: which shots were kept, moved, trimmed, inserted or deleted.

The idea of OTIO's ``otiodiff``, on our own `Edit`: a shot is identified by what it shows
(its media and the media-time range), not by its name or position, so a recut that moves
a shot is seen as a move and a shot shortened at either end as a trim.

Pure: no files are read. ``media_id`` decides when two clips show the same media (the
resolved path by default; re-scoring passes the media's content key so a re-linked or
re-exported file with the same bytes still matches).

`TimelineDiff.kept_spans` is what re-scoring needs: the stretches of the new timeline whose
picture is the old picture at a constant offset, merged across consecutive shots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bridge.types import Clip, Edit

ChangeKind = Literal["kept", "moved", "trimmed", "inserted", "deleted"]


def media_range(clip: Clip) -> tuple[float, float]:
    """The media-time interval a clip shows, in increasing order."""
    a = clip.media_time(clip.record_start_s)
    b = clip.media_time(clip.record_end_s)
    return min(a, b), max(a, b)


def _default_media_id(clip: Clip) -> str:
    return str(clip.media_path.resolve()) if clip.media_path is not None else f"?{clip.name}"


@dataclass(frozen=True)
class ShotChange:
    """One shot's fate. Indices point into the old and new edits' ``shots``."""

    kind: ChangeKind
    old_index: int | None
    new_index: int | None
    shift_s: float = 0.0  # new record time minus old record time of the same picture
    head_trim_s: float = 0.0  # > 0: the new shot starts this much later in its media
    tail_trim_s: float = 0.0  # > 0: the new shot ends this much earlier in its media


@dataclass(frozen=True)
class KeptSpan:
    """New record times [start_s, end_s) show what old record time ``t - shift_s`` showed."""

    start_s: float
    end_s: float
    shift_s: float

    @property
    def old_start_s(self) -> float:
        return self.start_s - self.shift_s

    @property
    def old_end_s(self) -> float:
        return self.end_s - self.shift_s


@dataclass(frozen=True)
class TimelineDiff:
    changes: tuple[ShotChange, ...]
    old_duration_s: float
    new_duration_s: float
    kept_spans: tuple[KeptSpan, ...]

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def unchanged(self) -> bool:
        return (all(c.kind == "kept" for c in self.changes)
                and abs(self.old_duration_s - self.new_duration_s) < 1e-6)

    def summary(self) -> str:
        kinds = ("kept", "moved", "trimmed", "inserted", "deleted")
        return ", ".join(f"{self.count(k)} {k}" for k in kinds if self.count(k))


def diff_edits(old: Edit, new: Edit, *, media_id: Callable[[Clip], str] = _default_media_id,
               ) -> TimelineDiff:
    """Compare two edits shot by shot (half a frame of the new rate is "the same time")."""
    tol = 0.5 / float(new.rate)
    old_ids = [media_id(c) for c in old.shots]
    new_ids = [media_id(c) for c in new.shots]
    matched_old: dict[int, int] = {}  # new index -> old index
    used: set[int] = set()

    # 1. Same media, same range, same speed: kept or moved. Among several candidates (a shot
    #    used twice) take the one nearest in record time, then in order.
    for j, nc in enumerate(new.shots):
        candidates = [i for i, oc in enumerate(old.shots)
                      if i not in used and old_ids[i] == new_ids[j]
                      and _same_range(oc, nc, tol)]
        if candidates:
            i = min(candidates, key=lambda i: (abs(old.shots[i].record_start_s
                                                    - nc.record_start_s), i))
            matched_old[j] = i
            used.add(i)

    # 2. Same media, overlapping ranges: trimmed (largest overlap first).
    pairs = []
    for j, nc in enumerate(new.shots):
        if j in matched_old:
            continue
        for i, oc in enumerate(old.shots):
            if i in used or old_ids[i] != new_ids[j] or abs(oc.speed - nc.speed) > 1e-9:
                continue
            overlap = _overlap(media_range(oc), media_range(nc))
            if overlap > tol:
                pairs.append((-overlap, abs(oc.record_start_s - nc.record_start_s), i, j))
    trimmed: set[int] = set()
    for _, _, i, j in sorted(pairs):
        if i in used or j in matched_old:
            continue
        matched_old[j] = i
        used.add(i)
        trimmed.add(j)

    changes: list[ShotChange] = []
    for j, nc in enumerate(new.shots):
        if j not in matched_old:
            changes.append(ShotChange("inserted", None, j))
            continue
        i = matched_old[j]
        oc = old.shots[i]
        if j in trimmed:
            (oa, ob), (na, nb) = media_range(oc), media_range(nc)
            # The shared picture: media time m shows at record_time(m) in each edit.
            m = max(oa, na)
            shift = _record_at(nc, m) - _record_at(oc, m)
            changes.append(ShotChange("trimmed", i, j, shift_s=shift,
                                      head_trim_s=na - oa, tail_trim_s=ob - nb))
        else:
            shift = nc.record_start_s - oc.record_start_s
            kind: ChangeKind = "kept" if abs(shift) <= tol else "moved"
            changes.append(ShotChange(kind, i, j, shift_s=0.0 if kind == "kept" else shift))
    for i in range(len(old.shots)):
        if i not in used:
            changes.append(ShotChange("deleted", i, None))
    return TimelineDiff(tuple(changes), old.duration_s, new.duration_s,
                        _kept_spans(old, new, changes, tol))


def _same_range(a: Clip, b: Clip, tol: float) -> bool:
    (a0, a1), (b0, b1) = media_range(a), media_range(b)
    return abs(a0 - b0) <= tol and abs(a1 - b1) <= tol and abs(a.speed - b.speed) < 1e-9


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _record_at(clip: Clip, media_s: float) -> float:
    if clip.speed == 0:
        return clip.record_start_s
    return clip.record_start_s + (media_s - clip.media_start_s) / clip.speed


def _kept_spans(old: Edit, new: Edit, changes: Sequence[ShotChange], tol: float,
                ) -> tuple[KeptSpan, ...]:
    """New-time stretches showing old picture at one offset; neighbours with equal shifts merge."""
    spans: list[KeptSpan] = []
    for ch in sorted((c for c in changes if c.new_index is not None and c.old_index is not None),
                     key=lambda c: c.new_index):
        nc, oc = new.shots[ch.new_index], old.shots[ch.old_index]
        if ch.kind == "trimmed":
            lo = max(media_range(oc)[0], media_range(nc)[0])
            hi = min(media_range(oc)[1], media_range(nc)[1])
            a, b = sorted((_record_at(nc, lo), _record_at(nc, hi)))
        else:
            a, b = nc.record_start_s, nc.record_end_s
        a, b = max(a, 0.0), min(b, new.duration_s)
        if b - a <= tol:
            continue
        if spans and abs(spans[-1].shift_s - ch.shift_s) <= tol and abs(spans[-1].end_s - a) <= tol:
            spans[-1] = KeptSpan(spans[-1].start_s, b, spans[-1].shift_s)
        else:
            spans.append(KeptSpan(a, b, ch.shift_s))
    return tuple(spans)
