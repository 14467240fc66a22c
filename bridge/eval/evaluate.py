"""`evaluate`: every quality measure of one rendered file against its timeline.

References are the timeline's cut times, its length and frame duration, and the target
affect curve; the music plan is never read, only the audio.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, fields
from fractions import Fraction
from pathlib import Path

import numpy as np

from bridge.eval import analyse, audio_io, metrics
from bridge.eval.level import loudness
from bridge.types import samples_for

NAN = float("nan")
# Targets that vary less than this (in VA units) have no shape to follow.
TARGET_MIN_STD = 0.05


@dataclass(frozen=True)
class EvalReport:
    """All measures; nan where one does not apply (no cuts, no target, no reference)."""

    duration_s: float
    analysis_s: float  # wall time of `evaluate`
    n_cuts: int
    n_beats: int
    tempo_bpm: float  # 60 / median beat period
    cuts_counted: int  # cuts at least one beat from their neighbours
    cut_beat_hit_rate_frame: float  # within ±1 video frame
    cut_beat_hit_rate_50ms: float
    chord_at_cut_recall_beat: float  # harmonic change within ±1 beat
    chord_at_cut_precision_beat: float
    chord_at_cut_recall_1s: float  # EMSYNC's ±1 s
    chord_at_cut_precision_1s: float
    arousal_pearson: float
    arousal_ccc: float
    valence_pearson: float
    valence_ccc: float
    length_delta_samples: int
    ends_in_last_frame: bool
    integrated_lufs: float
    true_peak_dbtp: float
    style_max_distance: float
    style_mean_distance: float
    style_drift_slope: float  # MFCC distance units per minute
    bhs: float
    bcs: float

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limit = None  # threadpoolctl's handle while any measurement runs


@contextlib.contextmanager
def one_blas_thread():
    """Hold numpy's and scipy's BLAS to one thread while measurements run.

    The analyser's matrix products are small (mel and chroma filter banks), and OpenBLAS's
    second thread spins between them: a measurement took 25 % more CPU for no gain in
    wall time, and a report measures three files side by side anyway. BLAS threads are
    a process-wide setting, so the first measurement to start sets it and the last one to
    end puts it back (other work running meanwhile also gets one BLAS thread; the score's
    own BLAS use, the cut detector's ~1300-element dot products, is single-threaded at any
    setting). A product's rounding depends on how it is split between threads, so the
    measures move in their last digits: on the demo, valence r by 1e-9 and the MFCC
    distance by 5e-8 of itself; every other number is the same to the last bit.
    """
    global _blas_users, _blas_limit
    with _blas_lock:
        if _blas_users == 0:
            from threadpoolctl import ThreadpoolController

            # the OpenBLAS numpy and scipy brought, not one that torch (say) carries
            controller = ThreadpoolController()
            theirs = [lib["filepath"] for lib in controller.info()
                      if lib["internal_api"] == "openblas"
                      and ("numpy" in lib["filepath"] or "scipy" in lib["filepath"])]
            _blas_limit = controller.select(filepath=theirs).limit(limits=1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limit.restore_original_limits()
                _blas_limit = None


def _follow(target, measured: np.ndarray) -> tuple[float, float]:
    """(Pearson, CCC) of a target curve against a measured, floor-standardised one.

    CCC compares the z-scored target with the measured curve as `analyse` returns it
    (each component standardised with a just-noticeable floor): it equals r when the
    music clearly moves with the target and falls when it moves by too little.
    """
    t = np.asarray(target, dtype=np.float64)
    return (
        metrics.pearson(t, measured),
        metrics.ccc(metrics.standardise(t, min_std=TARGET_MIN_STD), measured),
    )


@dataclass(frozen=True, eq=False)
class Evaluation:
    """An `EvalReport` plus the curves behind it, for figures that show what was measured."""

    report: EvalReport
    beats_s: np.ndarray  # detected beat times
    intensity: np.ndarray | None  # per hop, as compared with arousal; None without arousal


def evaluate(
    audio_path: str | Path,
    *,
    cuts_s,
    duration_s: float | Fraction,
    frame_s: float,
    arousal=None,
    valence=None,
    hop_s: float = 1.0,
    reference_path: str | Path | None = None,
    sr: int = 22050,
    style_window_s: float = 30.0,
) -> EvalReport:
    """Measure a rendered soundtrack against its timeline (see DESIGN "Quality measures")."""
    return evaluate_with_curves(
        audio_path, cuts_s=cuts_s, duration_s=duration_s, frame_s=frame_s, arousal=arousal,
        valence=valence, hop_s=hop_s, reference_path=reference_path, sr=sr,
        style_window_s=style_window_s,
    ).report


def evaluate_with_curves(
    audio_path: str | Path,
    *,
    cuts_s,
    duration_s: float | Fraction,
    frame_s: float,
    arousal=None,
    valence=None,
    hop_s: float = 1.0,
    reference_path: str | Path | None = None,
    sr: int = 22050,
    style_window_s: float = 30.0,
) -> Evaluation:
    """`evaluate`, keeping the detected beats and the intensity curve."""
    with one_blas_thread():
        return _evaluate_with_curves(
            audio_path, cuts_s=cuts_s, duration_s=duration_s, frame_s=frame_s,
            arousal=arousal, valence=valence, hop_s=hop_s, reference_path=reference_path,
            sr=sr, style_window_s=style_window_s,
        )


def _evaluate_with_curves(
    audio_path: str | Path,
    *,
    cuts_s,
    duration_s: float | Fraction,
    frame_s: float,
    arousal,
    valence,
    hop_s: float,
    reference_path: str | Path | None,
    sr: int,
    style_window_s: float,
) -> Evaluation:
    t0 = time.perf_counter()
    data, native_sr = audio_io.read_native(audio_path)
    loud = loudness(data, native_sr)
    expected = samples_for(duration_s, native_sr)
    tail_n = min(data.shape[0], max(native_sr, 4 * round(frame_s * native_sr)))
    tail = audio_io.to_mono(data[data.shape[0] - tail_n :])
    length = metrics.length_check(
        data.shape[0], native_sr, expected_samples=expected, frame_s=frame_s, y_tail=tail
    )
    audio = audio_io.loaded_from(data, native_sr=native_sr, sr=sr)
    del data, tail

    y = audio.y
    feats = analyse.Features(y, sr)
    beats = analyse.detect_beats(y, sr, feats=feats)
    period = metrics.median_period_s(beats)
    cuts = np.asarray(cuts_s, dtype=np.float64).ravel()
    cuts = cuts[(cuts > 0) & (cuts < float(duration_s))]  # the start and the end are no cuts

    hit_frame = metrics.cut_beat_hit_rate(cuts, beats, tol_s=frame_s)
    hit_50 = metrics.cut_beat_hit_rate(cuts, beats, tol_s=0.05)
    changes = analyse.harmonic_changes(y, sr, feats=feats)
    chord_beat = (
        metrics.chord_at_cut(cuts, changes, tol_s=period)
        if not np.isnan(period)
        else metrics.ChordAtCut(recall=NAN, precision=NAN)
    )
    chord_1s = metrics.chord_at_cut(cuts, changes, tol_s=1.0)

    ar_r = ar_c = va_r = va_c = NAN
    intensity = None
    if arousal is not None and len(arousal) >= 2:
        intensity = analyse.intensity_curve(y, sr, hop_s=hop_s, n=len(arousal), feats=feats)
        ar_r, ar_c = _follow(arousal, intensity)
    if valence is not None and len(valence) >= 2:
        measured = analyse.valence_proxy_curve(y, sr, hop_s=hop_s, n=len(valence), feats=feats)
        va_r, va_c = _follow(valence, measured)

    style = analyse.style_stability(y, sr, window_s=style_window_s, feats=feats)

    bhs = bcs = NAN
    if reference_path is not None:
        ref = audio_io.load_audio(reference_path, sr=sr)
        bhs, bcs = metrics.beat_hit_coverage(beats, analyse.detect_beats(ref.y, sr))

    report = EvalReport(
        duration_s=audio.native_duration_s,
        analysis_s=time.perf_counter() - t0,
        n_cuts=int(cuts.size),
        n_beats=int(beats.size),
        tempo_bpm=60.0 / period if period > 0 else NAN,
        cuts_counted=hit_frame.total,
        cut_beat_hit_rate_frame=hit_frame.rate,
        cut_beat_hit_rate_50ms=hit_50.rate,
        chord_at_cut_recall_beat=chord_beat.recall,
        chord_at_cut_precision_beat=chord_beat.precision,
        chord_at_cut_recall_1s=chord_1s.recall,
        chord_at_cut_precision_1s=chord_1s.precision,
        arousal_pearson=ar_r,
        arousal_ccc=ar_c,
        valence_pearson=va_r,
        valence_ccc=va_c,
        length_delta_samples=length.delta_samples,
        ends_in_last_frame=length.ends_in_last_frame,
        integrated_lufs=loud.integrated_lufs,
        true_peak_dbtp=loud.true_peak_dbtp,
        style_max_distance=style.max_distance,
        style_mean_distance=style.mean_distance,
        style_drift_slope=style.drift_slope,
        bhs=bhs,
        bcs=bcs,
    )
    return Evaluation(report, beats, intensity)


def warm_up(sr: int = 22050) -> None:
    """Run every measure once on a few seconds of a pulse over a tone, so librosa's lazy
    imports and numba's compiled kernels are loaded before the first real file: about 1.5
    CPU seconds the first time in a process (1.0 where scipy is already loaded), which a
    caller can spend in the background."""
    t = np.arange(6 * sr) / sr
    y = (0.2 * np.sin(2 * np.pi * 220.0 * t) + 0.5 * (np.mod(t, 0.5) < 0.01)).astype(np.float32)
    feats = analyse.Features(y, sr)
    analyse.detect_beats(y, sr, feats=feats)
    analyse.harmonic_changes(y, sr, feats=feats)
    analyse.intensity_curve(y, sr, hop_s=1.0, n=6, feats=feats)
    analyse.valence_proxy_curve(y, sr, hop_s=1.0, n=6, feats=feats)
    analyse.style_stability(y, sr, window_s=2.0, feats=feats)
    loudness(np.stack([y, y], axis=1), sr)
    audio_io.loaded_from(np.stack([y, y], axis=1), native_sr=48_000, sr=sr)
