"""Re-score after a recut: keep the music of untouched sections, compose only what changed.

    previous record + new analysis
      -> timeline diff (which picture is kept, and where it moved)
      -> pieces: old music kept on its own bar lines, stretches between to compose
      -> a plan per stretch (new cuts on beats, the old tonic and motif, leading into the
         kept chord after it), joined with the kept parts into one plan
      -> audio: the previous WAV copied where kept (shifted by whole samples), each composed
         stretch rendered with the kept notes around it and mastered with the previous
         static gain, then spliced with short cross-fades where both sides agree.

Each composed stretch is rendered from a little before it (far enough back that every note
still sounding at the join is played again) to a little after (until the stretch's own
release tails have died out under the kept music), so both joins fall where the rendered and
the copied audio carry the same notes. The rendering's start is placed on the kept music's
own 64-sample event grid, so the notes played again land on the very samples they did
before.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.compose import arrange, write_midi
from bridge.compose.region import compose_region, curve_window, cut_plan, join_plans
from bridge.errors import BridgeError
from bridge.music.loudness import LevelMeter
from bridge.music.master import master_audio
from bridge.music.record import (
    RECORD_SUFFIX,
    ScoreRecord,
    media_keys,
    read_record,
    record_path_for,
    write_record,
)
from bridge.music.splice import Join, Source, splice
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.recut.diff import TimelineDiff, diff_edits
from bridge.recut.pieces import Piece, plan_pieces
from bridge.render.soundfont import EVENT_GRID
from bridge.render.synthesis import arrangement_roles, synthesise
from bridge.style import STYLES
from bridge.types import Analysis, Arrangement, Clip, Cut, Note, Track

CROSSFADE_S = 0.02  # joins fall where both sides carry the same notes: a short fade is enough
TAIL_S = 1.5  # release tails die out under this (a plucked or struck note's release)
MAX_LOOKBACK_S = 30.0  # a note held longer than this before a join is cut at the render start


@dataclass(frozen=True)
class RescoreOutput:
    wav_path: Path
    stem_paths: dict[str, Path]
    midi_path: Path
    record_path: Path
    record: ScoreRecord
    pieces: tuple[Piece, ...]
    diff: TimelineDiff
    rendered_s: float  # seconds of audio rendered again (the rest was copied)
    integrated_lufs: float
    true_peak_dbtp: float  # the previous version's and the new stretches', whichever is higher

    def summary(self) -> dict:
        return {
            "diff": self.diff.summary(),
            "pieces": [{"kind": p.kind, "start_s": round(p.start_s, 3),
                        "end_s": round(p.end_s, 3), "shift_s": round(p.shift_s, 3)}
                       for p in self.pieces],
            "rendered_s": round(self.rendered_s, 3),
            "kept_s": round(sum(p.duration_s for p in self.pieces if p.kind != "composed"), 3),
        }


def diff_against(previous: ScoreRecord, analysis: Analysis) -> TimelineDiff:
    """The recut, with media identified by content so re-linked copies still match."""
    new_keys = media_keys(analysis.edit.shots)
    keys = {**previous.media_keys, **new_keys}

    def media_id(c: Clip) -> str:
        path = str(c.media_path) if c.media_path else ""
        return keys.get(path, path or f"?{c.name}")

    return diff_edits(previous.edit, analysis.edit, media_id=media_id)


def rescore(analysis: Analysis, previous: ScoreRecord, previous_wav: Path, *,
            previous_stems: dict[str, Path], wav_path: Path, stems_dir: Path | None,
            midi_path: Path, soundfont: Path | None, duck_envelope=None,
            diff: TimelineDiff | None = None, progress: ProgressFn = no_progress,
            cancel: CancelToken = NEVER_CANCELLED) -> RescoreOutput | None:
    """The new version, or None when nothing of the previous score can be kept."""
    edit = analysis.edit
    sr = previous.sample_rate
    n_total = edit.n_samples(sr)
    diff = diff if diff is not None else diff_against(previous, analysis)
    tol = 0.5 * edit.frame_s
    pieces = plan_pieces(diff.kept_spans, old_bar_starts_s=previous.plan.tempo.bar_starts_s,
                         old_duration_s=previous.plan.duration_s, new_duration_s=edit.duration_s,
                         tol_s=tol)
    if all(p.kind == "composed" for p in pieces):
        return None
    progress("compose", 0.0, f"re-score: {diff.summary()}")
    parts, notes = _compose_pieces(analysis, previous, pieces)
    plan = join_plans(parts, duration_s=edit.duration_s,
                      cut_times_s=[c.time_s for c in analysis.cuts])
    roles = arrangement_roles(previous.arrangement)
    tracks = {t.role: t for t in previous.arrangement.tracks}
    arrangement = Arrangement(
        duration_s=edit.duration_s, beat_times_s=plan.beat_times_s.copy(),
        tracks=tuple(Track(role=r, program=tracks[r].program, is_drum=tracks[r].is_drum,
                           volume=tracks[r].volume,
                           notes=tuple(sorted(notes[r], key=lambda n: (n.start_s, n.pitch))))
                     for r in roles))
    write_midi(arrangement, midi_path, plan=plan)
    progress("compose", 1.0, f"{sum(p.kind == 'composed' for p in pieces)} stretches composed")

    stems = previous_stems if stems_dir is not None and previous_stems else {}
    with tempfile.TemporaryDirectory(prefix=".scorebridge-rescore-", dir=wav_path.parent) as tmp:
        sources, joins, rendered, peaks = _render_pieces(
            pieces, arrangement, previous=previous, previous_wav=previous_wav,
            previous_stems=stems, sr=sr, n_total=n_total, soundfont=soundfont,
            duck_envelope=duck_envelope, tmp=Path(tmp), progress=progress, cancel=cancel)
        stem_paths = {role: stems_dir / f"{role}.wav" for role in stems} if stems else {}
        if stem_paths:
            stems_dir.mkdir(parents=True, exist_ok=True)
        # Loudness is measured on the new WAV as it is written; its true peak is bounded by
        # the previous version's (the kept audio is part of it) and the new stretches'.
        meter = LevelMeter(sr=sr, true_peak=False)
        splice(sources, joins, out_path=wav_path, n_samples=n_total, sr=sr, stems=stem_paths,
               meter=meter, cancel=cancel)
    true_peak = max([previous.true_peak_dbtp, *peaks])
    record = ScoreRecord(plan=plan, arrangement=arrangement, gain_db=previous.gain_db,
                         sample_rate=sr, style=previous.style, seed=previous.seed,
                         soundfont=previous.soundfont, edit=edit,
                         media_keys=media_keys(edit.shots), duck_db=previous.duck_db,
                         stems=tuple(stem_paths), true_peak_dbtp=true_peak)
    record_path = write_record(record, record_path_for(wav_path))
    return RescoreOutput(wav_path=wav_path, stem_paths=stem_paths, midi_path=midi_path,
                         record_path=record_path, record=record, pieces=pieces, diff=diff,
                         rendered_s=rendered / sr, integrated_lufs=meter.finish().integrated_lufs(),
                         true_peak_dbtp=true_peak)


def _compose_pieces(analysis: Analysis, previous: ScoreRecord, pieces: Sequence[Piece]):
    """(start, plan part) per piece and the notes of every role, in new record time."""
    old = previous.plan
    # the piece keeps its style: a recut that shifts the affect statistics does not re-pick it
    style = STYLES.get(previous.style, analysis.style)
    parts = []
    notes: dict[str, list[Note]] = {t.role: [] for t in previous.arrangement.tracks}
    kept_parts = {}
    for k, p in enumerate(pieces):
        if p.kind != "composed":
            lo, hi = p.start_s - p.shift_s, p.end_s - p.shift_s
            kept_parts[k] = cut_plan(old, lo, hi)
            for t in previous.arrangement.tracks:
                notes[t.role] += [Note(n.start_s + p.shift_s, min(n.end_s, hi) + p.shift_s,
                                       n.pitch, n.velocity)
                                  for n in t.notes if lo - 1e-9 <= n.start_s < hi - 1e-9]
    for k, p in enumerate(pieces):
        if p.kind != "composed":
            parts.append((p.start_s, kept_parts[k]))
            continue
        following = kept_parts.get(k + 1)
        cuts = [Cut(c.time_s - p.start_s, c.kind, c.strength, c.transition)
                for c in analysis.cuts if p.start_s < c.time_s < p.end_s]
        curve = curve_window(analysis.affect, p.start_s, p.duration_s)
        salt = round(p.start_s * 1000)
        part = compose_region(
            duration_s=p.duration_s, frame_s=analysis.edit.frame_s, cuts=cuts, curve=curve,
            style=style, seed=previous.seed, salt=salt, tonic_pc=old.tonic_pc,
            cadence=old.cadence, motif=old.motif,
            lead_into=following.chords[0] if following is not None else None)
        parts.append((p.start_s, part))
        for t in arrange(part, style, curve, seed=(previous.seed * 1_000_003 + salt) % 2**31
                         ).tracks:
            if t.role in notes:
                notes[t.role] += [Note(n.start_s + p.start_s, n.end_s + p.start_s, n.pitch,
                                       n.velocity) for n in t.notes]
    return parts, notes


def _render_pieces(pieces, arrangement: Arrangement, *, previous: ScoreRecord,
                   previous_wav: Path, previous_stems: dict[str, Path], sr: int, n_total: int,
                   soundfont, duck_envelope, tmp: Path, progress, cancel):
    """One source per piece (the previous WAV, shifted, or a fresh rendering) and the joins."""
    xf = max(1, round(CROSSFADE_S * sr))
    tail = round(TAIL_S * sr)
    roles = arrangement_roles(arrangement)
    all_notes = [n for t in arrangement.tracks for n in t.notes]
    sources: list[Source] = []
    joins: list[Join] = []
    peaks: list[float] = []
    rendered = 0
    n_composed = sum(p.kind == "composed" for p in pieces)
    for k, p in enumerate(pieces):
        before = pieces[k - 1] if k > 0 else None
        after = pieces[k + 1] if k + 1 < len(pieces) else None
        if p.kind != "composed":
            sources.append(Source(previous_wav, round(p.shift_s * sr), previous_stems))
            if after is not None:  # fade into the next stretch just before it starts
                x = round(after.start_s * sr)
                joins.append(Join(x - xf, x))
            continue
        cancel.raise_if_cancelled()
        y = round(p.end_s * sr)
        # The rendering starts early enough to play again every note heard at the join in,
        # and runs on until this stretch's tails have died under the kept music after it.
        start = 0 if before is None else _lookback(all_notes, p.start_s - CROSSFADE_S, sr)
        join_out = None if after is None else min(y + tail, round(after.end_s * sr) - 2 * xf)
        end = n_total if after is None else join_out + xf
        grid_piece = after if after is not None else before
        if grid_piece is not None and start > 0:
            # on the kept music's own 64-sample event grid: its notes land where they did
            start -= (start - round(grid_piece.shift_s * sr)) % EVENT_GRID
            start = max(start, 0)
        progress("render", len(joins) / max(2 * n_composed, 1),
                 f"rendering {p.start_s:.1f}-{p.end_s:.1f} s again")
        out = tmp / f"piece{k}.wav"
        stems_dir = tmp / f"piece{k}-stems" if previous_stems else None
        window = _window_arrangement(arrangement, start / sr, end / sr)
        done = master_audio(synthesise(window, n_samples=end - start, sr=sr, soundfont=soundfont),
               roles=roles, out_path=out, n_samples=end - start, sr=sr, stems_dir=stems_dir,
               gain_envelope=_shifted(duck_envelope, start), fixed_gain_db=previous.gain_db,
               end_fade=end == n_total, cancel=cancel)
        rendered += end - start
        peaks.append(done.true_peak_dbtp)
        sources.append(Source(out, start, {r: stems_dir / f"{r}.wav" for r in previous_stems}
                              if stems_dir is not None else {}))
        if after is not None:
            joins.append(Join(join_out, join_out + xf))
    return sources, joins, rendered, peaks


def _lookback(notes, t_s: float, sr: int) -> int:
    """The earliest start of a note still sounding (or ringing out) at ``t_s``."""
    earliest = t_s
    for n in notes:
        if n.start_s < t_s and n.end_s + TAIL_S > t_s:
            earliest = min(earliest, n.start_s)
    return max(0, math.floor(max(earliest, t_s - MAX_LOOKBACK_S) * sr) - EVENT_GRID)


def _window_arrangement(arrangement: Arrangement, start_s: float, end_s: float) -> Arrangement:
    """The notes that start inside [start_s, end_s), in the window's own time."""
    tracks = []
    for t in arrangement.tracks:
        kept = tuple(Note(n.start_s - start_s, min(n.end_s, end_s) - start_s, n.pitch,
                          n.velocity)
                     for n in t.notes if start_s <= n.start_s < end_s)
        tracks.append(Track(role=t.role, program=t.program, is_drum=t.is_drum, notes=kept,
                            volume=t.volume))
    beats = arrangement.beat_times_s
    inside = beats[(beats >= start_s) & (beats < end_s)] - start_s
    return Arrangement(duration_s=end_s - start_s,
                       beat_times_s=inside if len(inside) else np.zeros(1),
                       tracks=tuple(tracks))


class _Shifted:
    def __init__(self, envelope, offset: int) -> None:
        self.envelope, self.offset = envelope, offset

    def block(self, start_sample: int, n: int, sr: int) -> np.ndarray:
        return self.envelope.block(start_sample + self.offset, n, sr)


def _shifted(envelope, offset: int):
    return None if envelope is None else _Shifted(envelope, offset)


def clean_stale(folder: Path) -> None:
    for p in folder.glob(".scorebridge-rescore-*"):
        shutil.rmtree(p, ignore_errors=True)


# ---------------------------------------------------------------- the pipeline's entry


@dataclass(frozen=True)
class Previous:
    """The newest earlier result in an output folder that a re-score can continue."""

    record: ScoreRecord
    wav_path: Path
    stem_paths: dict[str, Path]


def find_previous(where: Path) -> Previous | None:
    """The result a re-score continues: ``where`` is its WAV, or a folder whose newest
    result (by version, then time) has a score record and its audio. None if there is none."""
    where = Path(where)
    if where.suffix.lower() == ".wav":
        record_path = record_path_for(where)
        if not (where.is_file() and record_path.is_file()):
            raise BridgeError("no score record beside this WAV: only a Scorebridge score "
                              "can be continued (or score with --fresh)", path=where)
        return _previous(where, record_path)
    candidates = []
    for record_path in where.glob(f"*{RECORD_SUFFIX}"):
        wav = record_path.with_name(record_path.name[: -len(RECORD_SUFFIX)] + ".wav")
        if wav.is_file():
            candidates.append((_version(wav.name), record_path.stat().st_mtime_ns, wav))
    if not candidates:
        return None
    *_, wav = max(candidates)
    return _previous(wav, record_path_for(wav))


def _version(name: str) -> int:
    """``score.wav`` -> 1, ``score.v7.wav`` -> 7 (the versioning of bridge.outputs)."""
    parts = name.split(".")
    return int(parts[1][1:]) if len(parts) > 2 and parts[1][1:].isdigit() else 1


def _previous(wav: Path, record_path: Path) -> Previous:
    record = read_record(record_path)
    # stems of a version sit in the folder named like the WAV: score.v2.wav -> stems.v2/
    stems_dir = wav.with_name("stems" + wav.name[len(wav.name.split(".")[0]):-len(".wav")])
    stems = {r: stems_dir / f"{r}.wav" for r in record.stems}
    if not all(p.is_file() for p in stems.values()):
        stems = {}
    return Previous(record, wav, stems)


def continues(previous: Previous, *, style: str, seed: int, sr: int, duck_db: float,
              stems: bool) -> str:
    """"" when a re-score can continue ``previous``; else why it is composed afresh."""
    r = previous.record
    for what, was, now in (("style", r.style, style), ("seed", r.seed, seed),
                           ("sample rate", r.sample_rate, sr), ("ducking", r.duck_db, duck_db)):
        if was != now:
            return f"the {what} changed ({was} -> {now})"
    if stems and not previous.stem_paths:
        return "stems were asked for and the previous version has none"
    return ""


def rescore_music(analysis: Analysis, previous: Previous, *, seed: int, sr: int, stems: bool,
                  duck_db: float, soundfont: Path | None, wav_path: Path, midi_path: Path,
                  stems_dir: Path, progress: ProgressFn = no_progress,
                  cancel: CancelToken = NEVER_CANCELLED):
    """A `MusicOutput` continuing ``previous``, or None when nothing of it can be kept."""
    from bridge.music.base import MusicOutput
    from bridge.music.ducking import ducking_from_level

    envelope = None
    if duck_db > 0 and analysis.sound.heard_s:  # as the finishing stage ducks a fresh score
        envelope = ducking_from_level(analysis.sound, depth_db=duck_db)
    out = rescore(analysis, previous.record, previous.wav_path,
                  previous_stems=previous.stem_paths if stems else {},
                  wav_path=wav_path, stems_dir=stems_dir if stems else None,
                  midi_path=midi_path,
                  soundfont=soundfont or (Path(previous.record.soundfont)
                                          if previous.record.soundfont else None),
                  duck_envelope=envelope, progress=progress, cancel=cancel)
    if out is None:
        return None
    summary = {**out.record.plan.summary(), "rescore": out.summary()}
    return MusicOutput(wav_path=out.wav_path, midi_path=out.midi_path,
                       stem_paths=out.stem_paths, plan_summary=summary,
                       loudness_lufs=out.integrated_lufs, true_peak_dbtp=out.true_peak_dbtp,
                       record_path=out.record_path)
