from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState

class AnalyzeRequest(_message.Message):
    __slots__ = ("otio_json", "path", "options")
    OTIO_JSON_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    otio_json: str
    path: str
    options: ScoreOptions
    def __init__(self, otio_json: _Optional[str] = ..., path: _Optional[str] = ..., options: _Optional[_Union[ScoreOptions, _Mapping]] = ...) -> None: ...

class ScoreRequest(_message.Message):
    __slots__ = ("otio_json", "path", "options")
    OTIO_JSON_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    otio_json: str
    path: str
    options: ScoreOptions
    def __init__(self, otio_json: _Optional[str] = ..., path: _Optional[str] = ..., options: _Optional[_Union[ScoreOptions, _Mapping]] = ...) -> None: ...

class ScoreOptions(_message.Message):
    __slots__ = ("style", "seed", "affect_backend", "music_backend", "stems", "duck_db", "markers", "output_dir", "soundfont", "sample_rate", "analysis_rate_hz", "affect_hop_s", "detect_cuts", "report", "backend_options", "cut_detector", "fresh", "previous_result", "cache", "overwrite", "timeline_name", "timeline_rate")
    class BackendOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STYLE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    AFFECT_BACKEND_FIELD_NUMBER: _ClassVar[int]
    MUSIC_BACKEND_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    DUCK_DB_FIELD_NUMBER: _ClassVar[int]
    MARKERS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    SOUNDFONT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    AFFECT_HOP_S_FIELD_NUMBER: _ClassVar[int]
    DETECT_CUTS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CUT_DETECTOR_FIELD_NUMBER: _ClassVar[int]
    FRESH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RESULT_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_NAME_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_RATE_FIELD_NUMBER: _ClassVar[int]
    style: str
    seed: int
    affect_backend: str
    music_backend: str
    stems: bool
    duck_db: float
    markers: str
    output_dir: str
    soundfont: str
    sample_rate: int
    analysis_rate_hz: float
    affect_hop_s: float
    detect_cuts: bool
    report: bool
    backend_options: _containers.ScalarMap[str, str]
    cut_detector: str
    fresh: bool
    previous_result: str
    cache: bool
    overwrite: bool
    timeline_name: str
    timeline_rate: str
    def __init__(self, style: _Optional[str] = ..., seed: _Optional[int] = ..., affect_backend: _Optional[str] = ..., music_backend: _Optional[str] = ..., stems: _Optional[bool] = ..., duck_db: _Optional[float] = ..., markers: _Optional[str] = ..., output_dir: _Optional[str] = ..., soundfont: _Optional[str] = ..., sample_rate: _Optional[int] = ..., analysis_rate_hz: _Optional[float] = ..., affect_hop_s: _Optional[float] = ..., detect_cuts: _Optional[bool] = ..., report: _Optional[bool] = ..., backend_options: _Optional[_Mapping[str, str]] = ..., cut_detector: _Optional[str] = ..., fresh: _Optional[bool] = ..., previous_result: _Optional[str] = ..., cache: _Optional[bool] = ..., overwrite: _Optional[bool] = ..., timeline_name: _Optional[str] = ..., timeline_rate: _Optional[str] = ...) -> None: ...

class StartWatchRequest(_message.Message):
    __slots__ = ("folder", "options", "settle_s")
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SETTLE_S_FIELD_NUMBER: _ClassVar[int]
    folder: str
    options: ScoreOptions
    settle_s: float
    def __init__(self, folder: _Optional[str] = ..., options: _Optional[_Union[ScoreOptions, _Mapping]] = ..., settle_s: _Optional[float] = ...) -> None: ...

class WatchFolderRef(_message.Message):
    __slots__ = ("folder",)
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    folder: str
    def __init__(self, folder: _Optional[str] = ...) -> None: ...

class ListWatchesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchedFile(_message.Message):
    __slots__ = ("path", "state", "message", "jobs")
    PATH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    path: str
    state: str
    message: str
    jobs: int
    def __init__(self, path: _Optional[str] = ..., state: _Optional[str] = ..., message: _Optional[str] = ..., jobs: _Optional[int] = ...) -> None: ...

class WatchFolder(_message.Message):
    __slots__ = ("folder", "active", "files")
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    folder: str
    active: bool
    files: _containers.RepeatedCompositeFieldContainer[WatchedFile]
    def __init__(self, folder: _Optional[str] = ..., active: _Optional[bool] = ..., files: _Optional[_Iterable[_Union[WatchedFile, _Mapping]]] = ...) -> None: ...

class ListWatchesResponse(_message.Message):
    __slots__ = ("watches",)
    WATCHES_FIELD_NUMBER: _ClassVar[int]
    watches: _containers.RepeatedCompositeFieldContainer[WatchFolder]
    def __init__(self, watches: _Optional[_Iterable[_Union[WatchFolder, _Mapping]]] = ...) -> None: ...

class JobRef(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("limit", "include_results")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    include_results: bool
    def __init__(self, limit: _Optional[int] = ..., include_results: _Optional[bool] = ...) -> None: ...

class ListBackendsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "progress", "analysis", "score", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    progress: Progress
    analysis: AnalyzeResult
    score: ScoreResult
    error: Error
    def __init__(self, job_id: _Optional[str] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., analysis: _Optional[_Union[AnalyzeResult, _Mapping]] = ..., score: _Optional[_Union[ScoreResult, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("stage", "fraction", "message")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    stage: str
    fraction: float
    message: str
    def __init__(self, stage: _Optional[str] = ..., fraction: _Optional[float] = ..., message: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "path", "field")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    path: str
    field: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., path: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class Cut(_message.Message):
    __slots__ = ("time_s", "kind", "strength", "transition", "start_s", "end_s")
    TIME_S_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    TRANSITION_FIELD_NUMBER: _ClassVar[int]
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    time_s: float
    kind: str
    strength: float
    transition: str
    start_s: float
    end_s: float
    def __init__(self, time_s: _Optional[float] = ..., kind: _Optional[str] = ..., strength: _Optional[float] = ..., transition: _Optional[str] = ..., start_s: _Optional[float] = ..., end_s: _Optional[float] = ...) -> None: ...

class AffectCurve(_message.Message):
    __slots__ = ("hop_s", "valence", "arousal", "confidence", "source")
    HOP_S_FIELD_NUMBER: _ClassVar[int]
    VALENCE_FIELD_NUMBER: _ClassVar[int]
    AROUSAL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    hop_s: float
    valence: _containers.RepeatedScalarFieldContainer[float]
    arousal: _containers.RepeatedScalarFieldContainer[float]
    confidence: _containers.RepeatedScalarFieldContainer[float]
    source: str
    def __init__(self, hop_s: _Optional[float] = ..., valence: _Optional[_Iterable[float]] = ..., arousal: _Optional[_Iterable[float]] = ..., confidence: _Optional[_Iterable[float]] = ..., source: _Optional[str] = ...) -> None: ...

class Style(_message.Message):
    __slots__ = ("name", "genre", "instrumentation", "atmosphere", "rhythm", "bpm_min", "bpm_max", "programs", "percussion", "drum_kit", "prompt")
    class ProgramsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTATION_FIELD_NUMBER: _ClassVar[int]
    ATMOSPHERE_FIELD_NUMBER: _ClassVar[int]
    RHYTHM_FIELD_NUMBER: _ClassVar[int]
    BPM_MIN_FIELD_NUMBER: _ClassVar[int]
    BPM_MAX_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_FIELD_NUMBER: _ClassVar[int]
    PERCUSSION_FIELD_NUMBER: _ClassVar[int]
    DRUM_KIT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    name: str
    genre: str
    instrumentation: str
    atmosphere: str
    rhythm: str
    bpm_min: float
    bpm_max: float
    programs: _containers.ScalarMap[str, int]
    percussion: bool
    drum_kit: int
    prompt: str
    def __init__(self, name: _Optional[str] = ..., genre: _Optional[str] = ..., instrumentation: _Optional[str] = ..., atmosphere: _Optional[str] = ..., rhythm: _Optional[str] = ..., bpm_min: _Optional[float] = ..., bpm_max: _Optional[float] = ..., programs: _Optional[_Mapping[str, int]] = ..., percussion: _Optional[bool] = ..., drum_kit: _Optional[int] = ..., prompt: _Optional[str] = ...) -> None: ...

class Marker(_message.Message):
    __slots__ = ("start_s", "duration_s", "color", "name", "note", "valence", "arousal", "quadrant")
    START_S_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    VALENCE_FIELD_NUMBER: _ClassVar[int]
    AROUSAL_FIELD_NUMBER: _ClassVar[int]
    QUADRANT_FIELD_NUMBER: _ClassVar[int]
    start_s: float
    duration_s: float
    color: str
    name: str
    note: str
    valence: float
    arousal: float
    quadrant: str
    def __init__(self, start_s: _Optional[float] = ..., duration_s: _Optional[float] = ..., color: _Optional[str] = ..., name: _Optional[str] = ..., note: _Optional[str] = ..., valence: _Optional[float] = ..., arousal: _Optional[float] = ..., quadrant: _Optional[str] = ...) -> None: ...

class AnalyzeResult(_message.Message):
    __slots__ = ("timeline_name", "timeline_path", "rate", "duration_s", "duration_frames", "start_timecode", "cuts", "affect", "style", "markers", "warnings")
    TIMELINE_NAME_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_PATH_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    DURATION_FRAMES_FIELD_NUMBER: _ClassVar[int]
    START_TIMECODE_FIELD_NUMBER: _ClassVar[int]
    CUTS_FIELD_NUMBER: _ClassVar[int]
    AFFECT_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    MARKERS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    timeline_name: str
    timeline_path: str
    rate: str
    duration_s: float
    duration_frames: int
    start_timecode: str
    cuts: _containers.RepeatedCompositeFieldContainer[Cut]
    affect: AffectCurve
    style: Style
    markers: _containers.RepeatedCompositeFieldContainer[Marker]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, timeline_name: _Optional[str] = ..., timeline_path: _Optional[str] = ..., rate: _Optional[str] = ..., duration_s: _Optional[float] = ..., duration_frames: _Optional[int] = ..., start_timecode: _Optional[str] = ..., cuts: _Optional[_Iterable[_Union[Cut, _Mapping]]] = ..., affect: _Optional[_Union[AffectCurve, _Mapping]] = ..., style: _Optional[_Union[Style, _Mapping]] = ..., markers: _Optional[_Iterable[_Union[Marker, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class ScoreResult(_message.Message):
    __slots__ = ("analysis", "out_dir", "wav_path", "midi_path", "otio_path", "affect_csv", "affect_json", "affect_png", "report_path", "stem_paths", "result_otio_json", "plan_summary", "metrics", "manifest_path", "version")
    class StemPathsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    OUT_DIR_FIELD_NUMBER: _ClassVar[int]
    WAV_PATH_FIELD_NUMBER: _ClassVar[int]
    MIDI_PATH_FIELD_NUMBER: _ClassVar[int]
    OTIO_PATH_FIELD_NUMBER: _ClassVar[int]
    AFFECT_CSV_FIELD_NUMBER: _ClassVar[int]
    AFFECT_JSON_FIELD_NUMBER: _ClassVar[int]
    AFFECT_PNG_FIELD_NUMBER: _ClassVar[int]
    REPORT_PATH_FIELD_NUMBER: _ClassVar[int]
    STEM_PATHS_FIELD_NUMBER: _ClassVar[int]
    RESULT_OTIO_JSON_FIELD_NUMBER: _ClassVar[int]
    PLAN_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_PATH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    analysis: AnalyzeResult
    out_dir: str
    wav_path: str
    midi_path: str
    otio_path: str
    affect_csv: str
    affect_json: str
    affect_png: str
    report_path: str
    stem_paths: _containers.ScalarMap[str, str]
    result_otio_json: str
    plan_summary: _struct_pb2.Struct
    metrics: _containers.ScalarMap[str, float]
    manifest_path: str
    version: int
    def __init__(self, analysis: _Optional[_Union[AnalyzeResult, _Mapping]] = ..., out_dir: _Optional[str] = ..., wav_path: _Optional[str] = ..., midi_path: _Optional[str] = ..., otio_path: _Optional[str] = ..., affect_csv: _Optional[str] = ..., affect_json: _Optional[str] = ..., affect_png: _Optional[str] = ..., report_path: _Optional[str] = ..., stem_paths: _Optional[_Mapping[str, str]] = ..., result_otio_json: _Optional[str] = ..., plan_summary: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., manifest_path: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "kind", "state", "created_unix", "started_unix", "finished_unix", "last_progress", "source", "analysis", "score", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    STARTED_UNIX_FIELD_NUMBER: _ClassVar[int]
    FINISHED_UNIX_FIELD_NUMBER: _ClassVar[int]
    LAST_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    kind: str
    state: JobState
    created_unix: float
    started_unix: float
    finished_unix: float
    last_progress: Progress
    source: str
    analysis: AnalyzeResult
    score: ScoreResult
    error: Error
    def __init__(self, job_id: _Optional[str] = ..., kind: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., created_unix: _Optional[float] = ..., started_unix: _Optional[float] = ..., finished_unix: _Optional[float] = ..., last_progress: _Optional[_Union[Progress, _Mapping]] = ..., source: _Optional[str] = ..., analysis: _Optional[_Union[AnalyzeResult, _Mapping]] = ..., score: _Optional[_Union[ScoreResult, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class Backend(_message.Message):
    __slots__ = ("name", "available", "reason", "options", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    available: bool
    reason: str
    options: _containers.RepeatedCompositeFieldContainer[BackendOption]
    description: str
    def __init__(self, name: _Optional[str] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ..., options: _Optional[_Iterable[_Union[BackendOption, _Mapping]]] = ..., description: _Optional[str] = ...) -> None: ...

class BackendOption(_message.Message):
    __slots__ = ("name", "description", "default_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    default_value: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., default_value: _Optional[str] = ...) -> None: ...

class ListBackendsResponse(_message.Message):
    __slots__ = ("affect", "music")
    AFFECT_FIELD_NUMBER: _ClassVar[int]
    MUSIC_FIELD_NUMBER: _ClassVar[int]
    affect: _containers.RepeatedCompositeFieldContainer[Backend]
    music: _containers.RepeatedCompositeFieldContainer[Backend]
    def __init__(self, affect: _Optional[_Iterable[_Union[Backend, _Mapping]]] = ..., music: _Optional[_Iterable[_Union[Backend, _Mapping]]] = ...) -> None: ...
