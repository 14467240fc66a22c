"""Fit to picture on real audio: the composer's constant-tempo render, bent onto the cuts
by the master path, judged by the independent analyser (bridge.eval)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile
from fixture_timelines import shots_timeline

from bridge import ScoreOptions, score_timeline
from bridge.eval import evaluate
from bridge.media.synth import SceneSpec
from bridge.music import MusicRequest
from bridge.music.master import finish
from bridge.quality.baselines import render_baseline

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

# cuts at irregular times; the composer's tempo map puts a beat on each by construction
FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
CUTS_S = [2.3, 4.9, 7.0, 9.8, 12.1, 15.2, 17.4, 20.6, 23.0, 25.9, 28.1, 31.4, 33.8, 36.9]
END_S = 40.0
PALETTE = [(220, 60, 40), (40, 90, 200), (230, 170, 40), (30, 150, 90), (160, 40, 160)]


def _scene(i: int, duration_s: float) -> SceneSpec:
    return SceneSpec(duration_s, background=PALETTE[i % len(PALETTE)], shapes=4,
                     speed_px_s=140, audio="noise", level_dbfs=-16)


def _hit_rate(wav: Path, analysis) -> tuple[float, object]:
    edit = analysis.edit
    report = evaluate(wav, cuts_s=[c.time_s for c in analysis.cuts if not c.is_gradual],
                      duration_s=edit.duration_s,
                      frame_s=edit.frame_s, arousal=analysis.affect.arousal,
                      valence=analysis.affect.valence, hop_s=analysis.affect.hop_s)
    return report.cut_beat_hit_rate_frame, report


@pytest.mark.skipif(not FLUID_R3.is_file(), reason="fluid-soundfont-gm is not installed")
def test_constant_tempo_render_fitted_to_the_cuts_reaches_the_composers_hit_rate(tmp_path):
    (tmp_path / "media").mkdir()
    timeline = shots_timeline(tmp_path / "media", [0.0, *CUTS_S, END_S], _scene)
    fluid = {"soundfont": str(FLUID_R3)}
    scored = score_timeline(timeline, tmp_path / "score",
                            ScoreOptions(style="cinematic-orchestral", backend_options=fluid))
    analysis = scored.analysis
    assert len(analysis.cuts) == len(CUTS_S)
    composer, _ = _hit_rate(scored.wav_path, analysis)

    baseline = render_baseline(analysis, "constant-tempo", tmp_path / "baseline",
                               backend_options=fluid).wav_path
    before, _ = _hit_rate(baseline, analysis)
    audio, sr = soundfile.read(baseline, dtype="float32")
    blocks = ({"music": audio[i:i + 7 * sr]} for i in range(0, len(audio), 7 * sr))
    fitted = finish(blocks, roles=("music",), analysis=analysis, request=MusicRequest(sr=sr),
                    wav_path=tmp_path / "fitted.wav", stems_dir=tmp_path / "stems",
                    fit_to_picture=True)
    after, report = _hit_rate(fitted.path, analysis)
    print(f"cut-beat hit rate (±1 frame): composer {composer:.2f}, constant tempo "
          f"{before:.2f}, constant tempo fitted {after:.2f}")
    assert before <= 0.3  # a steady grid hits a cut only by chance
    assert after >= composer
    assert report.length_delta_samples == 0
    assert soundfile.info(fitted.path).frames == analysis.edit.n_samples(sr)
    assert not (tmp_path / "stems").exists()
