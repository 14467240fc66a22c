"""`scorebridge` command line: analyze, affect, score, eval, serve, backends, doctor,
train-probe.

Bad input exits with status 2 and one line naming the file and the problem; `--debug`
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bridge import __version__
from bridge.config import CUT_DETECTORS, ScoreOptions
from bridge.errors import BridgeError
from bridge.shell import add_backend_arguments, backend_option_changes, progress_bars

EXIT_BAD_INPUT = 2


# ---------------------------------------------------------------- commands


def _options(args: argparse.Namespace) -> ScoreOptions:
    changes = {}
    for name in ("style", "seed", "stems", "duck_db", "markers", "soundfont", "report",
                 "overwrite", "timeline_name", "timeline_rate"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "no_detect", False):
        changes["detect_cuts"] = False
    if getattr(args, "cuts", None):
        changes["cut_detector"] = args.cuts
    if getattr(args, "no_cache", False):
        changes["cache"] = False
    if getattr(args, "fresh", False):
        changes["fresh"] = True
    changes.update(backend_option_changes(args))
    return ScoreOptions().with_(**changes)  # validated once, where the job runs


def cmd_analyze(args: argparse.Namespace) -> int:
    from bridge.pipeline import analyze_timeline

    with progress_bars(not args.quiet) as progress:
        analysis = analyze_timeline(args.timeline, _options(args), progress=progress)
    edit, cuts = analysis.edit, analysis.cuts
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
            {"time_s": round(c.time_s, 6), "kind": c.kind, "strength": round(c.strength, 3),
             **({"start_s": round(c.start_s, 6), "end_s": round(c.end_s, 6)}
                if c.is_gradual else {})}
            for c in cuts
        ],
        "warnings": list(analysis.warnings),
    }
    print(f"{edit.name}: {edit.duration_s:.2f} s at {float(edit.rate):.3f} fps "
          f"(start {edit.start_timecode}), {len(edit.shots)} shots, {len(cuts)} cuts")
    for cut in cuts:
        if cut.is_gradual:
            print(f"  {cut.kind:<4} {cut.start_s:9.3f} s .. {cut.end_s:.3f} s (soft boundary)")
        else:
            print(f"  cut {cut.time_s:9.3f} s  {cut.kind:<8} strength {cut.strength:.2f}")
    for warning in analysis.warnings:
        print(f"  warning: {warning}")
    if args.json:
        from bridge.outputs import staged_outputs

        target = Path(args.json)
        with staged_outputs(target.parent, [target.name]) as out:
            out.path(target.name).write_text(json.dumps(summary, indent=2))
        print(f"wrote {out.final(target.name)}")
    return 0


def cmd_affect(args: argparse.Namespace) -> int:
    from bridge.pipeline import analyze_timeline, write_affect_outputs

    options = _options(args)
    with progress_bars(not args.quiet) as progress:
        # an affect curve of nothing seen is no curve: refused, as a score is
        analysis = analyze_timeline(args.timeline, options, progress=progress,
                                    require_picture=True)
    paths = write_affect_outputs(analysis, args.out, overwrite=options.overwrite)
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
        from bridge.client import score_via_server

        with progress_bars(not args.quiet) as progress:
            result = score_via_server(args.server, args.timeline, args.out, options, progress,
                                      token_file=getattr(args, "token_file", None),
                                      tls_ca=getattr(args, "tls_ca", None),
                                      tls_pin=getattr(args, "tls_pin", None))
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
    rescored = summary.get("rescore")
    if rescored:
        print(f"re-score after a recut ({rescored['diff']}): kept {rescored['kept_s']:.1f} s, "
              f"rendered {rescored['rendered_s']:.1f} s again")
        for piece in rescored["pieces"]:
            shift = f" (moved {piece['shift_s']:+.2f} s)" if piece["kind"] == "shifted" else ""
            print(f"  {piece['start_s']:9.2f}-{piece['end_s']:.2f} s  {piece['kind']}{shift}")
    for name, value in result.metrics.items():
        print(f"  {name}: {value:.3f}")
    for warning in result.analysis.warnings:
        print(f"  warning: {warning}")
    written = [result.wav_path, result.midi_path, result.otio_path, result.affect_png]
    written = [path for path in written if path is not None]  # no MIDI from an audio backend
    written += [*result.stem_paths.values(),
                *filter(None, [result.report_path, result.manifest_path])]
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    import time

    from bridge.pipeline import score_timeline
    from bridge.watch import FolderWatcher

    options = _options(args)

    def report(event: str, path: Path, message: str) -> None:
        where = FolderWatcher.out_dir_for(path)
        line = {"scoring": f"scoring {path.name}", "scored": f"scored {path.name} -> {where}",
                "failed": f"failed {path.name}: {message}"}[event]
        print(line, flush=True)

    watcher = FolderWatcher(Path(args.folder), lambda t, out: score_timeline(t, out, options),
                            report, settle_s=args.settle)
    print(f"watching {watcher.folder} for timeline exports (Ctrl-C stops)", flush=True)
    with watcher:
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped watching", flush=True)
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from bridge.cache import AnalysisCache

    cache = AnalysisCache()
    if args.action == "clear":
        print(f"removed {cache.clear()} entries from {cache.root}")
        return 0
    info = cache.info()
    print(f"analysis cache {info.root}: {info.entries} entries, "
          f"{info.bytes / 1e6:.1f} MB of {info.max_bytes / 1e6:.0f} MB "
          "(SCOREBRIDGE_CACHE_DIR, SCOREBRIDGE_CACHE_MAX_MB)")
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


def _add_client_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        from bridge.server.commands import add_client_arguments
    except ImportError:  # no grpc here: only --server is known, and it will say why
        parser.add_argument("--server", metavar="ADDR", help="use a running bridge")
        return
    add_client_arguments(parser)


def add_cuts_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cuts", choices=CUT_DETECTORS,
                   help="detector for cuts inside shots: signal (colour histograms, default) "
                        "or transnet (TransNetV2; needs the neural extra)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scorebridge",
        description="Score an edited timeline with music that follows its picture.",
    )
    parser.add_argument("--version", action="version", version=f"scorebridge {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def add_reading_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--timeline", dest="timeline_name", metavar="NAME",
                       help="the project to read from an FCPXML library or event")
        p.add_argument("--rate", dest="timeline_rate", metavar="FPS",
                       help="frame rate, e.g. 25 or 24000/1001 (an EDL has none: by default "
                            "it is inferred from the timecodes)")

    p = add("analyze", cmd_analyze, "read a timeline and print its shots and cuts")
    p.add_argument("timeline", help=".otio .otioz .otiod .xml .fcpxml .edl")
    p.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    p.add_argument("--no-detect", action="store_true", help="edit points only; no detection")
    add_reading_options(p)
    add_cuts_argument(p)

    def add_analysis_options(p: argparse.ArgumentParser, *, music: bool) -> None:
        add_reading_options(p)
        p.add_argument("--style", help="style preset (default: chosen from the affect curve)")
        p.add_argument("--markers", help="sections | peaks | every:N (default sections)")
        p.add_argument("--no-detect", action="store_true", help="edit points only; no detection")
        p.add_argument("--overwrite", action="store_true", default=None,
                       help="replace the folder's latest result (only files it wrote) instead "
                            "of writing the next version (score.v2.wav ...)")
        add_cuts_argument(p)
        p.add_argument("--no-cache", action="store_true",
                       help="measure every shot again instead of reusing the analysis cache")
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
    _add_client_arguments(p)
    p.add_argument("--fresh", action="store_true",
                   help="compose anew; by default a folder with an earlier version is re-scored, "
                        "keeping the music of what the recut did not touch")

    p = add("watch", cmd_watch, "re-score every timeline exported into a folder, as it lands")
    p.add_argument("folder")
    add_analysis_options(p, music=True)
    p.add_argument("--seed", type=int, help="another take (default 0)")
    p.add_argument("--settle", type=float, default=2.0,
                   help="seconds a file must stay unchanged before it is scored (default 2)")

    p = add("cache", cmd_cache, "show or clear the analysis cache")
    p.add_argument("action", choices=("info", "clear"))

    add("backends", cmd_backends, "list affect estimators and music backends, and what is missing")

    from bridge.batch import add_command as add_batch
    from bridge.doctor import add_command as add_doctor
    from bridge.install_premiere import add_command as add_install_premiere
    from bridge.install_resolve import add_command as add_install_resolve
    from bridge.quality.eval_cli import add_command as add_eval
    from bridge.train_cli import add_commands as add_training

    add_install_resolve(sub)
    add_install_premiere(sub)
    add_doctor(sub)
    add_eval(sub)
    add_training(sub)
    add_batch(sub)
    try:
        from bridge.server.commands import add_commands
    except ImportError:  # the server package is optional at import time (e.g. grpc missing)
        pass
    else:
        add_commands(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: staged outputs are removed and a remote job cancelled."""


def _on_sigterm(_signum, _frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)  # `serve` installs its own while it runs
    try:
        return args.func(args)
    except BridgeError as err:
        if args.debug:
            raise
        print(f"scorebridge: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Terminated:
        print("scorebridge: terminated; nothing was written", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("scorebridge: interrupted", file=sys.stderr)
        return 130
