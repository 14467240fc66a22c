"""FCPXML as Final Cut Pro writes it today, rewritten into what the fcpx_xml reader knows.

- FCPXML 1.9+ names an asset's file in a ``<media-rep src=...>`` child; the reader looks
  only at the asset's own ``src`` (1.8 and older), so every clip came out offline.
- A multicam clip (``<mc-clip>``) is dropped by the reader: here it becomes an asset clip
  of its active video angle (the ``<mc-source>`` whose ``srcEnable`` is ``video`` or
  ``all``), at the same place and length, showing the same moment of that angle.

Anything that cannot be understood is left as it was, for the reader to judge.
"""

from __future__ import annotations

from fractions import Fraction
from xml.etree import ElementTree

_VIDEO_SOURCES = ("video", "all")


def _seconds(value: str | None) -> Fraction:
    """An FCPXML time ("3600s", "1001/30000s", "0s") as exact seconds; 0 when absent."""
    if not value:
        return Fraction(0)
    num, _, den = value.rstrip("s").partition("/")
    return Fraction(int(num), int(den or 1))


def _time(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}s" if value else "0s"


def prepared(text: str) -> tuple[str, list[str]]:
    """(FCPXML text for the reader, notes on what was rewritten)."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return text, []  # the reader reports the parse error itself
    notes: list[str] = []
    changed = _media_rep_sources(root) | _multicam_angles(root, notes)
    if not changed:
        return text, notes
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n' + ElementTree.tostring(
        root, encoding="unicode"), notes


def _media_rep_sources(root: ElementTree.Element) -> bool:
    changed = False
    for asset in root.iter("asset"):
        if asset.get("src"):
            continue
        reps = asset.findall("media-rep")
        original = [r for r in reps if r.get("kind") == "original-media"] or reps
        if original and original[0].get("src"):
            asset.set("src", original[0].get("src"))
            changed = True
    return changed


def _multicam_angles(root: ElementTree.Element, notes: list[str]) -> bool:
    media = {m.get("id"): m for m in root.iter("media")}
    changed = False
    for parent in root.iter():
        for index, clip in enumerate(list(parent)):
            if clip.tag != "mc-clip":
                continue
            replacement = _active_angle_clip(clip, media.get(clip.get("ref")))
            if replacement is None:
                notes.append(f"multicam clip {clip.get('name')!r}: no video angle found; "
                             "left out")
                continue
            parent.remove(clip)
            parent.insert(index, replacement)
            notes.append(f"multicam clip {clip.get('name')!r}: reading its active angle "
                         f"{replacement.get('name')!r}")
            changed = True
    return changed


def _active_angle_clip(mc_clip: ElementTree.Element,
                       media: ElementTree.Element | None) -> ElementTree.Element | None:
    if media is None or media.find("multicam") is None:
        return None
    angle_id = next((s.get("angleID") for s in mc_clip.findall("mc-source")
                     if s.get("srcEnable", "all") in _VIDEO_SOURCES), None)
    angles = media.find("multicam").findall("mc-angle")
    angle = next((a for a in angles if a.get("angleID") == angle_id), None)
    if angle is None:
        return None
    at = _seconds(mc_clip.get("start"))  # the moment of the multicam the clip starts on
    for clip in angle:
        video = clip.find("video")
        if clip.tag not in ("asset-clip", "clip") or (clip.get("ref") is None and video is None):
            continue
        offset, duration = _seconds(clip.get("offset")), _seconds(clip.get("duration"))
        if not offset <= at < offset + duration and duration:
            continue
        ref = clip.get("ref") or video.get("ref")
        out = ElementTree.Element("asset-clip", {
            "ref": ref,
            "name": clip.get("name") or mc_clip.get("name") or "angle",
            "offset": mc_clip.get("offset", "0s"),
            "duration": mc_clip.get("duration", "0s"),
            "start": _time(at - offset + _seconds(clip.get("start"))),
        })
        if mc_clip.get("lane"):
            out.set("lane", mc_clip.get("lane"))
        if clip.get("format"):
            out.set("format", clip.get("format"))
        return out
    return None
