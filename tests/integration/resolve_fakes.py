"""A stand-in for DaVinci Resolve's scripting objects, for the plugin tests.

Only calls from Resolve's scripting README exist here, with the README's names and argument
order; each call is recorded as (object, method, args) in ``FakeResolve.calls``. The
behaviour copies what matters to the plugin: ``Timeline.Export`` writes the fixture timeline
file to the path given (as Resolve would write the current cut), ``AddMarker`` refuses a
frame that already has a marker, ``AppendToTimeline`` refuses a missing or locked track.

Standard library only: the isolated-interpreter test loads this file without site-packages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Calls that change the project; the "bridge not running" test expects none of them.
EDIT_CALLS = {
    "Export", "ImportMedia", "AddSubFolder", "SetCurrentFolder", "AppendToTimeline",
    "AddTrack", "SetTrackName", "DeleteTrack", "DeleteClips", "AddMarker",
    "DeleteMarkerByCustomData",
}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple]] = []

    def record(self, owner: str, method: str, *args) -> None:
        self.calls.append((owner, method, args))

    def named(self, method: str) -> list[tuple]:
        return [args for _, m, args in self.calls if m == method]

    def edits(self) -> list[tuple[str, str, tuple]]:
        return [c for c in self.calls if c[1] in EDIT_CALLS]


class FakeMediaPoolItem:
    def __init__(self, rec: Recorder, path: str) -> None:
        self._rec, self.path = rec, path

    def GetName(self):
        self._rec.record("MediaPoolItem", "GetName")
        return Path(self.path).name


class FakeFolder:
    def __init__(self, rec: Recorder, name: str) -> None:
        self._rec, self.name = rec, name
        self.subfolders: list[FakeFolder] = []
        self.clips: list[FakeMediaPoolItem] = []

    def GetName(self):
        self._rec.record("Folder", "GetName")
        return self.name

    def GetSubFolderList(self):
        self._rec.record("Folder", "GetSubFolderList")
        return list(self.subfolders)


class FakeTimelineItem:
    def __init__(self, item: FakeMediaPoolItem, record_frame: int, start: int, end: int) -> None:
        self.media_pool_item, self.record_frame = item, record_frame
        self.start_frame, self.end_frame = start, end


class FakeMediaPool:
    def __init__(self, rec: Recorder, timeline: FakeTimeline) -> None:
        self._rec, self._timeline = rec, timeline
        self.root = FakeFolder(rec, "Master")
        self.current = self.root

    def GetRootFolder(self):
        self._rec.record("MediaPool", "GetRootFolder")
        return self.root

    def AddSubFolder(self, folder, name):
        self._rec.record("MediaPool", "AddSubFolder", folder, name)
        sub = FakeFolder(self._rec, name)
        folder.subfolders.append(sub)
        return sub

    def SetCurrentFolder(self, folder):
        self._rec.record("MediaPool", "SetCurrentFolder", folder)
        self.current = folder
        return True

    def ImportMedia(self, items):
        self._rec.record("MediaPool", "ImportMedia", list(items))
        imported = [FakeMediaPoolItem(self._rec, p) for p in items if Path(p).is_file()]
        self.current.clips.extend(imported)
        return imported

    def DeleteClips(self, clips):
        self._rec.record("MediaPool", "DeleteClips", list(clips))
        self.current.clips = [c for c in self.current.clips if c not in clips]
        return True

    def AppendToTimeline(self, clip_infos):
        self._rec.record("MediaPool", "AppendToTimeline", [dict(c) for c in clip_infos])
        placed = []
        for info in clip_infos:
            track = info.get("trackIndex", 1)
            tracks = self._timeline.tracks["audio" if info.get("mediaType") == 2 else "video"]
            if not 1 <= track <= len(tracks) or tracks[track - 1]["locked"]:
                return []
            item = FakeTimelineItem(info["mediaPoolItem"], info["recordFrame"],
                                    info["startFrame"], info["endFrame"])
            tracks[track - 1]["items"].append(item)
            placed.append(item)
        return placed


class FakeTimeline:
    def __init__(self, rec: Recorder, *, name: str, fps: str, start_frame: int,
                 exports: dict[str, Path]) -> None:
        self._rec, self.name, self.fps, self.start_frame = rec, name, fps, start_frame
        self.exports = exports  # export type -> fixture file to hand out
        self.tracks = {
            "video": [{"name": "Video 1", "items": [object()], "locked": False}],
            "audio": [{"name": "Audio 1", "items": [object()], "locked": False}],
        }
        self.markers: dict[int, dict] = {}
        self.lock_new_audio_tracks = False

    def GetName(self):
        self._rec.record("Timeline", "GetName")
        return self.name

    def GetSetting(self, name):
        self._rec.record("Timeline", "GetSetting", name)
        return {"timelineFrameRate": self.fps}.get(name, "")

    def GetStartFrame(self):
        self._rec.record("Timeline", "GetStartFrame")
        return self.start_frame

    def Export(self, file_name, export_type, export_subtype):
        self._rec.record("Timeline", "Export", file_name, export_type, export_subtype)
        source = self.exports.get(export_type)
        if source is None:
            return False
        shutil.copyfile(source, file_name)
        return True

    def GetTrackCount(self, track_type):
        self._rec.record("Timeline", "GetTrackCount", track_type)
        return len(self.tracks[track_type])

    def AddTrack(self, track_type, sub_track_type):
        self._rec.record("Timeline", "AddTrack", track_type, sub_track_type)
        n = len(self.tracks[track_type]) + 1
        self.tracks[track_type].append({
            "name": f"{track_type.title()} {n}", "items": [], "sub": sub_track_type,
            "locked": self.lock_new_audio_tracks and track_type == "audio",
        })
        return True

    def DeleteTrack(self, track_type, track_index):
        self._rec.record("Timeline", "DeleteTrack", track_type, track_index)
        del self.tracks[track_type][track_index - 1]
        return True

    def GetTrackName(self, track_type, track_index):
        self._rec.record("Timeline", "GetTrackName", track_type, track_index)
        return self.tracks[track_type][track_index - 1]["name"]

    def SetTrackName(self, track_type, track_index, name):
        self._rec.record("Timeline", "SetTrackName", track_type, track_index, name)
        self.tracks[track_type][track_index - 1]["name"] = name
        return True

    def GetItemListInTrack(self, track_type, index):
        self._rec.record("Timeline", "GetItemListInTrack", track_type, index)
        return list(self.tracks[track_type][index - 1]["items"])

    def AddMarker(self, frame_id, color, name, note, duration, custom_data):
        self._rec.record("Timeline", "AddMarker", frame_id, color, name, note, duration,
                         custom_data)
        if frame_id in self.markers or not isinstance(frame_id, int):
            return False
        self.markers[frame_id] = {"color": color, "duration": duration, "note": note,
                                  "name": name, "customData": custom_data}
        return True

    def GetMarkers(self):
        self._rec.record("Timeline", "GetMarkers")
        return {frame: dict(info) for frame, info in self.markers.items()}

    def DeleteMarkerByCustomData(self, custom_data):
        self._rec.record("Timeline", "DeleteMarkerByCustomData", custom_data)
        for frame, info in sorted(self.markers.items()):
            if info["customData"] == custom_data:
                del self.markers[frame]
                return True
        return False


class FakeProject:
    def __init__(self, rec: Recorder, timeline: FakeTimeline | None) -> None:
        self._rec, self.timeline = rec, timeline
        self.media_pool = FakeMediaPool(rec, timeline)

    def GetName(self):
        self._rec.record("Project", "GetName")
        return "Fixture project"

    def GetCurrentTimeline(self):
        self._rec.record("Project", "GetCurrentTimeline")
        return self.timeline

    def GetMediaPool(self):
        self._rec.record("Project", "GetMediaPool")
        return self.media_pool


class FakeProjectManager:
    def __init__(self, rec: Recorder, project: FakeProject) -> None:
        self._rec, self.project = rec, project

    def GetCurrentProject(self):
        self._rec.record("ProjectManager", "GetCurrentProject")
        return self.project


class FakeResolve:
    """``resolve`` as a Resolve script sees it; ``otio=False`` imitates Resolve before 18.5."""

    EXPORT_FCP_7_XML = "EXPORT_FCP_7_XML"
    EXPORT_NONE = "EXPORT_NONE"

    def __init__(self, *, otio_file: Path, xml_file: Path, fps: str = "24",
                 start_frame: int = 86400, otio: bool = True) -> None:
        self.recorder = Recorder()
        if otio:  # the constant only exists in Resolve 18.5 and later
            self.EXPORT_OTIO = "EXPORT_OTIO"
        exports = {"EXPORT_OTIO": otio_file, "EXPORT_FCP_7_XML": xml_file}
        self.timeline = FakeTimeline(self.recorder, name="fixture cut", fps=fps,
                                     start_frame=start_frame, exports=exports)
        self.project = FakeProject(self.recorder, self.timeline)
        self._manager = FakeProjectManager(self.recorder, self.project)

    @property
    def calls(self):
        return self.recorder.calls

    def GetProjectManager(self):
        self.recorder.record("Resolve", "GetProjectManager")
        return self._manager
