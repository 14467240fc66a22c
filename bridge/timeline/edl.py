"""CMX 3600 EDLs as editors' tools really write them.

The cmx_3600 adapter reads clean EDLs well but refuses a whole file over one odd event,
and it knows only the SMPTE rates. Here the text is read first, event by event:

- the frame rate, which an EDL does not state, is inferred from the ``FCM`` line and the
  largest frame number in its timecodes (a ``--rate`` given by the user wins);
- events the adapter cannot take are skipped or mended, each named in a warning with its
  event number and the reason: unparseable lines, zero-length leader events, negative
  events, black (BL) filler, retimes with no ``M2`` line (read at normal speed), a
  transition on the first event (read as a cut);
- at rates OTIO's timecode cannot express (10, 12, 15, 16, 20, 120 fps ...), timecodes are
  rewritten as the same frame counts at a carrier rate the adapter knows, and the result
  relabelled with the true rate, so every frame lands where the EDL put it.

What remains goes to the adapter; an event it still rejects by number is skipped and the
rest read again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

import opentimelineio as otio

from bridge.errors import UnreadableTimelineError
from bridge.timeline import timecode as tc

_TC = r"\d{1,2}[:;.,]\d\d[:;.,]\d\d[:;.,]\d{2,3}"  # 3 frame digits above 100 fps
_EVENT = re.compile(
    rf"^(?P<num>\d+)\s+(?P<reel>\S+)\s+(?P<channels>\S+)\s+(?P<kind>C|D|W\d*|K\w*)"
    rf"\s+(?:(?P<length>\d+)\s+)?(?P<src_in>{_TC})\s+(?P<src_out>{_TC})"
    rf"\s+(?P<rec_in>{_TC})\s+(?P<rec_out>{_TC})\s*$",
    re.IGNORECASE,
)
_STARTS_EVENT = re.compile(r"^\d+\s")
_M2 = re.compile(rf"^M2\s+(?P<reel>\S+)\s+(?P<fps>-?[\d.]+)\s+(?P<tc>{_TC})\s*$", re.IGNORECASE)
_ANY_TC = re.compile(_TC)
_BLACK_REELS = {"BL", "BLK", "BLACK"}
_ADAPTER_ERROR_EVENT = re.compile(r"\bclip\s+(\d+)\b", re.IGNORECASE)
CARRIER_RATE = Fraction(24)  # a rate the adapter parses; any frame count fits its timecode
COMMON_RATES = (24, 25, 30, 48, 50, 60)


@dataclass(frozen=True)
class _Event:
    number: str
    line: str  # the event line as it will be written
    extra: tuple[str, ...]  # comment and M2 lines that follow it
    fields: dict[str, str] | None  # None when the line could not be parsed

    @property
    def is_transition(self) -> bool:
        return self.fields is not None and self.fields["kind"].upper() != "C"


def fcm_drop_frame(text: str) -> bool | None:
    """True/False from the EDL's first ``FCM:`` line, None when it has none."""
    for line in text.splitlines():
        upper = line.strip().upper()
        if upper.startswith("FCM"):
            return "NON" not in upper and "DROP" in upper
    return None


def infer_rate(text: str) -> tuple[Fraction, bool, str, bool]:
    """(rate, drop_frame, why, certain) for an EDL that states no rate.

    The largest frame number in any timecode bounds the rate from below (frames 0..24 mean
    at least 25 fps); the smallest common rate above it is taken. ``FCM: DROP FRAME`` or
    ';' timecodes mean 29.97 drop-frame. Not certain when no frame number reaches 24: then
    24 is a guess that the media, when found, may correct.
    """
    fcm = fcm_drop_frame(text)
    stamps = [m.group(0) for line in text.splitlines() if _EVENT.match(line.strip())
              for m in _ANY_TC.finditer(line)]
    semicolon = any(";" in s or "," in s for s in stamps)
    if fcm or semicolon:
        source = "its FCM: DROP FRAME line" if fcm else "its drop-frame (;) timecodes"
        return Fraction(30000, 1001), True, f"29.970 fps drop-frame from {source}", True
    top = max((int(re.split(r"[:;.,]", s)[-1]) for s in stamps), default=0)
    rate = next((r for r in COMMON_RATES if r > top), None)
    if rate is None:
        rate = top + 1
    if top < 24:
        why = f"{rate} fps assumed (EDL carries no rate; frame numbers reach {top})"
    else:
        why = f"{rate} fps inferred from frame numbers up to {top}"
    return Fraction(rate), False, why, top >= 24


def _events(text: str) -> tuple[list[str], list[_Event]]:
    """(header lines, events with the lines that follow each)."""
    header: list[str] = []
    events: list[_Event] = []
    for raw in text.splitlines():
        line = raw.strip()
        if _STARTS_EVENT.match(line):
            m = _EVENT.match(line)
            events.append(_Event(line.split()[0], line, (), m.groupdict() if m else None))
        elif events:
            events[-1] = replace(events[-1], extra=(*events[-1].extra, line))
        else:
            header.append(line)
    return header, events


def _mend(events: list[_Event], *, rate: Fraction, warnings: list[str]) -> list[_Event]:
    """Skip or repair the events the adapter would refuse the file for."""
    kept: list[_Event] = []

    def frames(stamp: str) -> int:
        return tc.frames_of_timecode(stamp, rate=rate)

    for k, event in enumerate(events):
        where = f"EDL event {event.number}"
        f = event.fields
        if f is None:
            warnings.append(f"{where}: skipped, not a CMX 3600 event line ({event.line[:60]!r})")
            continue
        rec = frames(f["rec_out"]) - frames(f["rec_in"])
        src = frames(f["src_out"]) - frames(f["src_in"])
        following = events[k + 1] if k + 1 < len(events) else None
        a_side = (following is not None and following.number == event.number
                  and following.is_transition)
        if rec < 0:
            warnings.append(f"{where}: skipped, record out is before record in")
            continue
        if rec == 0 and not a_side:
            warnings.append(f"{where}: skipped, zero length (a leader or an orphaned A-side)")
            continue
        if f["reel"].upper() in _BLACK_REELS and not a_side and not event.is_transition:
            warnings.append(f"{where}: skipped, black (BL) filler; read as a gap")
            continue
        line = event.line
        pictured_before = any(e.fields and "V" in e.fields["channels"].upper() for e in kept)
        if event.is_transition and not pictured_before and not (kept and kept[-1].number
                                                                 == event.number):
            warnings.append(f"{where}: a transition with no outgoing clip; read as a cut")
            line = re.sub(rf"\s{re.escape(f['kind'])}\s+(\d+\s+)?(?={_TC})", " C ", line, count=1)
        has_m2 = any(_M2.match(x) for x in event.extra)
        if not event.is_transition and src != rec and not has_m2 and rec > 0:
            warnings.append(f"{where}: source and record lengths differ ({src} vs {rec} "
                            "frames) with no M2 speed line; read at normal speed")
            new_out = tc.timecode(frames(f["src_in"]) + rec, rate=rate,
                                  drop_frame=";" in f["src_in"])
            line = _replace_nth_timecode(line, 1, new_out)
        kept.append(replace(event, line=line))
    return kept


def _replace_nth_timecode(line: str, n: int, new: str) -> str:
    matches = list(_ANY_TC.finditer(line))
    m = matches[n]
    return line[: m.start()] + new + line[m.end():]


def _to_carrier(line: str, *, rate: Fraction) -> str:
    """The same frame counts as timecodes at the carrier rate; M2 speeds scaled to match."""
    m2 = _M2.match(line)
    if m2:
        fps = float(m2.group("fps")) * float(CARRIER_RATE / rate)
        line = line.replace(m2.group("fps"), f"{fps:05.1f}", 1)

    def carry(stamp: re.Match) -> str:
        n = tc.frames_of_timecode(stamp.group(0), rate=rate)
        return tc.timecode(n, rate=CARRIER_RATE, drop_frame=False)

    return _ANY_TC.sub(carry, line)


def from_carrier(text: str, *, rate: Fraction) -> str:
    """Undo ``_to_carrier`` on text the cmx_3600 writer wrote at the carrier rate."""

    def restamp(stamp: re.Match) -> str:
        n = tc.frames_of_timecode(stamp.group(0), rate=CARRIER_RATE)
        return tc.timecode(n, rate=rate, drop_frame=False)

    out = []
    for line in text.splitlines():
        m2 = _M2.match(line.strip())
        if m2:
            fps = float(m2.group("fps")) * float(rate / CARRIER_RATE)
            line = line.replace(m2.group("fps"), f"{fps:05.1f}", 1)
        out.append(_ANY_TC.sub(restamp, line))
    return "\n".join(out) + "\n"


def adapter_parses(rate: Fraction) -> bool:
    """Whether OTIO's timecode functions accept this rate."""
    try:
        otio.opentime.from_timecode("00:00:00:00", float(rate))
    except ValueError:
        return False
    return True


def read_edl(text: str, *, rate: Fraction, path, warnings: list[str]) -> otio.schema.Timeline:
    """The EDL's timeline at ``rate``; skipped and mended events are appended to ``warnings``."""
    header, events = _events(text)
    events = _mend(events, rate=rate, warnings=warnings)
    carrier = not adapter_parses(rate)
    skipped: set[str] = set()
    while True:
        kept = [e for e in events if e.number not in skipped]
        if not any(e.fields for e in kept):
            raise UnreadableTimelineError("EDL holds no readable event", path=path)
        lines = list(header)
        if carrier:
            lines = [x for x in lines if not x.upper().startswith("FCM")]
            lines.append("FCM: NON-DROP FRAME")
        for e in kept:
            for line in (e.line, *e.extra):
                lines.append(_to_carrier(line, rate=rate) if carrier else line)
        try:
            timeline = otio.adapters.read_from_string(
                "\n".join(lines) + "\n", adapter_name="cmx_3600",
                rate=float(CARRIER_RATE if carrier else rate),
            )
        except Exception as exc:  # the adapter raises EDLParseError, ValueError, AttributeError
            m = _ADAPTER_ERROR_EVENT.search(str(exc))
            number = m.group(1) if m else None
            if number is None or number in skipped or not any(e.number == number for e in kept):
                raise UnreadableTimelineError(
                    f"the cmx_3600 adapter cannot read it ({type(exc).__name__}: {exc})",
                    path=path,
                ) from exc
            skipped.add(number)
            warnings.append(f"EDL event {number}: skipped, {exc}")
            continue
        if carrier:
            timeline = tc.relabel_rate(timeline, old=CARRIER_RATE, new=rate)
        return timeline
