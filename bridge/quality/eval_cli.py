"""`scorebridge eval`: measure a rendered score beside the baselines, from the audio alone.

The timeline is analysed again (cuts, affect curve) to get the references; the score's
music plan is never read. The baselines are rendered by the same composer into a
temporary folder that is removed afterwards. This lives outside `bridge.eval` because it
renders baselines, and `bridge.eval` must not import the composer.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.config import ScoreOptions
from bridge.shell import add_backend_arguments, backend_option_changes, progress_bars

if TYPE_CHECKING:  # bridge.eval imports librosa: too slow for every CLI start
    from bridge.eval import EvalReport

REFERENCE = "reference"


def add_command(subparsers) -> argparse.ArgumentParser:
    """Register ``eval`` on the CLI's subparsers."""
    help_text = "measure a rendered score against its timeline and the baselines"
    p = subparsers.add_parser("eval", help=help_text, description=help_text)
    p.add_argument("timeline", help="the timeline the score was made for")
    p.add_argument("score", type=Path, help="the rendered score (WAV)")
    p.add_argument("--reference", type=Path,
                   help="a reference track (e.g. the temp music): measured as a column of "
                        "its own, and every score's beats are compared with its beats")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write every number as JSON")
    p.add_argument("--baselines", action=argparse.BooleanOptionalAction, default=True,
                   help="render and measure the constant-tempo and flat-affect baselines")
    p.add_argument("--seed", type=int, default=0, help="seed for the baselines (default 0)")
    p.add_argument("--style", help="style preset for analysis and baselines")
    add_backend_arguments(p)  # the baselines render with the backend the score used
    p.set_defaults(func=cmd_eval)
    return p


def measure_all(
    timeline: str | Path,
    score: str | Path,
    *,
    reference: str | Path | None = None,
    baselines: bool = True,
    options: ScoreOptions = ScoreOptions(),
    progress=None,
) -> tuple[object, dict[str, EvalReport]]:
    """(analysis, reports by column): ours, the baselines, and the reference if given."""
    from bridge.pipeline import analyze_timeline, backend_options, music_request
    from bridge.progress import no_progress
    from bridge.quality.report import evaluate_baselines, evaluate_timeline_audio

    progress = progress or no_progress
    analysis = analyze_timeline(timeline, options, progress=progress)
    progress("report", 0.0, f"measuring {Path(score).name}")
    reports = {"ours": evaluate_timeline_audio(analysis, score, reference_path=reference)}
    if baselines:
        reports.update(evaluate_baselines(
            analysis, music_request(options), backend=options.music_backend,
            backend_options=backend_options(options)["music"], reference_path=reference,
            progress=progress,
        ))
    if reference is not None:
        # Beat hit/coverage of the reference against itself would be 1 by construction,
        # so its own column leaves BHS/BCS out.
        reports[REFERENCE] = evaluate_timeline_audio(analysis, reference)
    progress("report", 1.0, "done")
    return analysis, reports


def reports_json(analysis, reports: dict[str, EvalReport], *, score: Path,
                 reference: Path | None) -> dict:
    """Every number, nan as null (JSON has no nan)."""
    def clean(value: float):
        return None if isinstance(value, float) and not math.isfinite(value) else value

    edit = analysis.edit
    return {
        "timeline": str(edit.source_path),
        "score": str(score),
        "reference": str(reference) if reference is not None else None,
        "duration_s": edit.duration_s,
        "cuts_s": [c.time_s for c in analysis.cuts],
        "columns": list(reports),
        "reports": {
            name: {k: clean(v) for k, v in r.to_dict().items()} for name, r in reports.items()
        },
    }


def print_table(reports: dict[str, EvalReport], *, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from bridge.quality.report import shown_rows

    console = Console()
    if not console.is_terminal:
        # Piped output has no terminal width; keep a whole row on one line.
        console.width = max(console.width, 120)
    table = Table(title=title, title_justify="left")
    table.add_column("metric", no_wrap=True)
    for name in reports:
        table.add_column(name, justify="right", no_wrap=True)
    columns = list(reports.items())
    for row in shown_rows(columns):
        values = {name: float(getattr(r, row.key)) for name, r in columns}
        best = row.best(values)
        cells = [
            f"[bold green]{row.format(v)}[/]" if name in best else row.format(v)
            for name, v in values.items()
        ]
        table.add_row(row.label, *cells)
    console.print(table)


def cmd_eval(args: argparse.Namespace) -> int:
    from bridge.outputs import staged_outputs

    options = ScoreOptions(style=args.style, seed=args.seed).with_(**backend_option_changes(args))
    with progress_bars(not args.quiet) as progress:
        analysis, reports = measure_all(
            args.timeline, args.score, reference=args.reference, baselines=args.baselines,
            options=options, progress=progress,
        )
    edit = analysis.edit
    print_table(reports, title=f"{edit.name}: {edit.duration_s:.1f} s, "
                               f"{len(analysis.cuts)} cuts, style {analysis.style.name}")
    if args.json:
        target = args.json.expanduser()
        doc = reports_json(analysis, reports, score=args.score, reference=args.reference)
        with staged_outputs(target.parent, [target.name]) as out:
            out.path(target.name).write_text(json.dumps(doc, indent=2))
        print(f"wrote {out.final(target.name)}")
    return 0
