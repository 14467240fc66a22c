"""`scorebridge` command line: analyze, affect, score, eval, serve, backends.

Bad input exits with status 2 and one line naming the file and the problem; `--debug`
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from bridge.config import ScoreOptions
from bridge.errors import BridgeError
from bridge.shell import add_backend_arguments, backend_option_changes, progress_bars

EXIT_BAD_INPUT = 2


# ---------------------------------------------------------------- commands


def _options(args: argparse.Namespace) -> ScoreOptions:
    changes = {}
    for name in ("style", "seed", "stems", "duck_db", "markers", "soundfont", "report"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "no_detect", False):
        changes["detect_cuts"] = False
    changes.update(backend_option_changes(args))
    return ScoreOptions().with_(**changes).validated()


def cmd_analyze(args: argparse.Namespace) -> int:
    from bridge.cuts import find_cuts
    from bridge.timeline import read_edit

    edit = read_edit(args.timeline)
    with progress_bars(not args.quiet) as progress:
        cuts = find_cuts(edit, detect_inside=not args.no_detect, progress=progress)
    summary = {
        "timeline": str(edit.source_path),
        "name": edit.name,
        "rate": f"{edit.rate.numerator}/{edit.rate.denominator}",
        "drop_frame": edit.drop_frame,
        "start_timecode": edit.start_timecode,
        "duration_s": round(edit.duration_s, 6),
        "duration_frames": edit.duration_frames,
        "shots": [
            {
                "name": s.name,
                "record_start_s": round(s.record_start_s, 6),
                "record_end_s": round(s.record_end_s, 6),
                "media": str(s.media_path) if s.media_path else None,
                "media_start_s": round(s.media_start_s, 6),
                "media_missing": s.media_missing,
            }
            for s in edit.shots
        ],
        "cuts": [
            {"time_s": round(c.time_s, 6), "kind": c.kind, "strength": round(c.strength, 3)}
            for c in cuts
        ],
        "warnings": list(edit.warnings),
    }
    print(f"{edit.name}: {edit.duration_s:.2f} s at {float(edit.rate):.3f} fps "
          f"(start {edit.start_timecode}), {len(edit.shots)} shots, {len(cuts)} cuts")
    for cut in cuts:
        print(f"  cut {cut.time_s:9.3f} s  {cut.kind:<8} strength {cut.strength:.2f}")
    for warning in edit.warnings:
        print(f"  warning: {warning}")
    if args.json:
        from bridge.outputs import staged_outputs

        target = Path(args.json)
        with staged_outputs(target.parent) as out:
            out.path(target.name).write_text(json.dumps(summary, indent=2))
        print(f"wrote {target}")
    return 0


def cmd_affect(args: argparse.Namespace) -> int:
    from bridge.pipeline import analyze_timeline, write_affect_outputs

    options = _options(args)
    with progress_bars(not args.quiet) as progress:
        analysis = analyze_timeline(args.timeline, options, progress=progress)
    paths = write_affect_outputs(analysis, args.out)
    curve = analysis.affect
    print(f"affect: {len(curve)} values every {curve.hop_s:g} s, style {analysis.style.name}, "
          f"{len(analysis.markers)} markers")
    for marker in analysis.markers:
        print(f"  {marker.start_s:8.2f} s  {marker.name:<16} {marker.color}")
    for warning in analysis.warnings:
        print(f"  warning: {warning}")
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    options = _options(args)
    if args.server:
        from bridge.server.commands import score_via_server

        with progress_bars(not args.quiet) as progress:
            result = score_via_server(args.server, args.timeline, args.out, options, progress)
        print(json.dumps(result, indent=2))
        return 0

    from bridge.pipeline import score_timeline

    with progress_bars(not args.quiet) as progress:
        result = score_timeline(args.timeline, args.out, options, progress=progress)
    summary = result.plan_summary
    line = f"style {result.analysis.style.name}"
    if "key" in summary:
        line += f", key of {summary['key']}"
    tempo = summary.get("tempo_bpm")
    if tempo:
        line += f", {tempo['min']:.0f}–{tempo['max']:.0f} BPM"
    if "anchored_cuts" in summary:
        line += f", {summary['anchored_cuts']} cuts on beats ({summary['skipped_cuts']} not forced)"
    print(line)
    for name, value in result.metrics.items():
        print(f"  {name}: {value:.3f}")
    for warning in result.analysis.warnings:
        print(f"  warning: {warning}")
    written = [result.wav_path, result.midi_path, result.otio_path, result.affect_png]
    written = [path for path in written if path is not None]  # no MIDI from an audio backend
    written += [*result.stem_paths.values(), *filter(None, [result.report_path])]
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    from bridge.pipeline import list_backends

    for kind, entries in list_backends().items():
        for entry in entries:
            state = "available" if entry.available else f"unavailable: {entry.reason}"
            print(f"{kind:<7} {entry.name:<12} {state}")
            for spec in entry.options:
                default = f" (default {spec.default_text()})" if spec.default is not None else ""
                print(f"{'':<7}   --backend-opt {spec.name}=...  {spec.description}{default}")
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scorebridge",
        description="Score an edited timeline with music that follows its picture.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("analyze", cmd_analyze, "read a timeline and print its shots and cuts")
    p.add_argument("timeline", help=".otio .otioz .otiod .xml .fcpxml .edl")
    p.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    p.add_argument("--no-detect", action="store_true", help="edit points only; no detection")

    def add_analysis_options(p: argparse.ArgumentParser, *, music: bool) -> None:
        p.add_argument("--style", help="style preset (default: chosen from the affect curve)")
        p.add_argument("--markers", help="sections | peaks | every:N (default sections)")
        p.add_argument("--no-detect", action="store_true", help="edit points only; no detection")
        add_backend_arguments(p, music=music)

    p = add("affect", cmd_affect, "estimate the affect curve; write CSV, JSON, PNG and marked OTIO")
    p.add_argument("timeline")
    p.add_argument("-o", "--out", required=True, help="output folder")
    add_analysis_options(p, music=False)

    p = add("score", cmd_score, "compose and render a soundtrack for a timeline")
    p.add_argument("timeline")
    p.add_argument("-o", "--out", required=True, help="output folder")
    add_analysis_options(p, music=True)
    p.add_argument("--seed", type=int, help="another take of the same plan (default 0)")
    p.add_argument("--stems", action="store_true", default=None, help="also write one WAV per role")
    p.add_argument("--duck", dest="duck_db", type=float, help="lower music under dialogue by DB")
    p.add_argument("--soundfont", type=Path, help=".sf2/.sf3 file (default: system GM SoundFont)")
    p.add_argument("--report", action="store_true", default=None, help="write report.html")
    p.add_argument("--server", metavar="ADDR", help="use a running bridge, e.g. 127.0.0.1:50051")

    add("backends", cmd_backends, "list affect estimators and music backends, and what is missing")

    from bridge.eval_cli import add_command as add_eval
    from bridge.install_resolve import add_command as add_install_resolve

    add_install_resolve(sub)
    add_eval(sub)
    try:
        from bridge.server.commands import add_commands
    except ImportError:  # the server package is optional at import time (e.g. grpc missing)
        pass
    else:
        add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BridgeError as err:
        if args.debug:
            raise
        print(f"scorebridge: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("scorebridge: interrupted", file=sys.stderr)
        return 130
