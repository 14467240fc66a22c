"""A stand-in for DaVinci Resolve's scripting objects, for the plugin tests.

Only calls from Resolve's scripting README exist here, with the README's names and argument
order; each call is recorded as (object, method, args) in ``FakeResolve.calls``. The
behaviour copies what matters to the plugin, as the README and measurements on real hosts
describe it: ``Timeline.Export`` writes the fixture timeline file to the path given (as
Resolve would write the current cut), and the export constants are integers;
``AppendToTimeline`` acts on the project's *current* timeline (whichever the editor has
open now), refuses a missing or locked track, and takes ``endFrame`` as exclusive;
``GetMarkers`` answers float keys (``{96.0: {...}}``); ``AddMarker`` refuses a frame that
already has a marker; ``GetVersion``/``GetProductName`` say which Resolve this is.

Standard library only: the isolated-interpreter test loads this file without site-packages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Calls that change the project; the "bridge not running" test expects none of them.
EDIT_CALLS = {
    "Export", "ImportMedia", "AddSubFolder", "SetCurrentFolder", "AppendToTimeline",
    "AddTrack", "SetTrackName", "DeleteTrack", "DeleteClips", "AddMarker",
    "DeleteMarkerByCustomData", "SetTrackEnable", "SetCurrentTimeline",
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

    def GetClipProperty(self, name):
        self._rec.record("MediaPoolItem", "GetClipProperty", name)
        return {"File Path": self.path, "File Name": Path(self.path).name}.get(name, "")


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
    def __init__(self, rec: Recorder, item: FakeMediaPoolItem, record_frame: int, start: int,
                 end: int) -> None:
        self._rec, self.media_pool_item, self.record_frame = rec, item, record_frame
        self.start_frame, self.end_frame = start, end
        self.duration = end - start  # endFrame is exclusive

    def GetMediaPoolItem(self):
        self._rec.record("TimelineItem", "GetMediaPoolItem")
        return self.media_pool_item


class FakeMediaPool:
    def __init__(self, rec: Recorder, project: FakeProject) -> None:
        self._rec, self._project = rec, project
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
        timeline = self._project.current  # not the one the script holds: the one open now
        for info in clip_infos:
            track = info.get("trackIndex", 1)
            tracks = timeline.tracks["audio" if info.get("mediaType") == 2 else "video"]
            if not 1 <= track <= len(tracks) or tracks[track - 1]["locked"]:
                return []
            item = FakeTimelineItem(self._rec, info["mediaPoolItem"], info["recordFrame"],
                                    info["startFrame"], info["endFrame"])
            tracks[track - 1]["items"].append(item)
            placed.append(item)
        return placed


class FakeTimeline:
    def __init__(self, rec: Recorder, *, name: str, fps: str, start_frame: int,
                 exports: dict[int, Path], unique_id: str = "tl-1") -> None:
        self._rec, self.name, self.fps, self.start_frame = rec, name, fps, start_frame
        self.unique_id = unique_id
        self.exports = exports  # export type -> fixture file to hand out
        self.tracks = {
            "video": [{"name": "Video 1", "items": [object()], "locked": False,
                       "enabled": True}],
            "audio": [{"name": "Audio 1", "items": [object()], "locked": False,
                       "enabled": True}],
        }
        self.markers: dict[float, dict] = {}  # Resolve's keys are floats
        self.lock_new_audio_tracks = False

    def GetName(self):
        self._rec.record("Timeline", "GetName")
        return self.name

    def GetUniqueId(self):
        self._rec.record("Timeline", "GetUniqueId")
        return self.unique_id

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
            "locked": self.lock_new_audio_tracks and track_type == "audio", "enabled": True,
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

    def GetIsTrackEnabled(self, track_type, track_index):
        self._rec.record("Timeline", "GetIsTrackEnabled", track_type, track_index)
        return self.tracks[track_type][track_index - 1].get("enabled", True)

    def SetTrackEnable(self, track_type, track_index, enabled):
        self._rec.record("Timeline", "SetTrackEnable", track_type, track_index, enabled)
        self.tracks[track_type][track_index - 1]["enabled"] = bool(enabled)
        return True

    def GetItemListInTrack(self, track_type, index):
        self._rec.record("Timeline", "GetItemListInTrack", track_type, index)
        return list(self.tracks[track_type][index - 1]["items"])

    def AddMarker(self, frame_id, color, name, note, duration, custom_data):
        self._rec.record("Timeline", "AddMarker", frame_id, color, name, note, duration,
                         custom_data)
        if frame_id in self.markers or not isinstance(frame_id, int):
            return False
        self.markers[float(frame_id)] = {"color": color, "duration": duration, "note": note,
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
    def __init__(self, rec: Recorder, timelines: list[FakeTimeline]) -> None:
        self._rec, self.timelines = rec, timelines
        self.current = timelines[0] if timelines else None  # what the editor has open
        self.media_pool = FakeMediaPool(rec, self)

    def GetName(self):
        self._rec.record("Project", "GetName")
        return "Fixture project"

    def GetCurrentTimeline(self):
        self._rec.record("Project", "GetCurrentTimeline")
        return self.current

    def GetTimelineCount(self):
        self._rec.record("Project", "GetTimelineCount")
        return len(self.timelines)

    def GetTimelineByIndex(self, index):
        self._rec.record("Project", "GetTimelineByIndex", index)
        return self.timelines[index - 1] if 1 <= index <= len(self.timelines) else None

    def SetCurrentTimeline(self, timeline):
        self._rec.record("Project", "SetCurrentTimeline", timeline)
        if timeline not in self.timelines:
            return False
        self.current = timeline
        return True

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
    """``resolve`` as a Resolve script sees it; ``otio=False`` imitates Resolve before 18.5.

    ``other_timeline`` adds a second timeline the editor can switch to (``switch_to``);
    ``version``/``product`` are what GetVersion/GetProductName answer.
    """

    # Integers in the real host (the README names them, never their values).
    EXPORT_FCP_7_XML = 3
    EXPORT_NONE = 0

    def __init__(self, *, otio_file: Path, xml_file: Path, fps: str = "24",
                 start_frame: int = 86400, otio: bool = True,
                 version: tuple = (21, 0, 0, 49, ""), product: str = "DaVinci Resolve Studio",
                 other_timeline: bool = False) -> None:
        self.recorder = Recorder()
        self.version, self.product = list(version), product
        exports = {3: xml_file}
        if otio:  # the constant only exists in Resolve 18.5 and later
            self.EXPORT_OTIO = 17
            exports[17] = otio_file
        self.timeline = FakeTimeline(self.recorder, name="fixture cut", fps=fps,
                                     start_frame=start_frame, exports=exports)
        timelines = [self.timeline]
        if other_timeline:
            timelines.append(FakeTimeline(self.recorder, name="another cut", fps=fps,
                                          start_frame=start_frame, exports=exports,
                                          unique_id="tl-2"))
        self.project = FakeProject(self.recorder, timelines)
        self._manager = FakeProjectManager(self.recorder, self.project)

    @property
    def calls(self):
        return self.recorder.calls

    def switch_to(self, name: str) -> None:
        """The editor opens another timeline (not a script call, so not recorded)."""
        self.project.current = next(t for t in self.project.timelines if t.name == name)

    def GetProjectManager(self):
        self.recorder.record("Resolve", "GetProjectManager")
        return self._manager

    def GetVersion(self):
        self.recorder.record("Resolve", "GetVersion")
        return list(self.version)

    def GetProductName(self):
        self.recorder.record("Resolve", "GetProductName")
        return self.product
