"""write_scored_timeline / write_marked_timeline read back with the real OTIO adapters."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from bridge.errors import InvalidOptionError, UnsupportedFormatError
from bridge.timeline import ShotSpec, read_edit, write_timeline
from bridge.timeline.export import otio_json_of, write_marked_timeline, write_scored_timeline
from bridge.types import AffectMarker, TimelineMarker

RATE = Fraction(30000, 1001)


def _affect(start_s, name, color, valence, arousal, quadrant):
    return AffectMarker(
        start_s=start_s,
        duration_s=2.0,
        name=name,
        note=f"{quadrant} section",
        color=color,
        valence=valence,
        arousal=arousal,
        quadrant=quadrant,
    )


AFFECT = [
    _affect(0.0, "calm ↓0.3", "BLUE", 0.4, -0.3, "calm"),
    _affect(2.0, "tense ↑0.7", "RED", -0.5, 0.7, "tense"),
]


@pytest.fixture(scope="session")
def source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export é")
    media = folder / "shot one.mov"
    media.write_bytes(b"placeholder")
    editor = TimelineMarker(
        name="editor note", note="keep me", start_s=1.0, duration_s=0.0, color="GREEN"
    )
    return write_timeline(
        folder / "cut one.otio",
        name="cut",
        rate=RATE,
        start_timecode="01:00:00;00",
        drop_frame=True,
        markers=[editor],
        shots=[ShotSpec(media, frames=60), ShotSpec(media, frames=90, media_start_s=3.0)],
        audio=[ShotSpec(media, frames=150)],
    )


@pytest.fixture(scope="session")
def wav(source) -> Path:
    path = source.parent / "score take.wav"
    path.write_bytes(b"RIFF")  # the writer references the file; it never opens it
    return path


def _score_tracks(tl):
    return [t for t in tl.tracks if t.kind == "Audio" and t.name == "Score"]


def test_scored_otio_has_score_track_and_markers(source, wav, tmp_path):
    out = write_scored_timeline(
        source, tmp_path / "scored.otio", audio_path=wav, audio_duration_s=5.005, markers=AFFECT
    )
    tl = otio.adapters.read_from_file(str(out))
    original = otio.adapters.read_from_file(str(source))
    # Everything in the original is still there, in order, plus one new track.
    assert [t.name for t in tl.tracks] == [t.name for t in original.tracks] + ["Score"]
    assert tl.global_start_time == original.global_start_time
    (score,) = _score_tracks(tl)
    (clip,) = list(score)
    assert score.range_of_child_at_index(0).start_time.value == 0
    ref = clip.media_reference
    assert Path(otio.url_utils.filepath_from_url(ref.target_url)) == wav.resolve()
    assert ref.available_range.start_time.value == 0
    assert ref.available_range.duration.value == 150  # 5.005 s at 29.97 fps
    assert Fraction(ref.available_range.duration.rate).limit_denominator(1001) == RATE
    ours = [m for m in tl.tracks.markers if "scorebridge" in m.metadata]
    assert [(m.name, m.color, m.marked_range.start_time.value) for m in ours] == [
        ("calm ↓0.3", "BLUE", 0),
        ("tense ↑0.7", "RED", 60),
    ]
    assert dict(ours[1].metadata["scorebridge"]) == {
        "valence": -0.5,
        "arousal": 0.7,
        "quadrant": "tense",
        "note": "tense section",
    }
    edit = read_edit(out)
    assert edit.drop_frame and edit.start_timecode == "01:00:00;00"
    score_clip = next(c for c in edit.audio_clips if c.track_name == "Score")
    assert (score_clip.record_start_s, score_clip.media_path) == (0.0, wav.resolve())


def test_rescore_replaces_ours_and_keeps_the_editors(source, wav, tmp_path):
    first = write_scored_timeline(
        source, tmp_path / "first.otio", audio_path=wav, audio_duration_s=5.005, markers=AFFECT
    )
    new = [_affect(1.0, "excited ↑0.9", "ORANGE", 0.8, 0.9, "excited")]
    second = write_scored_timeline(
        first, tmp_path / "second.otio", audio_path=wav, audio_duration_s=4.0, markers=new
    )
    tl = otio.adapters.read_from_file(str(second))
    (score,) = _score_tracks(tl)
    assert next(iter(score)).media_reference.available_range.duration.value == round(4.0 * RATE)
    names = sorted(m.name for m in tl.tracks.markers)
    assert names == ["editor note", "excited ↑0.9"]
    editor = next(m for m in tl.tracks.markers if m.name == "editor note")
    assert editor.color == "GREEN" and editor.comment == "keep me"
    # Markers only: the existing Score track stays, our markers are replaced again.
    marked = write_marked_timeline(second, tmp_path / "marked.otio", markers=AFFECT)
    tl = otio.adapters.read_from_file(str(marked))
    assert len(_score_tracks(tl)) == 1
    assert sorted(m.name for m in tl.tracks.markers) == sorted(
        ["editor note", *(m.name for m in AFFECT)]
    )


def test_marked_timeline_has_no_score_track(source, tmp_path):
    out = write_marked_timeline(source, tmp_path / "marked.otio", markers=AFFECT)
    tl = otio.adapters.read_from_file(str(out))
    assert _score_tracks(tl) == []
    assert sum("scorebridge" in m.metadata for m in tl.tracks.markers) == 2


def test_xml_and_edl_outputs_read_back(source, wav, tmp_path):
    xml = write_scored_timeline(
        source, tmp_path / "scored.xml", audio_path=wav, audio_duration_s=5.005, markers=AFFECT
    )
    tl = otio.adapters.read_from_file(str(xml), adapter_name="fcp_xml")
    (score,) = [
        t for t in tl.tracks if t.kind == "Audio" and len(t) and next(iter(t)).name == wav.name
    ]
    assert next(iter(score)).source_range.duration.value == 150
    # fcp_xml keeps marker names and times, not colours or metadata.
    assert {m.name for m in tl.tracks.markers} >= {m.name for m in AFFECT}
    edit = read_edit(xml)
    assert edit.drop_frame and edit.start_timecode == "01:00:00;00"
    assert edit.duration_frames == 150

    edl = write_scored_timeline(
        source, tmp_path / "scored.edl", audio_path=wav, audio_duration_s=5.005, markers=AFFECT
    )
    text = edl.read_text()
    assert "FCM: DROP FRAME" in text
    tl = otio.adapters.read_from_string(text, adapter_name="cmx_3600", rate=float(RATE))
    assert len(tl.video_tracks()) == 1 and len(list(tl.video_tracks()[0])) == 2
    # EDL carries picture and locators only: the Score audio is dropped (see export.py).
    edit = read_edit(edl, rate=RATE)
    assert [round(m.start_s * RATE) for m in edit.markers if m.color in ("BLUE", "RED")] == [0, 60]
    assert edit.start_timecode == "01:00:00;00"


def test_source_as_otio_json_text(source, wav, tmp_path):
    text = otio_json_of(source)
    assert json.loads(text)["OTIO_SCHEMA"].startswith("Timeline.")
    out = write_scored_timeline(
        None,
        tmp_path / "wire.otio",
        audio_path=wav,
        audio_duration_s=5.005,
        markers=AFFECT,
        source_otio_json=text,
    )
    assert len(_score_tracks(otio.adapters.read_from_file(str(out)))) == 1
    assert "Score" in otio_json_of(out)


def test_failed_write_leaves_no_partial_file(source, wav, tmp_path):
    # Two time warps on one clip: the cmx_3600 writer refuses part-way through.
    tl = otio.adapters.read_from_file(str(source))
    clip = next(iter(tl.find_clips()))
    clip.effects.extend(
        [otio.schema.LinearTimeWarp(time_scalar=2.0), otio.schema.LinearTimeWarp(time_scalar=0.5)]
    )
    text = otio.adapters.write_to_string(tl, adapter_name="otio_json")
    out = tmp_path / "out.edl"
    out.write_text("previous version")
    with pytest.raises(UnsupportedFormatError, match=r"out\.edl"):
        write_scored_timeline(
            None, out, audio_path=wav, audio_duration_s=5.0, markers=AFFECT, source_otio_json=text
        )
    assert out.read_text() == "previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.edl"]


def test_bad_arguments_name_the_field(source, wav, tmp_path):
    with pytest.raises(InvalidOptionError, match="color"):
        write_marked_timeline(
            source, tmp_path / "x.otio", markers=[_affect(0, "m", "TEAL", 0, 0, "calm")]
        )
    with pytest.raises(UnsupportedFormatError, match=r"x\.wav"):
        write_marked_timeline(source, tmp_path / "x.wav", markers=AFFECT)
    assert list(tmp_path.iterdir()) == []
