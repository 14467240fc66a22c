"""The embedded music backend: composer -> arrangement -> FluidSynth -> finishing stage."""

from __future__ import annotations

from pathlib import Path

from bridge.music.base import MusicOutput, MusicRequest, music_backends
from bridge.music.master import GainEnvelope, MasterResult, finish, master_audio
from bridge.music.record import ScoreRecord, media_keys, record_path_for, write_record
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import OptionSpec, parse_path
from bridge.types import Analysis, Arrangement

SYMBOLIC_OPTIONS = (
    OptionSpec("soundfont", "General MIDI SoundFont (.sf2/.sf3) to play the arrangement with "
               "(default: $SCOREBRIDGE_SOUNDFONT, then the system's)", None, parse_path),
)


def _soundfont_check(soundfont: Path | None = None) -> str:
    from bridge.render import soundfont_available

    return soundfont_available(soundfont)


@music_backends.register("symbolic", check=_soundfont_check, options=SYMBOLIC_OPTIONS)
class SymbolicBackend:
    """Composer -> arrangement -> FluidSynth with a General MIDI SoundFont."""

    name = "symbolic"

    def __init__(self, *, soundfont: Path | None = None) -> None:
        self.soundfont = soundfont

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
        from bridge.render import arrangement_roles, synthesise

        edit = analysis.edit
        progress("compose", 0.0, f"composing in {analysis.style.name}")
        plan = compose_plan(edit, analysis.cuts, analysis.affect, analysis.style, seed=request.seed)
        cancel.raise_if_cancelled()
        arrangement = arrange(plan, analysis.style, analysis.affect, seed=request.seed)
        write_midi(arrangement, midi_path, plan=plan)
        progress("compose", 1.0, f"{sum(len(t.notes) for t in arrangement.tracks)} notes")

        blocks = synthesise(arrangement, n_samples=edit.n_samples(request.sr), sr=request.sr,
                            soundfont=self.soundfont)
        finished = finish(blocks, roles=arrangement_roles(arrangement), analysis=analysis,
                          request=request, wav_path=wav_path, stems_dir=stems_dir,
                          progress=progress, cancel=cancel)
        # What a re-score after a recut starts from (bridge.recut): plan, notes, gain, shots.
        record = write_record(ScoreRecord(
            plan=plan, arrangement=arrangement, gain_db=finished.gain_db, sample_rate=request.sr,
            style=analysis.style.name, seed=request.seed,
            soundfont=str(self.soundfont) if self.soundfont else None, edit=edit,
            media_keys=media_keys(edit.shots), duck_db=request.duck_db,
            stems=tuple(finished.stem_paths), true_peak_dbtp=finished.true_peak_dbtp),
            record_path_for(wav_path))
        return MusicOutput(
            wav_path=finished.path,
            midi_path=midi_path,
            record_path=record,
            stem_paths=dict(finished.stem_paths),
            plan_summary=plan.summary(),
            loudness_lufs=finished.integrated_lufs,
            true_peak_dbtp=finished.true_peak_dbtp,
            warnings=tuple(finished.warnings),
        )


def render_arrangement(
    arrangement: Arrangement,
    *,
    out_path: Path | str,
    n_samples: int,
    sr: int = 48_000,
    soundfont: Path | str | None = None,
    stems_dir: Path | str | None = None,
    gain_envelope: GainEnvelope | None = None,
    target_lufs: float = -16.0,
    true_peak_dbtp: float = -1.0,
    block_s: float = 10.0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> MasterResult:
    """An arrangement straight to a finished WAV (and stems): synthesis, then ``master_audio``."""
    from bridge.render import arrangement_roles, synthesise

    blocks = synthesise(arrangement, n_samples=n_samples, sr=sr, soundfont=soundfont,
                        block_s=block_s)
    return master_audio(blocks, roles=arrangement_roles(arrangement), out_path=out_path,
                  n_samples=n_samples, sr=sr, stems_dir=stems_dir, gain_envelope=gain_envelope,
                  target_lufs=target_lufs, true_peak_dbtp=true_peak_dbtp, progress=progress,
                  cancel=cancel)
