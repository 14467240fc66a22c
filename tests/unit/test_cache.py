"""The analysis cache: entries survive only whole, re-analysis decodes only what changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bridge import media
from bridge.analysis import cuts as cuts_module
from bridge.analysis.cuts import find_cuts
from bridge.analysis.picture import observe_picture
from bridge.cache import AnalysisCache, decode_entry, encode_entry
from bridge.media.synth import SceneSpec, encode_scenes
from bridge.types import Clip, Edit

RATE = Fraction(25)
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache") / "three.mp4"
    encode_scenes(path, [SceneSpec(3.0, background=(200, 30, 30)),
                         SceneSpec(3.0, background=(20, 20, 200), shapes=3, speed_px_s=200),
                         SceneSpec(3.0, background=(30, 160, 40))],
                  width=160, height=96, rate=RATE, audio=False)
    return path


def edit_of(path: Path, *spans: tuple[float, float, float]) -> Edit:
    """Shots (record start, record end, media start) cut from one file."""
    shots = tuple(Clip(name=f"S{i}", kind="video", record_start_s=a, record_end_s=b,
                       media_path=path, media_start_s=m) for i, (a, b, m) in enumerate(spans))
    return Edit(name="t", source_path=path.with_suffix(".otio"), rate=RATE, drop_frame=False,
                start_timecode="00:00:00:00", start_frame=0,
                duration_frames=round(spans[-1][1] * RATE), shots=shots)


@pytest.fixture()
def decodes(monkeypatch):
    """Every media range the picture pass and cut localisation decode, in call order."""
    calls: list[tuple[str, float, float]] = []
    real_sample, real_between = media.sample_frames, cuts_module.frames_between

    def sample(path, start_s, end_s, **kw):
        calls.append(("sample", start_s, end_s))
        return real_sample(path, start_s, end_s, **kw)

    def between(path, start_s, end_s, **kw):
        calls.append(("localise", start_s, end_s))
        return real_between(path, start_s, end_s, **kw)

    monkeypatch.setattr(media, "sample_frames", sample)
    monkeypatch.setattr(cuts_module, "frames_between", between)
    return calls


def same_picture(a, b) -> None:
    assert len(a) == len(b)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa.media_times_s, pb.media_times_s)
        np.testing.assert_array_equal(pa.record_times_s, pb.record_times_s)
        np.testing.assert_array_equal(pa.histograms, pb.histograms)
        np.testing.assert_array_equal(pa.colour, pb.colour)
        np.testing.assert_array_equal(pa.motion, pb.motion)


def test_entry_round_trip_and_corruption_is_detected():
    arrays = {"times": np.arange(5.0), "hist": np.eye(3, dtype=np.float32)}
    blob = encode_entry(arrays)
    back = decode_entry(blob)
    assert back is not None and set(back) == set(arrays)
    np.testing.assert_array_equal(back["hist"], arrays["hist"])
    flipped = bytearray(blob)
    flipped[-10] ^= 0xFF
    assert decode_entry(bytes(flipped)) is None
    assert decode_entry(blob[:-1]) is None
    assert decode_entry(b"not a cache entry at all") is None


def test_corrupt_file_is_removed_and_reported_as_a_miss(tmp_path):
    cache = AnalysisCache(tmp_path)
    cache.put(KEY, "k-v1", 1.0, 2.0, {"x": np.ones(3)})
    (entry,) = list(tmp_path.rglob("*.sbc"))
    entry.write_bytes(entry.read_bytes()[:-4] + b"oops")
    assert cache.get(KEY, "k-v1", 1.0, 2.0) is None
    assert cache.stats.corrupt == 1 and not entry.exists()


def test_trim_evicts_least_recently_used(tmp_path):
    cache = AnalysisCache(tmp_path, max_bytes=10_000)
    for i in range(8):
        cache.put(KEY, "k-v1", float(i), i + 1.0, {"x": np.zeros(200)})  # ~2 KB each
    files = sorted(tmp_path.rglob("*.sbc"))
    for age, f in enumerate(files):  # entry i was last used 100 - i seconds ago
        t = time.time() - 100 + age
        os.utime(f, (t, t))
    assert cache.get(KEY, "k-v1", 0.0, 1.0) is not None  # the oldest, now used again
    cache.trim()
    left = {p.name for p in tmp_path.rglob("*.sbc")}
    assert cache.info().bytes <= 0.8 * 10_000
    assert "0-1000000.sbc" in left  # recently read: kept
    assert "1000000-2000000.sbc" not in left  # least recently used: evicted first


def test_clear_removes_only_cache_entries(tmp_path):
    cache = AnalysisCache(tmp_path)
    cache.put(KEY, "k-v1", 0.0, 1.0, {"x": np.ones(2)})
    mine = tmp_path / "notes.txt"
    mine.write_text("not the cache's")
    assert cache.clear() == 1
    assert mine.read_text() == "not the cache's" and cache.info().entries == 0


def test_second_analysis_decodes_nothing(clip_file, tmp_path, decodes):
    edit = edit_of(clip_file, (0, 4.2, 0), (4.2, 9.0, 4.2))  # one cut inside each shot
    cache = AnalysisCache(tmp_path)
    first = observe_picture(edit, cache=cache)
    cuts_first = find_cuts(edit, picture=first, cache=cache)
    assert any(c.kind == "detected" for c in cuts_first)
    assert {kind for kind, *_ in decodes} == {"sample", "localise"}
    decodes.clear()
    again = AnalysisCache(tmp_path)
    second = observe_picture(edit, cache=again)
    cuts_second = find_cuts(edit, picture=second, cache=again)
    assert decodes == []
    assert again.stats.misses == 0 and again.stats.hits >= 2
    same_picture(first, second)
    assert cuts_first == cuts_second
    without = observe_picture(edit)  # and the cache changes nothing
    same_picture(first, without)


def test_trimmed_shot_decodes_only_the_new_seconds(clip_file, tmp_path, decodes):
    cache = AnalysisCache(tmp_path)
    observe_picture(edit_of(clip_file, (0, 3.0, 2.0)), cache=cache)  # media 2..5
    decodes.clear()
    shorter = observe_picture(edit_of(clip_file, (0, 2.6, 2.0)), cache=cache)  # media 2..4.6
    assert decodes == [] and cache.stats.partial == 1
    assert shorter[0].media_times_s.max() < 4.6
    longer = observe_picture(edit_of(clip_file, (0, 4.0, 2.0)), cache=cache)  # media 2..6
    assert [(k, round(a, 3), round(b, 3)) for k, a, b in decodes] == [("sample", 5.0, 6.0)]
    fresh = observe_picture(edit_of(clip_file, (0, 4.0, 2.0)))
    # the reused part and the new second together sample what one pass samples
    np.testing.assert_allclose(longer[0].media_times_s, fresh[0].media_times_s)
    np.testing.assert_allclose(longer[0].colour, fresh[0].colour, atol=1e-6)


def test_corrupted_entry_is_recomputed_in_the_pass(clip_file, tmp_path, decodes):
    edit = edit_of(clip_file, (0, 3.0, 0))
    cache = AnalysisCache(tmp_path)
    first = observe_picture(edit, cache=cache)
    for entry in tmp_path.rglob("*.sbc"):
        entry.write_bytes(b"\0" * 64)
    decodes.clear()
    again = AnalysisCache(tmp_path)
    second = observe_picture(edit, cache=again)
    assert again.stats.corrupt == 1 and len(decodes) == 1
    same_picture(first, second)
    third = AnalysisCache(tmp_path)  # the recomputed entry is whole again
    observe_picture(edit, cache=third)
    assert third.stats.hits == 1 and third.stats.corrupt == 0


_CHILD = """
import hashlib, json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_cache import edit_of
from bridge.cache import AnalysisCache
from bridge.analysis.picture import observe_picture
cache = AnalysisCache({root!r})
pic = observe_picture(edit_of(Path({media!r}), (0, 4.5, 0), (4.5, 9.0, 4.5)), cache=cache)
h = hashlib.sha256(b"".join(p.histograms.tobytes() + p.colour.tobytes() for p in pic))
print(json.dumps({{"hash": h.hexdigest(), "corrupt": cache.stats.corrupt}}))
"""


def test_two_processes_sharing_the_cache_agree(clip_file, tmp_path):
    code = _CHILD.format(tests=str(Path(__file__).parent), root=str(tmp_path),
                         media=str(clip_file))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    assert outs[0] == outs[1] and outs[0]["corrupt"] == 0
    reader = AnalysisCache(tmp_path)
    pic = observe_picture(edit_of(clip_file, (0, 4.5, 0), (4.5, 9.0, 4.5)), cache=reader)
    assert reader.stats.hits == 2 and reader.stats.corrupt == 0 and len(pic) == 2


def test_cache_command_reports_and_clears(tmp_path, monkeypatch, capsys):
    from bridge.cli import main

    monkeypatch.setenv("SCOREBRIDGE_CACHE_DIR", str(tmp_path))
    AnalysisCache(tmp_path).put(KEY, "k-v1", 0.0, 1.0, {"x": np.ones(100)})
    assert main(["cache", "info"]) == 0
    assert f"analysis cache {tmp_path}: 1 entries" in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert AnalysisCache(tmp_path).info().entries == 0


def test_sound_of_a_clip_heard_before_is_not_decoded_again(tmp_path, monkeypatch):
    from bridge.analysis.sound import observe_sound
    from bridge.media.synth import encode_audio

    voice = tmp_path / "voice.wav"
    encode_audio(voice, [SceneSpec(3.0, audio="speech", level_dbfs=-12),
                         SceneSpec(3.0, audio="tone", level_dbfs=-20)])
    calls = []
    real = media.decode_audio
    monkeypatch.setattr(media, "decode_audio",
                        lambda *a, **k: calls.append(a[1:3]) or real(*a, **k))

    def edit_with(*spans):  # (record start, record end, media start)
        clips = tuple(Clip(name=f"A{i}", kind="audio", record_start_s=a, record_end_s=b,
                           media_path=voice, media_start_s=m)
                      for i, (a, b, m) in enumerate(spans))
        return Edit(name="t", source_path=tmp_path / "t.otio", rate=RATE, drop_frame=False,
                    start_timecode="00:00:00:00", start_frame=0, duration_frames=250,
                    shots=(), audio_clips=clips)

    cache = AnalysisCache(tmp_path / "cache")
    first = observe_sound(edit_with((1.0, 4.0, 0.5), (5.0, 7.0, 4.0)), cache=cache)
    assert len(calls) == 2
    calls.clear()
    again = observe_sound(edit_with((1.0, 4.0, 0.5), (5.0, 7.0, 4.0)), cache=cache)
    assert calls == [] and cache.stats.hits == 2
    np.testing.assert_array_equal(again.energy, first.energy)
    # moved 2 s later (whole 10 ms frames): the same entry, the energy shifted by 200 frames
    moved = observe_sound(edit_with((3.0, 6.0, 0.5)), cache=cache)
    fresh = observe_sound(edit_with((3.0, 6.0, 0.5)))
    assert len(calls) == 1  # only the uncached pass above decoded
    np.testing.assert_allclose(moved.energy, fresh.energy, rtol=1e-9, atol=1e-15)
