"""The one module that wires every stage together.

timeline -> Edit -> cuts -> AffectCurve + Style -> music -> result OTIO + markers.
Each stage gets the previous stage's frozen dataclasses; progress and cancellation are
passed down, never looked up.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from bridge.affect import estimate_affect, estimators
from bridge.affect.markers import affect_markers
from bridge.affect.outputs import plot_affect_png, write_affect_csv, write_affect_json
from bridge.analysis.cuts import find_cuts
from bridge.analysis.picture import observe_picture, problems
from bridge.analysis.sound import observe_sound, sound_problems
from bridge.cache import AnalysisCache
from bridge.config import ScoreOptions
from bridge.errors import (
    BackendUnavailableError,
    BridgeError,
    InvalidOptionError,
    NothingToScoreError,
    UnreadableTimelineError,
)
from bridge.media import probe, reuse_open_files
from bridge.music import MusicRequest, music_backends
from bridge.outputs import StagedOutputs, staged_outputs
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.recut.rescore import continues, find_previous, rescore_music
from bridge.registry import Availability
from bridge.style import STYLES, choose_style
from bridge.style.anchor import ANCHOR_PROMPT, anchor_style
from bridge.timeline import read_edit
from bridge.timeline.export import write_marked_timeline, write_scored_timeline
from bridge.types import AffectCurve, Analysis, ScoreResult

MAX_TIMELINE_S = 12 * 3600.0  # longer than any cut; bounds memory, time and result size
WAV_NAME = "score.wav"
RECORD_NAME = "score.plan.json"  # what a re-score starts from (bridge.music.record)
MIDI_NAME = "score.mid"
OTIO_NAME = "scored.otio"
STEMS_DIR = "stems"


def analyze_timeline(
    timeline: str | Path,
    options: ScoreOptions = ScoreOptions(),
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    require_picture: bool = False,
) -> Analysis:
    """Read a timeline and estimate its cuts, affect curve, style and markers.

    A timeline with no picture (audio or gaps only) is analysed with a warning and a flat
    curve of zero confidence; ``require_picture`` refuses it instead (scoring does).
    """
    options = options.validated()
    backend_options(options)  # a misspelt option fails before any media is read
    return _analyze(timeline, options, progress=progress, cancel=cancel,
                    require_picture=require_picture)


def _analyze(timeline: str | Path, options: ScoreOptions, *, progress: ProgressFn,
             cancel: CancelToken, require_picture: bool = False) -> Analysis:
    """analyze_timeline with options already validated (once per job, by the caller)."""
    if options.cut_detector == "transnet" and options.detect_cuts:
        from bridge.analysis.transnet import transnet_missing

        if reason := transnet_missing():  # before any media is read
            raise BackendUnavailableError(f"the transnet cut detector needs {reason}",
                                          field="cut_detector")
    progress("timeline", 0.0, f"reading {Path(timeline).name}")
    edit = read_edit(timeline, rate=options.frame_rate(), timeline_name=options.timeline_name,
                     media_rate_of=media_frame_rate)
    if edit.duration_s > MAX_TIMELINE_S:
        raise UnreadableTimelineError(
            f"the timeline is {edit.duration_s / 3600:.1f} h long; the bridge scores at most "
            f"{MAX_TIMELINE_S / 3600:.0f} h", path=edit.source_path)
    progress("timeline", 1.0, f"{len(edit.shots)} shots, {edit.duration_s:.1f} s")
    cancel.raise_if_cancelled()
    if not edit.shots:
        if require_picture:
            raise NothingToScoreError(
                "nothing to score: no picture (the timeline holds audio or gaps only)",
                path=edit.source_path,
            )
        return _analysis_without_picture(
            edit, options, observe_sound(edit, progress=progress, cancel=cancel)
        )

    # Decoding is the cost of analysis: the picture pass feeds cut detection and affect,
    # the sound pass the affect's loudness and the music's ducking.
    # The cache keeps the measurements, so a re-analysis decodes only what changed.
    cache = AnalysisCache() if options.cache else None
    with reuse_open_files():  # each media file is opened once for all the passes
        picture = observe_picture(
            edit, rate_hz=options.analysis_rate_hz, progress=progress, cancel=cancel,
            cache=cache,
        )
        sound = observe_sound(edit, progress=progress, cancel=cancel, cache=cache)
        if options.cut_detector == "transnet" and options.detect_cuts:
            from bridge.analysis.transnet import find_cuts_transnet

            cuts = find_cuts_transnet(edit, progress=progress, cancel=cancel)
        else:
            cuts = find_cuts(edit, picture=picture, detect_inside=options.detect_cuts,
                             progress=progress, cancel=cancel, cache=cache)
    if cache is not None:
        cache.trim()
    if not any(len(p) for p in picture):
        # Offline media: the cut is still known (its edit points), what it shows is not.
        unread = problems(picture)
        why = ("no picture could be read for any shot (all media missing or undecodable); "
               "relink its media" + (f" ({'; '.join(unread[:3])}"
                                     f"{' ...' if len(unread) > 3 else ''})" if unread else ""))
        if require_picture:
            raise NothingToScoreError(f"nothing to score: {why}", path=edit.source_path)
        blind = _analysis_without_picture(edit, options, sound)
        return replace(blind, cuts=cuts, warnings=(*blind.warnings, why))
    estimator = estimators.create(options.affect_backend, **backend_options(options)["affect"])
    curve, hint_warnings = estimate_affect(
        edit,
        cuts,
        picture=picture,
        sound=sound,
        estimator=estimator,
        hop_s=options.affect_hop_s,
        rate_hz=options.analysis_rate_hz,
        progress=progress,
        cancel=cancel,
    )
    progress("style", 0.0, "choosing the global style")
    style = choose_style(curve, name=options.style)
    describer = getattr(estimator, "describer", None)
    if options.style is None and describer is not None:
        # a VLM estimator describes the music itself (§3.4); the preset chosen from the
        # curve is its fallback
        describe, why_not = describer(edit, ANCHOR_PROMPT, cancel=cancel)
        if describe is not None:
            style, anchor_warnings = anchor_style(describe, style)
            hint_warnings = [*hint_warnings, *anchor_warnings]
        elif why_not:
            hint_warnings = [*hint_warnings, f"style anchor: {why_not}; using the embedded "
                             f"style {style.name!r}"]
    markers = affect_markers(curve, density=options.markers, cuts=cuts)
    progress("style", 1.0, style.name)
    return Analysis(
        edit=edit,
        cuts=cuts,
        affect=curve,
        style=style,
        markers=markers,
        sound=sound,
        # the reader has already warned about missing media; add undecodable ones
        warnings=(*edit.warnings, *problems(picture, include_missing=False),
                  *sound_problems(sound), *hint_warnings),
    )


def media_frame_rate(path: Path) -> float | None:
    """A picture file's frame rate, or None when it has none or cannot be read (lent to the
    timeline reader, which may not read media itself)."""
    try:
        info = probe(path)
    except BridgeError:
        return None
    return info.fps if info.has_video else None


def _analysis_without_picture(edit, options: ScoreOptions, sound) -> Analysis:
    """What can be said of a timeline with no picture: its length, its sound, nothing felt."""
    n = max(1, math.ceil(edit.duration_s / options.affect_hop_s))
    flat = np.zeros(n)
    curve = AffectCurve(hop_s=options.affect_hop_s, valence=flat, arousal=flat.copy(),
                        confidence=flat.copy(), source="none")
    return Analysis(edit=edit, cuts=(), affect=curve,
                    style=choose_style(curve, name=options.style), markers=(), sound=sound,
                    warnings=(*edit.warnings, *sound_problems(sound)))


def _write_affect_files(analysis: Analysis, out: StagedOutputs) -> None:
    """affect.csv, affect.json and affect.png into a job's staged outputs."""
    write_affect_csv(analysis.affect, out.path("affect.csv"))
    write_affect_json(
        analysis.affect, out.path("affect.json"), markers=analysis.markers, cuts=analysis.cuts
    )
    plot_affect_png(analysis.affect, out.path("affect.png"), edit=analysis.edit, cuts=analysis.cuts)


AFFECT_NAMES = ("affect.csv", "affect.json", "affect.png")


def _source_choice(analysis: Analysis) -> dict:
    """What the export needs to re-read the same timeline: the project and the rate used."""
    edit = analysis.edit
    return {"timeline_name": edit.name, "rate": edit.rate if edit.source_path.suffix.lower()
            == ".edl" else None}


def write_affect_outputs(analysis: Analysis, out_dir: str | Path, *, overwrite: bool = False
                         ) -> dict[str, Path]:
    """affect.csv / .json / .png and a marked copy of the timeline, all or nothing.

    Keyed by the plain names; the paths carry the result's version (affect.v2.csv ...)
    when the folder already held a result.
    """
    names = (*AFFECT_NAMES, "affect.otio")
    with staged_outputs(out_dir, names, kind="affect", overwrite=overwrite) as out:
        _write_affect_files(analysis, out)
        write_marked_timeline(
            analysis.edit.source_path, out.path("affect.otio"), markers=analysis.markers,
            **_source_choice(analysis),
        )
    return {name: out.final(name) for name in names}


def score_timeline(
    timeline: str | Path,
    out_dir: str | Path,
    options: ScoreOptions = ScoreOptions(),
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> ScoreResult:
    """Analyse and score a timeline; write the soundtrack, MIDI, affect files and result OTIO."""
    options = options.validated()
    music_options = backend_options(options)["music"]  # refused here, before any decoding
    # A folder holding an earlier version is re-scored: the music of what the recut kept stays.
    previous = None
    if not options.fresh and options.music_backend == "symbolic":
        where = Path(options.previous_result or out_dir).expanduser()
        previous = find_previous(where) if where.exists() else None
        if previous is None and options.previous_result:
            raise BridgeError("no earlier Scorebridge result there to continue",
                              path=options.previous_result)
    if previous is not None and options.style is None and previous.record.style in STYLES:
        options = options.with_(style=previous.record.style)  # the piece keeps its style
    if options.report:  # the analyser loads in the background while the score is made
        from bridge.quality.report import start_warm_up

        start_warm_up()
    analysis = _analyze(timeline, options, progress=progress, cancel=cancel,
                        require_picture=True)
    # built after the analysis, so that what it loads (a synth, a model) is not resident
    # while the picture is decoded
    backend = music_backends.create(options.music_backend, **music_options)
    request = music_request(options)
    names = [WAV_NAME, MIDI_NAME, OTIO_NAME, RECORD_NAME, *AFFECT_NAMES]
    if options.stems:
        names.append(STEMS_DIR)
    if options.report:
        from bridge.quality.report import REPORT_NAME

        names.append(REPORT_NAME)
    with staged_outputs(out_dir, names, kind="score", overwrite=options.overwrite) as out:
        music = None
        if previous is not None:
            why_not = continues(previous, style=analysis.style.name, seed=request.seed,
                                sr=request.sr, duck_db=request.duck_db, stems=request.stems)
            if why_not:
                progress("compose", 0.0, f"composing afresh: {why_not}")
            else:
                music = rescore_music(
                    analysis, previous, seed=request.seed, sr=request.sr, stems=request.stems,
                    duck_db=request.duck_db, soundfont=getattr(backend, "soundfont", None),
                    wav_path=out.path(WAV_NAME), midi_path=out.path(MIDI_NAME),
                    stems_dir=out.path(STEMS_DIR), progress=progress, cancel=cancel)
        if music is None:
            music = backend.generate(
                analysis,
                request,
                wav_path=out.path(WAV_NAME),
                midi_path=out.path(MIDI_NAME),
                stems_dir=out.path(STEMS_DIR),
                progress=progress,
                cancel=cancel,
            )
        cancel.raise_if_cancelled()
        progress("export", 0.0, "writing affect files and the scored timeline")
        _write_affect_files(analysis, out)
        # The OTIO points at where the WAV will live after commit, not at the staging copy.
        write_scored_timeline(
            analysis.edit.source_path,
            out.path(OTIO_NAME),
            audio_path=out.final(WAV_NAME),
            audio_duration_s=analysis.edit.duration_s,
            markers=analysis.markers,
            **_source_choice(analysis),
            score_metadata={"rescore": music.plan_summary["rescore"]}
            if "rescore" in music.plan_summary else None,
        )
        progress("export", 1.0, "done")
        stems = {role: out.final(f"{STEMS_DIR}/{p.name}") for role, p in music.stem_paths.items()}
        metrics = {}
        if music.loudness_lufs is not None:
            metrics["integrated_lufs"] = music.loudness_lufs
        if music.true_peak_dbtp is not None:
            metrics["true_peak_dbtp"] = music.true_peak_dbtp
        report_path = None
        if options.report:
            from bridge.quality.report import REPORT_NAME, build_report

            # Measured on the staged WAV; baselines render into a temp folder, not `out`.
            _, measured = build_report(
                analysis, out.path(WAV_NAME), out.path(REPORT_NAME), request,
                music.plan_summary, progress, cancel, backend=options.music_backend,
                backend_options=music_options,
            )
            metrics.update(measured)
            report_path = out.final(REPORT_NAME)
        result = ScoreResult(
            # the music's own warnings travel with the analysis's, to the CLI and the plugins
            analysis=replace(analysis, warnings=(*analysis.warnings, *music.warnings)),
            out_dir=out.final_dir,
            wav_path=out.final(WAV_NAME),
            midi_path=out.final(MIDI_NAME) if music.midi_path is not None else None,
            otio_path=out.final(OTIO_NAME),
            affect_csv=out.final("affect.csv"),
            affect_json=out.final("affect.json"),
            affect_png=out.final("affect.png"),
            stem_paths=stems,
            report_path=report_path,
            plan_summary=dict(music.plan_summary),
            metrics=metrics,
            manifest_path=out.manifest_path,
            version=out.version,
        )
    return result


def music_request(options: ScoreOptions) -> MusicRequest:
    """What every music backend honours, from a job's options."""
    return MusicRequest(
        seed=options.seed, sr=options.sample_rate, stems=options.stems, duck_db=options.duck_db
    )


def backend_options(options: ScoreOptions) -> dict[str, dict[str, str]]:
    """{"affect": ..., "music": ...}: the backend options each chosen backend receives.

    Checked against what the two backends declare, so a misspelt or misplaced option is
    an error naming it rather than silently ignored.
    """
    registries = {"affect": estimators, "music": music_backends}
    chosen = {"affect": options.affect_backend, "music": options.music_backend}
    declared = {kind: [spec.name for spec in registries[kind].options(chosen[kind])]
                for kind in registries}
    unclaimed = options.unclaimed_backend_options(declared)
    if unclaimed:
        raise InvalidOptionError(
            f"neither {chosen['affect']!r} nor {chosen['music']!r} takes option "
            f"{unclaimed[0]!r}", field=f"backend_options.{unclaimed[0]}",
        )
    split = {kind: options.backend_options_for(kind, declared[kind]) for kind in registries}
    for kind, registry in registries.items():
        registry.parse_options(chosen[kind], split[kind])  # the backend's own parsers
    return split


def list_backends() -> dict[str, list[Availability]]:
    """Every affect estimator and music backend, and why an unavailable one is missing."""
    return {"affect": estimators.availability(), "music": music_backends.availability()}
