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


def dialogue_ducking(edit: Edit, *, depth_db: float, cancel: CancelToken = NEVER_CANCELLED,
                     chunk_s: float = 60.0):
    """Ducking envelope from the timeline's own audio clips, read a minute at a time.

    Only the side-chain's level per 10 ms is kept, so an hour of dialogue costs a few MB.
    """
    from bridge.media import decode_audio
    from bridge.mix import SideChainLevel, ducking_from_level

    level = SideChainLevel(duration_s=edit.duration_s)
    for clip in edit.audio_clips:
        if clip.media_missing or clip.media_path is None or clip.speed == 0:
            continue
        start_s = clip.record_start_s
        while start_s < clip.record_end_s:
            cancel.raise_if_cancelled()
            end_s = min(start_s + chunk_s, clip.record_end_s)
            media_a, media_b = sorted((clip.media_time(start_s), clip.media_time(end_s)))
            audio = decode_audio(clip.media_path, max(0.0, media_a), media_b, sr=SIDECHAIN_SR)
            if clip.speed < 0:  # a reversed clip plays its media backwards
                audio = audio[::-1]
            # at speed s, s media seconds pass per record second
            level.add(audio, sr=SIDECHAIN_SR * abs(clip.speed), start_s=start_s)
            start_s = end_s
    return ducking_from_level(level, depth_db=depth_db)
