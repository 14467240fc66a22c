"""The score report: one self-contained report.html an editor can open beside score.wav.

Every number on the page comes from `bridge.eval` measuring rendered audio (ours and the
baselines of `bridge.quality.baselines`, rendered by the same composer); the only thing read from
the music plan is the section list, shown as what the composer intended.

`build_report` is what the pipeline calls; `write_report` only lays out results it is given,
and `evaluate_timeline_audio` / `evaluate_baselines` are shared with `scorebridge eval`.

What a report costs (`python -m bench.bench_engine --report-demo-only`): each WAV is read
and analysed once (the figures reuse the score's own measurement); the baselines render
side by side at the analyser's rate, without the master's own true-peak measurement; the
analyser's start-up (librosa's imports and numba kernels, all from numba's disk cache) runs
in the background during the score. On the demo the report stage takes ~0.37x the
score's CPU time and 0.22-0.37x its wall time (a core free / a shared machine).
"""

from __future__ import annotations

import base64
import contextlib
import html
import math
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bridge.eval import EvalReport
from bridge.eval.evaluate import Evaluation, evaluate_with_curves
from bridge.eval.metrics import standardise
from bridge.music import MusicRequest
from bridge.outputs import atomic_write
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.quality.baselines import BASELINES, render_baseline
from bridge.types import Analysis

REPORT_NAME = "report.html"
FIGURE_NAMES = {"affect": "report-affect.png", "alignment": "report-alignment.png"}
HIT_TOL_S = 0.05  # the ±50 ms of cut_beat_hit_rate_50ms, drawn in the alignment strip
_DPI = 150
BASELINE_SR = 22_050  # the rate bridge.eval analyses at
# The eval numbers `score_timeline` copies into ScoreResult.metrics.
MAIN_METRICS = (
    "cut_beat_hit_rate_50ms",
    "cut_beat_hit_rate_frame",
    "chord_at_cut_recall_beat",
    "arousal_pearson",
    "arousal_ccc",
    "valence_pearson",
    "length_delta_samples",
    "integrated_lufs",
    "true_peak_dbtp",
)


# ---------------------------------------------------------------- metric rows


@dataclass(frozen=True)
class MetricRow:
    """How one EvalReport field is named and shown; `better` picks the best column."""

    key: str
    label: str
    kind: str  # "percent" | "r" | "db" | "bpm" | "int" | "yes" | "float"
    better: str = ""  # "high" | "low" | "zero" | "" (no ranking)

    def format(self, value: float) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if self.kind == "percent":
            return f"{100 * value:.0f}%"
        if self.kind == "r":
            return f"{value:+.2f}"
        if self.kind == "db":
            return f"{value:.1f}"
        if self.kind == "bpm":
            return f"{value:.0f}"
        if self.kind == "int":
            return f"{value:.0f}"
        if self.kind == "yes":
            return "yes" if value else "no"
        return f"{value:.2f}"

    def best(self, values: Mapping[str, float]) -> set[str]:
        """Columns holding the best finite value (ties all win); empty when not ranked."""
        finite = {k: v for k, v in values.items() if v is not None and math.isfinite(v)}
        if not self.better or len(finite) < 2:
            return set()
        score = {
            "high": lambda v: v,
            "low": lambda v: -v,
            "zero": lambda v: -abs(v),
        }[self.better]
        top = max(score(v) for v in finite.values())
        return {k for k, v in finite.items() if score(v) == top}


METRIC_ROWS = (
    MetricRow("cut_beat_hit_rate_50ms", "Cuts on a beat (±50 ms)", "percent", "high"),
    MetricRow("cut_beat_hit_rate_frame", "Cuts on a beat (±1 frame)", "percent", "high"),
    MetricRow("chord_at_cut_recall_beat", "Cuts with a chord change (±1 beat)", "percent", "high"),
    MetricRow("chord_at_cut_recall_1s", "Cuts with a chord change (±1 s)", "percent", "high"),
    MetricRow("arousal_pearson", "Intensity follows arousal (r)", "r", "high"),
    MetricRow("arousal_ccc", "Intensity follows arousal (CCC)", "r", "high"),
    MetricRow("valence_pearson", "Mode/brightness follows valence (r)", "r", "high"),
    MetricRow("valence_ccc", "Mode/brightness follows valence (CCC)", "r", "high"),
    MetricRow("tempo_bpm", "Detected tempo (BPM)", "bpm"),
    MetricRow("n_beats", "Detected beats", "int"),
    MetricRow("cuts_counted", "Cuts counted (a beat apart)", "int"),
    MetricRow("length_delta_samples", "Length error (samples)", "int", "zero"),
    MetricRow("ends_in_last_frame", "Ends inside the last frame", "yes"),
    MetricRow("integrated_lufs", "Loudness (LUFS)", "db"),
    MetricRow("true_peak_dbtp", "True peak (dBTP)", "db"),
    MetricRow("style_max_distance", "Timbre drift (max MFCC distance)", "float", "low"),
    MetricRow("bhs", "Reference beats hit (BHS)", "percent", "high"),
    MetricRow("bcs", "Beats on the reference (BCS)", "percent", "high"),
)


def report_columns(eval_report: EvalReport | None, baselines: Mapping[str, EvalReport]):
    """(column name, report) pairs in table order: ours, the baselines, then the rest."""
    columns = [("ours", eval_report)] if eval_report is not None else []
    columns += [(name, baselines[name]) for name in BASELINES if name in baselines]
    columns += [(name, r) for name, r in baselines.items() if name not in BASELINES]
    return columns


def shown_rows(columns) -> list[MetricRow]:
    """Rows with a value in at least one column (BHS/BCS only appear with a reference)."""
    def has_value(row: MetricRow) -> bool:
        return any(math.isfinite(float(getattr(r, row.key))) for _, r in columns)

    return [row for row in METRIC_ROWS if has_value(row)]


# ---------------------------------------------------------------- evaluation


_warming: threading.Thread | None = None
_warming_lock = threading.Lock()


def start_warm_up() -> None:
    """Load the analyser in a background thread, once per process, so that the report's
    first measurement does not pay librosa's imports and numba's kernels (the pipeline
    starts it when a report is wanted, before the picture is even analysed)."""
    global _warming
    with _warming_lock:
        if _warming is None:
            _warming = threading.Thread(target=_warm_up_quietly, name="scorebridge-eval-warm-up",
                                        daemon=True)
            _warming.start()


def _warm_up_quietly() -> None:
    from bridge.eval.evaluate import warm_up

    # only a head start: the real measurement reports any error itself
    with contextlib.suppress(Exception):
        warm_up()


def evaluate_timeline_audio(
    analysis: Analysis, wav_path: str | Path, *, reference_path: str | Path | None = None
) -> EvalReport:
    """Measure any audio against this timeline's cuts, length and affect curve."""
    return _evaluate_timeline(analysis, wav_path, reference_path=reference_path).report


def _evaluate_timeline(
    analysis: Analysis, wav_path: str | Path, *, reference_path: str | Path | None = None
) -> Evaluation:
    edit = analysis.edit
    return evaluate_with_curves(
        wav_path,
        cuts_s=[c.time_s for c in analysis.cuts if not c.is_gradual],
        duration_s=edit.duration,
        frame_s=edit.frame_s,
        arousal=analysis.affect.arousal,
        valence=analysis.affect.valence,
        hop_s=analysis.affect.hop_s,
        reference_path=reference_path,
    )


def evaluate_baselines(
    analysis: Analysis,
    request: MusicRequest,
    *,
    backend: str = "symbolic",
    backend_options: Mapping[str, str] | None = None,
    reference_path: str | Path | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> dict[str, EvalReport]:
    """Render every baseline into a temporary folder, measure it, and delete the audio.

    The baselines are rendered and measured side by side (one thread each). They are
    measured, never listened to: the embedded backend renders them at the analyser's own
    rate (BASELINE_SR), which halves their synthesis and spares the resampling.
    """
    if backend == "symbolic":
        request = replace(request, sr=BASELINE_SR)
    reports = {}
    with tempfile.TemporaryDirectory(prefix="scorebridge-baselines-") as tmp, \
            ThreadPoolExecutor(max_workers=len(BASELINES)) as pool:
        cancel.raise_if_cancelled()
        progress("report", 0.1, f"rendering baselines {', '.join(BASELINES)}")
        futures = {
            pool.submit(_render_and_measure, analysis, name, Path(tmp) / name, request,
                        backend=backend, backend_options=backend_options,
                        reference_path=reference_path): name
            for name in BASELINES
        }
        try:
            for k, future in enumerate(as_completed(futures)):
                reports[futures[future]] = future.result()
                progress("report", 0.1 + 0.6 * (k + 1) / len(BASELINES),
                         f"measured baseline {futures[future]}")
                cancel.raise_if_cancelled()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return {name: reports[name] for name in BASELINES}


def _render_and_measure(analysis: Analysis, name: str, folder: Path, request: MusicRequest,
                        *, backend: str, backend_options: Mapping[str, str] | None,
                        reference_path: str | Path | None) -> EvalReport:
    wav = render_baseline(analysis, name, folder, request, backend=backend,
                          backend_options=backend_options).wav_path
    return evaluate_timeline_audio(analysis, wav, reference_path=reference_path)


def build_report(
    analysis: Analysis,
    wav_path: str | Path,
    out_path: str | Path,
    request: MusicRequest,
    plan_summary: Mapping[str, Any],
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    *,
    backend: str = "symbolic",
    backend_options: Mapping[str, str] | None = None,
) -> tuple[Path, dict[str, float]]:
    """Evaluate the score and its baselines and write report.html (figures beside it).

    Returns the report's path and the main eval numbers for ScoreResult.metrics.
    """
    out_path = Path(out_path)
    progress("report", 0.0, "measuring the rendered score")
    with ThreadPoolExecutor(max_workers=1) as pool:  # ours is measured beside the baselines
        measuring = pool.submit(_evaluate_timeline, analysis, wav_path)
        baselines = evaluate_baselines(
            analysis, request, backend=backend, backend_options=backend_options,
            progress=progress, cancel=cancel,
        )
        ours = measuring.result()
    progress("report", 0.8, "drawing the report")
    write_report(
        out_path,
        analysis=analysis,
        wav_path=Path(wav_path),
        eval_report=ours.report,
        baseline_reports=baselines,
        plan_summary=plan_summary,
        figures_dir=out_path.parent,
        # the figures show the beats and intensity the metrics were computed from
        measured=_Measured(ours.beats_s, ours.intensity) if ours.intensity is not None else None,
    )
    progress("report", 1.0, REPORT_NAME)
    numbers = ours.report.to_dict()
    return out_path, {key: numbers[key] for key in MAIN_METRICS}


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class _Measured:
    """What the figures need from the audio: detected beats and intensity per hop."""

    beats_s: np.ndarray
    intensity: np.ndarray


def _measure(analysis: Analysis, wav_path: Path) -> _Measured:
    from bridge.eval import analyse, load_audio

    audio = load_audio(wav_path)
    feats = analyse.Features(audio.y, audio.sr)
    return _Measured(
        beats_s=analyse.detect_beats(audio.y, audio.sr, feats=feats),
        intensity=analyse.intensity_curve(
            audio.y, audio.sr, hop_s=analysis.affect.hop_s, n=len(analysis.affect), feats=feats
        ),
    )


def _new_figure(width_in: float, height_in: float):
    # A bare Figure with its own Agg canvas: no pyplot, so no global state and no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _style_axes(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("0.6")
    ax.spines["bottom"].set_color("0.6")
    ax.tick_params(colors="0.3", labelsize=8)


def _shade_sections(ax, sections, *, label: bool) -> None:
    for i, s in enumerate(sections):
        if i % 2:
            ax.axvspan(s["start_s"], s["end_s"], color="#f3f1ec", lw=0, zorder=0)
        if label:
            ax.text(0.5 * (s["start_s"] + s["end_s"]), 1.02, s.get("mode", ""),
                    transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                    fontsize=7.5, color="0.4", clip_on=False)


def _affect_figure(analysis: Analysis, measured: _Measured, sections, path: Path) -> bytes:
    """Top: the target valence/arousal with cuts. Bottom: arousal vs measured intensity."""
    curve = analysis.affect
    t = curve.times_s + 0.5 * curve.hop_s
    end_s = analysis.edit.duration_s
    fig = _new_figure(11, 5.2)
    top = fig.add_axes((0.06, 0.55, 0.92, 0.36))
    bottom = fig.add_axes((0.06, 0.1, 0.92, 0.34), sharex=top)
    for ax in (top, bottom):
        _style_axes(ax)
        _shade_sections(ax, sections, label=ax is top)
        for c in analysis.cuts:
            ax.axvline(c.time_s, color="0.55", lw=0.7, ls=(0, (2, 2)), zorder=1)
        ax.axhline(0, color="0.75", lw=0.6, zorder=1)
    top.plot(t, curve.arousal, color="#c0392b", lw=2, label="arousal (picture)")
    top.plot(t, curve.valence, color="#2e6fbd", lw=2, label="valence (picture)")
    top.set_ylim(-1.05, 1.05)
    top.set_ylabel("affect", fontsize=9)
    top.legend(loc="upper left", bbox_to_anchor=(0.0, 1.22), ncol=3, fontsize=8.5,
               frameon=False)
    top.tick_params(labelbottom=False)

    # Both curves z-scored: the claim is about shape (does the music rise where the
    # picture does), which is what the Pearson r in the metrics table measures.
    bottom.plot(t, standardise(curve.arousal), color="#c0392b", lw=1.6, alpha=0.55,
                label="arousal target (z-score)")
    bottom.plot(t, standardise(measured.intensity), color="#1e8449", lw=2,
                label="music intensity, measured (z-score)")
    bottom.set_ylabel("standardised", fontsize=9)
    bottom.set_xlabel("timeline time (s)", fontsize=9)
    bottom.set_xlim(0, end_s)
    bottom.legend(loc="upper left", bbox_to_anchor=(0.0, 1.2), ncol=2, fontsize=8.5,
                  frameon=False)
    return _save_png(fig, path)


def _alignment_figure(analysis: Analysis, measured: _Measured, path: Path) -> bytes:
    """A strip per cut: detected beats as ticks, each cut green when a beat is within 50 ms."""
    from bridge.eval.metrics import nearest_distance_s

    cuts = np.array([c.time_s for c in analysis.cuts if not c.is_gradual], dtype=np.float64)
    end_s = analysis.edit.duration_s
    fig = _new_figure(11, 1.9)
    ax = fig.add_axes((0.06, 0.3, 0.92, 0.55))
    _style_axes(ax)
    ax.spines["left"].set_visible(False)
    ax.set_yticks([])
    ax.vlines(measured.beats_s, 0.0, 0.45, color="#555", lw=0.9, label="detected beat")
    hit = nearest_distance_s(cuts, measured.beats_s) <= HIT_TOL_S
    ax.vlines(cuts[hit], 0.0, 1.0, color="#1e8449", lw=2.2, label="cut on a beat (±50 ms)")
    ax.vlines(cuts[~hit], 0.0, 1.0, color="#d35400", lw=2.2, label="cut off the beat")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, end_s)
    ax.set_xlabel("timeline time (s)", fontsize=9)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, fontsize=8.5,
              frameon=False)
    return _save_png(fig, path)


def _save_png(fig, path: Path) -> bytes:
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=_DPI, facecolor="white"))
    return path.read_bytes()


# ---------------------------------------------------------------- html


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{secs:04.1f}"


def _pct(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{100 * value:.0f}%"


def _headlines(ours: EvalReport, baselines: Mapping[str, EvalReport]) -> list[tuple[str, str]]:
    """(big figure, plain-language sentence) cards for the top of the page."""
    cards = []
    if ours.cuts_counted:
        hits = round(ours.cut_beat_hit_rate_50ms * ours.cuts_counted)
        text = f"of cuts land within 50 ms of a beat ({hits} of {ours.cuts_counted})."
        if "constant-tempo" in baselines:
            text += (" Music at a steady tempo would catch "
                     f"{_pct(baselines['constant-tempo'].cut_beat_hit_rate_50ms)}.")
        cards.append((_pct(ours.cut_beat_hit_rate_50ms), text))
    if math.isfinite(ours.chord_at_cut_recall_beat):
        cards.append((_pct(ours.chord_at_cut_recall_beat),
                      "of cuts get a chord change within one beat."))
    if math.isfinite(ours.arousal_pearson):
        text = (f"The music's measured intensity rises and falls with the picture's "
                f"arousal (r = {ours.arousal_pearson:+.2f}; 1 = in lock-step).")
        if "flat-affect" in baselines:
            text += (" Music that ignores the emotional arc scores "
                     f"{baselines['flat-affect'].arousal_pearson:+.2f}.")
        cards.append((f"r {ours.arousal_pearson:+.2f}", text))
    delta = int(ours.length_delta_samples)
    length_text = ("The audio is exactly as long as the timeline" if delta == 0
                   else f"The audio is {abs(delta)} samples {'long' if delta > 0 else 'short'}")
    cards.append((
        f"{ours.integrated_lufs:.1f} LUFS",
        f"{length_text}; loudness {ours.integrated_lufs:.1f} LUFS, "
        f"true peak {ours.true_peak_dbtp:.1f} dBTP.",
    ))
    return cards


def _metrics_table(columns) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name, _ in columns)
    body = []
    for row in shown_rows(columns):
        values = {name: float(getattr(r, row.key)) for name, r in columns}
        best = row.best(values)
        cells = "".join(
            f'<td class="{"best" if name in best else ""}">{row.format(values[name])}</td>'
            for name, _ in columns
        )
        body.append(f'<tr><th scope="row">{html.escape(row.label)}</th>{cells}</tr>')
    return (f'<table class="metrics" id="metrics"><thead><tr><th>metric</th>{head}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table>')


def _sections_table(plan_summary: Mapping[str, Any]) -> str:
    sections = plan_summary.get("sections") or []
    if not sections:
        return "<p>No section plan was recorded for this score.</p>"
    # One tonic for the whole piece; each section keeps it and chooses its own mode.
    tonic = str(plan_summary.get("key", "")).split(" ")[0]
    rows = []
    for i, s in enumerate(sections, start=1):
        key = f"{tonic} {s.get('mode', '')}".strip()
        rows.append(
            f"<tr><td>{i}</td><td>{_clock(s['start_s'])} – {_clock(s['end_s'])}</td>"
            f"<td>{s['end_s'] - s['start_s']:.1f} s</td>"
            f"<td>{html.escape(key)}</td>"
            f"<td>{s.get('arousal', float('nan')):+.2f}</td>"
            f"<td>{s.get('valence', float('nan')):+.2f}</td></tr>"
        )
    return ('<table class="sections"><thead><tr><th>#</th><th>time</th><th>length</th>'
            '<th>key</th><th>arousal</th><th>valence</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _plan_line(plan_summary: Mapping[str, Any]) -> str:
    parts = []
    if plan_summary.get("key"):
        parts.append(f"key {plan_summary['key']}")
    tempo = plan_summary.get("tempo_bpm")
    if isinstance(tempo, Mapping):
        parts.append(f"tempo {tempo.get('min', 0):.0f}–{tempo.get('max', 0):.0f} BPM "
                     f"(mean {tempo.get('mean', 0):.0f})")
    if "anchored_cuts" in plan_summary:
        total = plan_summary["anchored_cuts"] + plan_summary.get("skipped_cuts", 0)
        parts.append(f"{plan_summary['anchored_cuts']} of {total} cuts anchored to a beat")
    return " · ".join(html.escape(p) for p in parts)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f5f2;color:#222;font:15px/1.5 -apple-system,"Segoe UI",
 Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:32px 28px 56px}
header h1{margin:0 0 4px;font-size:28px;font-weight:650;letter-spacing:-.01em}
.meta{color:#666;margin:0 0 18px}
.meta span+span:before{content:"·";margin:0 8px;color:#aaa}
audio{width:100%;margin:4px 0 24px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:14px;
 margin-bottom:28px}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 3px #0001}
.card b{display:block;font-size:26px;font-weight:650;color:#1e6b40;margin-bottom:4px}
.card p{margin:0;color:#444;font-size:14px}
section{background:#fff;border-radius:10px;padding:20px 22px;margin-bottom:22px;
 box-shadow:0 1px 3px #0001}
section h2{margin:0 0 6px;font-size:18px;font-weight:620}
.caption{color:#555;margin:0 0 12px;font-size:14px}
figure{margin:0}
figure img{width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:7px 10px;border-bottom:1px solid #eceae5;text-align:right;
 font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}
thead th{color:#555;font-weight:600;border-bottom:2px solid #d9d6cf;white-space:nowrap}
tbody th{font-weight:500}
td.best{font-weight:700;color:#1e6b40}
table.sections{width:auto;min-width:60%}
table.sections td:nth-child(4),table.sections th:nth-child(4){text-align:left}
table.metrics td:nth-child(2),table.metrics thead th:nth-child(2){background:#f1f8f3}
footer{color:#888;font-size:12.5px;margin-top:8px}
"""


def write_report(
    out_path: Path,
    *,
    analysis: Analysis,
    wav_path: Path,
    eval_report: EvalReport,
    baseline_reports: dict[str, EvalReport],
    plan_summary: dict,
    figures_dir: Path,
    measured: _Measured | None = None,
) -> Path:
    """Write report.html with its figures as inline PNGs, and the PNGs into `figures_dir`.

    The figures' beats and intensity are measured from `wav_path` unless given.
    """
    out_path = Path(out_path)
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    edit = analysis.edit
    sections = list(plan_summary.get("sections") or [])
    if measured is None:
        measured = _measure(analysis, Path(wav_path))
    affect_png = _affect_figure(analysis, measured, sections,
                                figures_dir / FIGURE_NAMES["affect"])
    alignment_png = _alignment_figure(analysis, measured, figures_dir / FIGURE_NAMES["alignment"])

    columns = report_columns(eval_report, baseline_reports)
    cards = "".join(
        f'<div class="card"><b>{html.escape(big)}</b><p>{html.escape(text)}</p></div>'
        for big, text in _headlines(eval_report, baseline_reports)
    )
    hits = _pct(eval_report.cut_beat_hit_rate_50ms)
    style = plan_summary.get("style") or analysis.style.name
    meta = "".join(f"<span>{html.escape(item)}</span>" for item in (
        f"{_clock(edit.duration_s)} ({edit.duration_frames} frames at {float(edit.rate):.3f} fps)",
        f"style {style}",
        f"{len(analysis.cuts)} cuts",
        f"{len(edit.shots)} shots",
    ))
    title = f"Score report — {edit.name}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body><main>
<header><h1>{html.escape(title)}</h1><p class="meta">{meta}</p></header>
<audio controls preload="metadata" src="{html.escape(Path(wav_path).name)}"></audio>
<div class="cards">{cards}</div>
<section><h2>Picture and music</h2>
<p class="caption">Top: the emotional curve read from the picture (dashed lines are cuts,
shaded bands the composer's sections, labelled with their mode). Bottom: the music's
intensity measured from the rendered audio (loudness and note density) against the
arousal it was asked to follow.</p>
<figure><img alt="affect curve and measured music intensity" src="{_data_uri(affect_png)}">
</figure></section>
<section><h2>Cuts and beats</h2>
<p class="caption">{hits} of the cuts land within 50 ms of a beat detected in the audio.
Green cuts are on a beat, orange ones are not; grey ticks are the detected beats.</p>
<figure><img alt="cut and beat alignment" src="{_data_uri(alignment_png)}"></figure>
</section>
<section><h2>Section plan</h2>
<p class="caption">{_plan_line(plan_summary)}</p>
{_sections_table(plan_summary)}</section>
<section><h2>Quality measures</h2>
<p class="caption">Measured on the audio by an independent analyser. The baselines are
rendered by the same composer with information taken away: <em>constant-tempo</em> ignores
the cuts and the emotional arc, <em>flat-affect</em> keeps the cuts but ignores the arc.
The best value in each row is in bold.</p>
{_metrics_table(columns)}</section>
<footer>Written by Scorebridge on {datetime.now():%Y-%m-%d %H:%M} from
{html.escape(edit.source_path.name)}.</footer>
</main></body></html>
"""
    return atomic_write(out_path, lambda f: f.write(page.encode("utf-8")))
