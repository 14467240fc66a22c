"""The one module that wires every stage together.

timeline -> Edit -> cuts -> AffectCurve + Style -> music -> result OTIO + markers.
Each stage gets the previous stage's frozen dataclasses; progress and cancellation are
passed down, never looked up.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bridge.affect import estimate_affect, estimators
from bridge.affect.markers import affect_markers
from bridge.affect.outputs import plot_affect_png, write_affect_csv, write_affect_json
from bridge.config import ScoreOptions
from bridge.cuts import find_cuts
from bridge.errors import InvalidOptionError
from bridge.music import MusicRequest, music_backends
from bridge.outputs import StagedOutputs, staged_outputs
from bridge.picture import observe_picture, problems
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import Availability
from bridge.style import choose_style
from bridge.timeline import read_edit
from bridge.timeline.export import write_marked_timeline, write_scored_timeline
from bridge.types import Analysis, ScoreResult

WAV_NAME = "score.wav"
MIDI_NAME = "score.mid"
OTIO_NAME = "scored.otio"
STEMS_DIR = "stems"


def analyze_timeline(
    timeline: str | Path,
    options: ScoreOptions = ScoreOptions(),
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Analysis:
    """Read a timeline and estimate its cuts, affect curve, style and markers."""
    options = options.validated()
    backend_options(options)  # a misspelt option fails before any media is read
    progress("timeline", 0.0, f"reading {Path(timeline).name}")
    edit = read_edit(timeline)
    progress("timeline", 1.0, f"{len(edit.shots)} shots, {edit.duration_s:.1f} s")
    cancel.raise_if_cancelled()

    # Decoding is the cost of analysis: one pass feeds both cut detection and affect.
    picture = observe_picture(
        edit, rate_hz=options.analysis_rate_hz, progress=progress, cancel=cancel
    )
    cuts = find_cuts(
        edit, detect_inside=options.detect_cuts, picture=picture, progress=progress, cancel=cancel
    )
    curve, hint_warnings = estimate_affect(
        edit,
        cuts,
        backend=options.affect_backend,
        backend_options=backend_options(options)["affect"],
        hop_s=options.affect_hop_s,
        rate_hz=options.analysis_rate_hz,
        picture=picture,
        progress=progress,
        cancel=cancel,
    )
    progress("style", 0.0, "choosing the global style")
    style = choose_style(curve, name=options.style)
    markers = affect_markers(curve, density=options.markers, cuts=cuts)
    progress("style", 1.0, style.name)
    return Analysis(
        edit=edit,
        cuts=cuts,
        affect=curve,
        style=style,
        markers=markers,
        # the reader has already warned about missing media; add undecodable ones
        warnings=(*edit.warnings, *problems(picture, include_missing=False), *hint_warnings),
    )


def _write_affect_files(analysis: Analysis, out: StagedOutputs) -> None:
    """affect.csv, affect.json and affect.png into a job's staged outputs."""
    write_affect_csv(analysis.affect, out.path("affect.csv"))
    write_affect_json(
        analysis.affect, out.path("affect.json"), markers=analysis.markers, cuts=analysis.cuts
    )
    plot_affect_png(analysis.affect, out.path("affect.png"), edit=analysis.edit, cuts=analysis.cuts)


def write_affect_outputs(analysis: Analysis, out_dir: str | Path) -> dict[str, Path]:
    """affect.csv / .json / .png and a marked copy of the timeline, all or nothing."""
    with staged_outputs(out_dir) as out:
        _write_affect_files(analysis, out)
        write_marked_timeline(
            analysis.edit.source_path, out.path("affect.otio"), markers=analysis.markers
        )
        names = ("affect.csv", "affect.json", "affect.png", "affect.otio")
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
    music_options = backend_options(options)["music"]
    backend = music_backends.create(options.music_backend, **music_options)
    if options.report:  # the analyser loads in the background while the score is made
        from bridge.report import start_warm_up

        start_warm_up()
    analysis = analyze_timeline(timeline, options, progress=progress, cancel=cancel)
    request = music_request(options)
    with staged_outputs(out_dir) as out:
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
            from bridge.report import REPORT_NAME, build_report

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
