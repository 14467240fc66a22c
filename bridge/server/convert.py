"""protobuf <-> pipeline dataclasses. No logic beyond copying fields."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from bridge.config import ScoreOptions
from bridge.errors import InvalidOptionError
from bridge.jobs import Job, JobError, JobState
from bridge.registry import Availability
from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb
from bridge.types import Analysis, ScoreResult

_OPTION_FIELDS = {f.name for f in fields(ScoreOptions)}


def options_from_pb(msg: pb.ScoreOptions) -> tuple[ScoreOptions, str | None]:
    """(validated options, output_dir or None). Raises InvalidOptionError naming the field."""
    changes: dict[str, Any] = {}
    output_dir = None
    for desc, value in msg.ListFields():  # only the fields the caller set
        if desc.name == "output_dir":
            output_dir = value or None
        elif desc.name == "soundfont":
            changes["soundfont"] = Path(value) if value else None
        elif desc.name == "backend_options":
            changes["backend_options"] = dict(value)
        elif desc.name in _OPTION_FIELDS:
            changes[desc.name] = value
        else:  # a proto field nobody mapped: fail loudly rather than ignore the user
            raise InvalidOptionError("not supported by this bridge", field=desc.name)
    if "style" in changes and not changes["style"]:
        changes["style"] = None  # "" from a form means "choose for me"
    for name in ("duck_db", "analysis_rate_hz", "affect_hop_s"):
        if name in changes and not math.isfinite(changes[name]):
            raise InvalidOptionError(f"{changes[name]} is not a finite number", field=name)
    return ScoreOptions().with_(**changes).validated(), output_dir


def analysis_to_pb(a: Analysis) -> pb.AnalyzeResult:
    edit, curve, style = a.edit, a.affect, a.style
    return pb.AnalyzeResult(
        timeline_name=edit.name,
        timeline_path=str(edit.source_path),
        rate=f"{edit.rate.numerator}/{edit.rate.denominator}",
        duration_s=edit.duration_s,
        duration_frames=edit.duration_frames,
        start_timecode=edit.start_timecode,
        cuts=[
            pb.Cut(time_s=c.time_s, kind=c.kind, strength=c.strength,
                   transition=c.transition or "", start_s=c.start_s, end_s=c.end_s)
            for c in a.cuts
        ],
        affect=pb.AffectCurve(
            hop_s=curve.hop_s,
            valence=curve.valence.tolist(),
            arousal=curve.arousal.tolist(),
            confidence=curve.confidence.tolist(),
            source=curve.source,
        ),
        style=pb.Style(
            name=style.name,
            genre=style.genre,
            instrumentation=style.instrumentation,
            atmosphere=style.atmosphere,
            rhythm=style.rhythm,
            bpm_min=style.bpm_min,
            bpm_max=style.bpm_max,
            programs={role: int(p) for role, p in style.programs.items()},
            percussion=style.percussion,
            drum_kit=style.drum_kit,
            prompt=style.prompt(),
        ),
        markers=[
            pb.Marker(start_s=m.start_s, duration_s=m.duration_s, color=m.color, name=m.name,
                      note=m.note, valence=m.valence, arousal=m.arousal, quadrant=m.quadrant)
            for m in a.markers
        ],
        warnings=list(a.warnings),
    )


def score_to_pb(r: ScoreResult) -> pb.ScoreResult:
    msg = pb.ScoreResult(
        analysis=analysis_to_pb(r.analysis),
        out_dir=str(r.out_dir),
        wav_path=str(r.wav_path),
        midi_path=str(r.midi_path) if r.midi_path is not None else "",
        otio_path=str(r.otio_path),
        affect_csv=str(r.affect_csv),
        affect_json=str(r.affect_json),
        affect_png=str(r.affect_png),
        report_path=str(r.report_path) if r.report_path else "",
        stem_paths={role: str(p) for role, p in r.stem_paths.items()},
        result_otio_json=Path(r.otio_path).read_text(encoding="utf-8"),
        metrics={k: float(v) for k, v in r.metrics.items()},
        manifest_path=str(r.manifest_path) if r.manifest_path else "",
        version=r.version,
    )
    msg.plan_summary.update(_plain_json(r.plan_summary))
    return msg


def _plain_json(value: Any) -> Any:
    """numpy scalars, tuples, Paths -> what a protobuf Struct holds."""

    def fallback(x: Any) -> Any:
        if hasattr(x, "tolist"):  # numpy scalars and arrays
            return x.tolist()
        return str(x)

    return json.loads(json.dumps(value, default=fallback))


def to_dict(msg) -> dict[str, Any]:
    """A message in the JSON mapping used on disk and by the HTTP gateway (snake_case)."""
    return json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def error_to_pb(error: JobError, code_name: str) -> pb.Error:
    return pb.Error(code=code_name, message=error.message, path=error.path or "",
                    field=error.field or "")


def event_to_pb(event, code_name: str = "") -> pb.JobEvent:
    """A bridge.jobs.JobEvent -> pb.JobEvent; ``code_name`` names the status of an error."""
    msg = pb.JobEvent(job_id=event.job_id)
    if event.progress is not None:
        stage, fraction, message = event.progress
        msg.progress.CopyFrom(pb.Progress(stage=stage, fraction=fraction, message=message))
    elif event.error is not None:
        msg.error.CopyFrom(error_to_pb(event.error, code_name))
    elif event.result is not None:
        # results are stored as {"analysis": {...}} or {"score": {...}} (the oneof name)
        json_format.ParseDict(event.result, msg)
    return msg


def job_to_pb(job: Job, code_name: str = "", *, with_result: bool = True) -> pb.Job:
    msg = pb.Job(
        job_id=job.id,
        kind=job.kind,
        state=pb.JobState.Value(f"JOB_STATE_{job.state.value}"),
        created_unix=job.created_unix,
        started_unix=job.started_unix,
        finished_unix=job.finished_unix,
        source=str(job.request.get("source", "")),
    )
    if job.last_progress is not None:
        stage, fraction, message = job.last_progress
        msg.last_progress.CopyFrom(pb.Progress(stage=stage, fraction=fraction, message=message))
    if job.state is JobState.SUCCEEDED and job.result and with_result:
        json_format.ParseDict(job.result, msg)
    elif job.error is not None:
        msg.error.CopyFrom(error_to_pb(job.error, code_name))
    return msg


def backends_to_pb(backends: dict[str, list[Availability]]) -> pb.ListBackendsResponse:
    def entries(kind: str) -> list[pb.Backend]:
        return [
            pb.Backend(
                name=b.name, available=b.available, reason=b.reason, description=b.description,
                options=[pb.BackendOption(name=o.name, description=o.description,
                                          default_value=o.default_text()) for o in b.options],
            )
            for b in backends.get(kind, [])
        ]

    return pb.ListBackendsResponse(affect=entries("affect"), music=entries("music"))
