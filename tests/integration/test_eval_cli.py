"""`scorebridge eval` as a user runs it: a real subprocess on a scored fixture timeline.

The fixture has irregular cuts and a calm -> intense -> calm arc, so the baselines (the
same composer without the cuts, or without the arc) must measure clearly worse than the
real score on the audio.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile
from fixture_timelines import shots_timeline

from bridge import ScoreOptions, score_timeline
from bridge.media.synth import SceneSpec

pytestmark = pytest.mark.timeout(600)

RATE = Fraction(25)
# Calm long shots, a run of short intense ones, calm again; cuts at irregular times.
ARC_BOUNDS_S = [0.0, 4.3, 8.9, 12.0, 14.1, 16.4, 18.2, 20.5, 22.6, 26.9, 31.0]
INTENSE_SHOTS = range(3, 8)
COLUMNS = ("ours", "constant-tempo", "flat-affect")


def arc_scene(i: int, duration_s: float) -> SceneSpec:
    if i in INTENSE_SHOTS:
        return SceneSpec(duration_s, background=(235, 50, 30), shapes=6, speed_px_s=380,
                         audio="noise", level_dbfs=-8)
    return SceneSpec(duration_s, background=(15, 20, 60), audio="tone", tone_hz=110,
                     level_dbfs=-44)


def build_arc_timeline(folder: Path, *, name: str = "arc") -> Path:
    return shots_timeline(folder, ARC_BOUNDS_S, arc_scene, rate=RATE, name=name)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", "-q", *args], capture_output=True,
                          text=True, timeout=500)


def click_track(path: Path, *, bpm: float, duration_s: float, sr: int = 44_100) -> Path:
    """A steady click at `bpm`: the kind of temp track an editor cuts against."""
    y = np.zeros(round(duration_s * sr), dtype=np.float32)
    click = np.sin(2 * np.pi * 1500 * np.arange(441) / sr) * np.exp(-np.arange(441) / 60)
    for t in np.arange(0.25, duration_s - 0.05, 60.0 / bpm):
        start = round(t * sr)
        y[start : start + click.size] += 0.5 * click[: y.size - start]
    soundfile.write(path, y, sr)
    return path


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval-arc")
    timeline = build_arc_timeline(folder)
    result = score_timeline(timeline, folder / "out", ScoreOptions(style="cinematic-orchestral"))
    return timeline, result


@pytest.fixture(scope="module")
def evaluated(scored, tmp_path_factory):
    timeline, result = scored
    folder = tmp_path_factory.mktemp("eval-json")
    reference = click_track(folder / "temp-track.wav", bpm=100, duration_s=31.0)
    out_json = folder / "eval.json"
    proc = run_cli("eval", str(timeline), str(result.wav_path), "--reference", str(reference),
                   "--json", str(out_json), "--style", "cinematic-orchestral")
    return proc, out_json


def test_eval_prints_a_table_with_every_column(evaluated):
    proc, _ = evaluated
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if "metric" in line)
    for name in (*COLUMNS, "reference"):
        assert name in header
    row = next(line for line in proc.stdout.splitlines() if "Cuts on a beat (±50 ms)" in line)
    assert row.count("%") == 4  # one figure per column


def test_eval_json_has_every_number_and_baselines_score_worse(evaluated, scored):
    proc, out_json = evaluated
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out_json.read_text())
    assert doc["columns"] == [*COLUMNS, "reference"]
    _, result = scored
    assert len(doc["cuts_s"]) == len(result.analysis.cuts) == len(ARC_BOUNDS_S) - 2
    reports = doc["reports"]
    ours, steady, flat = (reports[name] for name in COLUMNS)
    print({name: (r["cut_beat_hit_rate_50ms"], r["arousal_pearson"], r["bhs"])
           for name, r in reports.items()})
    assert ours["cut_beat_hit_rate_50ms"] >= 0.9
    assert ours["length_delta_samples"] == 0
    # Without the cuts, beats land on them only by chance.
    assert steady["cut_beat_hit_rate_50ms"] <= ours["cut_beat_hit_rate_50ms"] - 0.3
    # Without the arc, the music's intensity no longer follows the picture's arousal.
    assert ours["arousal_pearson"] >= 0.6
    for baseline in (steady, flat):
        assert (baseline["arousal_pearson"] or 0.0) < ours["arousal_pearson"] - 0.3
    # Every score is compared with the reference's beats; the reference's own column is not.
    for name in COLUMNS:
        assert 0.0 <= reports[name]["bhs"] <= 1.0
        assert 0.0 <= reports[name]["bcs"] <= 1.0
    assert reports["reference"]["bhs"] is None
    # A steady 100 BPM click knows nothing of the cuts either.
    assert reports["reference"]["cut_beat_hit_rate_50ms"] < ours["cut_beat_hit_rate_50ms"]


def test_eval_without_baselines_measures_only_the_score(scored, tmp_path):
    timeline, result = scored
    out_json = tmp_path / "only.json"
    proc = run_cli("eval", str(timeline), str(result.wav_path), "--no-baselines",
                   "--json", str(out_json), "--style", "cinematic-orchestral")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out_json.read_text())
    assert doc["columns"] == ["ours"]
    assert doc["reports"]["ours"]["cut_beat_hit_rate_50ms"] >= 0.9
    assert "constant-tempo" not in proc.stdout


def test_eval_of_a_missing_score_is_a_clean_error(scored, tmp_path):
    timeline, _ = scored
    proc = run_cli("eval", str(timeline), str(tmp_path / "nope.wav"), "--no-baselines")
    assert proc.returncode == 2
    assert "nope.wav" in proc.stderr
    assert "Traceback" not in proc.stderr
