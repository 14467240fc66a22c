"""Timelines in and out: the only package that imports OpenTimelineIO."""

from bridge.timeline.build import ShotSpec, build_timeline, write_timeline
from bridge.timeline.export import otio_json_of, write_marked_timeline, write_scored_timeline
from bridge.timeline.formats import SUPPORTED_SUFFIXES
from bridge.timeline.read import read_edit, read_edit_from_otio_json

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ShotSpec",
    "build_timeline",
    "otio_json_of",
    "read_edit",
    "read_edit_from_otio_json",
    "write_marked_timeline",
    "write_scored_timeline",
    "write_timeline",
]
