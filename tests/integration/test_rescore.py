"""Re-score after a recut, judged on the audio: untouched music is the same samples.

A 32 s cut of five shots is scored, then recut four ways and scored again into a copy of
its folder. The music before the change must be sample-identical to the first version up
to the bridge that was composed again; the music after it must be the first version's
samples shifted by exactly what the recut moved; and the new version still puts its cuts on
beats with chord changes (measured by `bridge.eval` on the WAV, never from the plan).
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bridge import ScoreOptions, score_timeline
from bridge.eval import evaluate
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.recut.rescore import CROSSFADE_S, TAIL_S
from bridge.timeline.build import ShotSpec, write_timeline

pytestmark = pytest.mark.timeout(900)

RATE = Fraction(25)
SR = 48_000
COLOURS = [(200, 40, 40), (40, 80, 200), (220, 180, 40), (30, 150, 80), (150, 50, 160),
           (240, 240, 240), (20, 20, 20), (90, 200, 220), (120, 70, 30), (250, 120, 170)]
OPTIONS = ScoreOptions(style="synthwave", seed=3)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("rescore-media")
    files = []
    for i, colour in enumerate(COLOURS):
        path = folder / f"src{i}.mp4"
        encode_scenes(path, [SceneSpec(9.0, background=colour, shapes=2 + i % 3,
                                       speed_px_s=40 + 30 * i)],
                      width=160, height=96, rate=RATE, audio=False)
        files.append(path)
    return files


def timeline(path: Path, media: list[Path], shots: list[tuple[int, float, float]]) -> Path:
    """shots: (media index, media start s, seconds)."""
    return write_timeline(path, name=path.stem, rate=RATE, shots=[
        ShotSpec(media[i], seconds=length, media_start_s=start, name=f"src{i}@{start:g}")
        for i, start, length in shots])


# Eight shots, 37 s: enough cuts that the analyser's hit rates mean something.
ORIGINAL = [(0, 0.0, 4.5), (1, 0.0, 5.0), (2, 0.0, 4.0), (3, 0.0, 5.5), (4, 0.0, 4.5),
            (5, 0.0, 5.0), (6, 0.0, 4.0), (7, 0.0, 4.5)]


@pytest.fixture(scope="module")
def first(media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("first")
    result = score_timeline(timeline(folder / "cut.otio", media, ORIGINAL), folder / "out",
                            OPTIONS)
    audio, _ = soundfile.read(result.wav_path, dtype="int32")
    return folder / "out", audio


def rescore(first, media, tmp_path, shots):
    out_first, _ = first
    out = tmp_path / "out"
    shutil.copytree(out_first, out)
    return score_timeline(timeline(tmp_path / "recut.otio", media, shots), out, OPTIONS)


def pieces_of(result):
    return result.plan_summary["rescore"]["pieces"]


def first_difference(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(np.any(a[:n] != b[:n], axis=1))
    return int(diff[0]) if len(diff) else n


def last_difference(a: np.ndarray, b: np.ndarray) -> int:
    """Index (from the end) after which the tails of a and b agree, counted from a's start."""
    n = min(len(a), len(b))
    tail_a, tail_b = a[len(a) - n:], b[len(b) - n:]
    diff = np.flatnonzero(np.any(tail_a != tail_b, axis=1))
    return len(a) - n + (int(diff[-1]) + 1 if len(diff) else 0)


def beats_and_chords_hold(result) -> None:
    analysis = result.analysis
    edit = analysis.edit
    cuts = [c.time_s for c in analysis.cuts]
    report = evaluate(result.wav_path, cuts_s=cuts, duration_s=edit.duration_s,
                      frame_s=edit.frame_s, arousal=analysis.affect.arousal,
                      valence=analysis.affect.valence, hop_s=analysis.affect.hop_s)
    print(f"cuts {cuts}: hit rate {report.cut_beat_hit_rate_50ms:.2f}, chord recall "
          f"{report.chord_at_cut_recall_beat:.2f}, {report.integrated_lufs:.2f} LUFS, "
          f"{report.true_peak_dbtp:.2f} dBTP")
    # the result's figures agree with the independent meter (the true peak is a bound)
    assert result.metrics["integrated_lufs"] == pytest.approx(report.integrated_lufs, abs=0.2)
    assert report.true_peak_dbtp <= result.metrics["true_peak_dbtp"] + 0.1 <= -0.9
    assert report.integrated_lufs == pytest.approx(-16.0, abs=1.0)
    assert report.cut_beat_hit_rate_50ms >= 0.9
    assert report.chord_at_cut_recall_beat >= 0.8
    info = soundfile.info(result.wav_path)
    assert info.frames == edit.n_samples(SR) and info.subtype == "PCM_24"


def test_trim_keeps_the_music_before_and_shifts_the_music_after(first, media, tmp_path):
    _, old = first
    shots = [*ORIGINAL[:3], (3, 0.0, 3.5), *ORIGINAL[4:]]  # the fourth shot loses 2 s
    result = rescore(first, media, tmp_path, shots)
    new, _ = soundfile.read(result.wav_path, dtype="int32")
    # the new version sits beside the old one, which an NLE may still point at
    assert result.wav_path.name == "score.v2.wav"
    assert (result.wav_path.parent / "score.v2.plan.json").is_file()
    kept_old, _ = soundfile.read(result.wav_path.parent / "score.wav", dtype="int32")
    np.testing.assert_array_equal(kept_old, old)
    pieces = pieces_of(result)
    kinds = [p["kind"] for p in pieces]
    assert kinds == ["kept", "composed", "shifted"], pieces
    bridge = pieces[1]
    assert bridge["start_s"] <= 17.0 <= bridge["end_s"]  # the change sits in the bridge
    # Before the bridge: the very same samples.
    same_until = first_difference(new, old)
    assert same_until >= round((bridge["start_s"] - CROSSFADE_S) * SR) - 1
    assert same_until > 4 * SR
    # After it: the first version's samples, 2 s earlier, to the last sample.
    shift = 2 * SR
    agree_from = last_difference(new, old[shift:])
    assert len(new) == len(old) - shift
    assert agree_from <= round((bridge["end_s"] + TAIL_S + CROSSFADE_S) * SR) + 1
    changed = agree_from - same_until
    share_identical = 1 - changed / len(new)
    print(f"bridge {bridge['start_s']:.2f}-{bridge['end_s']:.2f} s; samples differ only in "
          f"{same_until / SR:.2f}-{agree_from / SR:.2f} s ({share_identical:.1%} identical)")
    assert changed < 12 * SR
    # rendered again: from the lookback before the bridge to its tails after it, no more
    assert result.plan_summary["rescore"]["rendered_s"] <= (
        bridge["end_s"] + TAIL_S + 2 * CROSSFADE_S + 0.01)
    beats_and_chords_hold(result)
    # the scored timeline says which stretches were kept, shifted and composed again
    import opentimelineio as otio

    tracks = otio.adapters.read_from_file(str(result.otio_path)).tracks
    assert [t.name for t in tracks] == ["V1", "Score"], result.otio_path
    score_track = tracks[1]
    assert score_track.metadata["scorebridge"]["rescore"]["pieces"][1]["kind"] == "composed"


def test_swapped_shots_keep_their_music_moved(first, media, tmp_path):
    shots = [*ORIGINAL[:3], ORIGINAL[4], ORIGINAL[3], *ORIGINAL[5:]]
    result = rescore(first, media, tmp_path, shots)
    kinds = [p["kind"] for p in pieces_of(result)]
    assert kinds[0] == "kept" and kinds[-1] == "kept" and "composed" in kinds
    assert result.plan_summary["rescore"]["diff"] == "6 kept, 2 moved"
    beats_and_chords_hold(result)


def test_inserted_shot_is_composed_around(first, media, tmp_path):
    _, old = first
    shots = [*ORIGINAL[:4], (8, 1.0, 4.0), *ORIGINAL[4:]]
    result = rescore(first, media, tmp_path, shots)
    new, _ = soundfile.read(result.wav_path, dtype="int32")
    kinds = [p["kind"] for p in pieces_of(result)]
    assert kinds == ["kept", "composed", "shifted"]
    assert first_difference(new, old) > 10 * SR
    # after the insert, the first version's samples 4 s later
    later = np.concatenate([np.zeros((4 * SR, 2), np.int32), old])
    assert last_difference(new, later) < len(new) - 8 * SR
    beats_and_chords_hold(result)


def test_whole_timeline_replaced_is_composed_afresh(first, media, tmp_path):
    shots = [(8, 0.0, 8.0), (9, 0.0, 8.0), (8, 8.5 - 7.0, 7.0)]
    result = rescore(first, media, tmp_path, shots)
    assert "rescore" not in result.plan_summary
    beats_and_chords_hold(result)


def test_fresh_ignores_the_previous_version(first, media, tmp_path):
    out_first, old = first
    out = tmp_path / "out"
    shutil.copytree(out_first, out)
    result = score_timeline(timeline(tmp_path / "same.otio", media, ORIGINAL), out,
                            OPTIONS.with_(fresh=True))
    assert "rescore" not in result.plan_summary
    new, _ = soundfile.read(result.wav_path, dtype="int32")
    np.testing.assert_array_equal(new, old)  # same seed, same timeline: the same take


def test_unchanged_timeline_gives_the_same_audio(first, media, tmp_path):
    _, old = first
    result = rescore(first, media, tmp_path, ORIGINAL)
    assert [p["kind"] for p in pieces_of(result)] == ["kept"]
    assert result.plan_summary["rescore"]["rendered_s"] == 0
    new, _ = soundfile.read(result.wav_path, dtype="int32")
    np.testing.assert_array_equal(new, old)


def test_previous_result_in_another_folder_is_continued(first, media, tmp_path):
    """The Resolve plugin writes each run into a new folder and names the last version."""
    out_first, old = first
    shots = [*ORIGINAL[:3], (3, 0.0, 3.5), *ORIGINAL[4:]]
    result = score_timeline(timeline(tmp_path / "recut.otio", media, shots), tmp_path / "new",
                            OPTIONS.with_(previous_result=str(out_first / "score.wav")))
    assert [p["kind"] for p in pieces_of(result)] == ["kept", "composed", "shifted"]
    new, _ = soundfile.read(result.wav_path, dtype="int32")
    assert first_difference(new, old) > 4 * SR


def test_previous_result_that_is_not_ours_is_one_clear_error(first, media, tmp_path):
    from bridge.errors import BridgeError

    stray = tmp_path / "mine.wav"
    soundfile.write(stray, np.zeros((4800, 2)), SR)
    with pytest.raises(BridgeError, match="no score record beside this WAV"):
        score_timeline(timeline(tmp_path / "cut.otio", media, ORIGINAL), tmp_path / "out",
                       OPTIONS.with_(previous_result=str(stray)))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
