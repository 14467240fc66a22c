"""The benches' own render paths on a tiny timeline, so that `make bench` cannot rot unseen
(it did: both called the master by an old name after the music seam moved it)."""

from __future__ import annotations

import soundfile
from fixture_timelines import shots_timeline

from bench import bench_engine, bench_style_judge
from bridge.compose import arrange, compose_plan
from bridge.media.synth import SceneSpec
from bridge.pipeline import analyze_timeline
from bridge.render import find_soundfont


def _timeline(folder):
    (folder / "media").mkdir()
    return shots_timeline(folder / "media", [0.0, 1.2, 2.4],
                          lambda i, d: SceneSpec(d, background=(200, 40 + 120 * i, 40)))


def test_engine_bench_renders_one_and_many_threads_to_the_same_bytes(tmp_path):
    threads = bench_engine.threads_ab(_timeline(tmp_path), tmp_path)
    assert threads["identical_bytes"]
    assert all(run["wall_s"] > 0 for run in threads["runs"].values())


def test_style_judge_dry_render_is_the_timelines_length(tmp_path):
    analysis = analyze_timeline(_timeline(tmp_path))
    plan = compose_plan(analysis.edit, analysis.cuts, analysis.affect, analysis.style, seed=0)
    played = arrange(plan, analysis.style, analysis.affect, seed=0)
    n = analysis.edit.n_samples(48_000)
    wav = bench_style_judge.render_dry(played, n_samples=n, soundfont=find_soundfont(),
                                       wav=tmp_path / "dry.wav")
    assert soundfile.info(wav).frames == n
