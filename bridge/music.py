"""Music backends: turn an analysed timeline into a soundtrack.

`MusicBackend` is the extension point (the neural MusicGen backend registers beside
"symbolic"). The embedded "symbolic" backend composes a plan on the cut structure and the
affect curve, arranges it, and renders it through FluidSynth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import Registry
from bridge.types import Analysis, Edit

SIDECHAIN_SR = 8_000  # dialogue detection needs level, not fidelity


@dataclass(frozen=True)
class MusicRequest:
    seed: int = 0
    sr: int = 48_000
    stems: bool = False
    duck_db: float = 0.0
    soundfont: Path | None = None


@dataclass(frozen=True)
class MusicOutput:
    wav_path: Path
    midi_path: Path | None
    stem_paths: Mapping[str, Path] = field(default_factory=dict)
    plan_summary: Mapping[str, Any] = field(default_factory=dict)
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    warnings: tuple[str, ...] = ()  # e.g. the loudness target was out of reach


class MusicBackend(Protocol):
    name: str

    def generate(
        self,
        analysis: Analysis,
        request: MusicRequest,
        *,
        wav_path: Path,
        midi_path: Path,
        stems_dir: Path,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> MusicOutput: ...


music_backends: Registry[MusicBackend] = Registry("music backend")


def _soundfont_check() -> str:
    from bridge.render import soundfont_available

    return soundfont_available()


@music_backends.register("symbolic", check=_soundfont_check)
class SymbolicBackend:
    """Composer -> arrangement -> FluidSynth with a General MIDI SoundFont."""

    name = "symbolic"

    def generate(
        self,
        analysis: Analysis,
        request: MusicRequest,
        *,
        wav_path: Path,
        midi_path: Path,
        stems_dir: Path,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> MusicOutput:
        from bridge.compose import arrange, compose_plan, write_midi
        from bridge.render import render_arrangement

        edit = analysis.edit
        progress("compose", 0.0, f"composing in {analysis.style.name}")
        plan = compose_plan(edit, analysis.cuts, analysis.affect, analysis.style, seed=request.seed)
        cancel.raise_if_cancelled()
        arrangement = arrange(plan, analysis.style, analysis.affect, seed=request.seed)
        write_midi(arrangement, midi_path, plan=plan)
        progress("compose", 1.0, f"{sum(len(t.notes) for t in arrangement.tracks)} notes")

        envelope = None
        if request.duck_db > 0 and edit.audio_clips:
            envelope = dialogue_ducking(edit, depth_db=request.duck_db, cancel=cancel)

        rendered = render_arrangement(
            arrangement,
            out_path=wav_path,
            n_samples=edit.n_samples(request.sr),
            sr=request.sr,
            soundfont=request.soundfont,
            stems_dir=stems_dir if request.stems else None,
            gain_envelope=envelope,
            progress=progress,
            cancel=cancel,
        )
        return MusicOutput(
            wav_path=rendered.path,
            midi_path=midi_path,
            stem_paths=dict(rendered.stem_paths),
            plan_summary=plan.summary(),
            loudness_lufs=rendered.integrated_lufs,
            true_peak_dbtp=rendered.true_peak_dbtp,
            warnings=tuple(rendered.warnings),
        )


def dialogue_track(edit: Edit, *, sr: int = SIDECHAIN_SR, cancel: CancelToken = NEVER_CANCELLED):
    """The timeline's own audio, mixed to mono in record time (the ducking side-chain)."""
    from bridge.media import decode_audio

    track = np.zeros(edit.n_samples(sr), dtype=np.float32)
    for clip in edit.audio_clips:
        cancel.raise_if_cancelled()
        if clip.media_missing or clip.media_path is None:
            continue
        audio = decode_audio(
            clip.media_path,
            clip.media_start_s,
            clip.media_time(clip.record_end_s),
            sr=sr,
        )
        start = round(clip.record_start_s * sr)
        audio = audio[: max(0, len(track) - start)]
        track[start : start + len(audio)] += audio
    return track


def dialogue_ducking(edit: Edit, *, depth_db: float, cancel: CancelToken = NEVER_CANCELLED):
    from bridge.mix import ducking_envelope

    return ducking_envelope(
        dialogue_track(edit, cancel=cancel),
        dialogue_sr=SIDECHAIN_SR,
        duration_s=edit.duration_s,
        depth_db=depth_db,
    )
