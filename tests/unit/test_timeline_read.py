"""read_edit on timelines built with OTIO here and round-tripped through every adapter.

Media files are placeholders: the reader checks that they exist and never decodes them.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime as RT
from opentimelineio.opentime import TimeRange as TR

from bridge.errors import UnreadableTimelineError, UnsupportedFormatError
from bridge.timeline import ShotSpec, read_edit, read_edit_from_otio_json, write_timeline
from bridge.types import TimelineMarker

R = 24


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media é dir")
    files = {}
    for key in ("a", "b", "d", "e", "f", "g", "snd"):
        path = folder / f"shot {key} ñ.mov"
        path.write_bytes(b"placeholder")
        files[key] = path
    return files


def _clip(name, path, start, frames, *, avail_start=None):
    ref = otio.schema.ExternalReference(
        target_url=path.as_uri(),
        available_range=TR(RT(avail_start, R), RT(10_000, R)) if avail_start is not None else None,
    )
    return otio.schema.Clip(
        name=name, media_reference=ref, source_range=TR(RT(start, R), RT(frames, R))
    )


def _gap(frames):
    return otio.schema.Gap(source_range=TR(RT(0, R), RT(frames, R)))


@pytest.fixture(scope="session")
def layered(media, tmp_path_factory) -> Path:
    """Three video tracks, a nested stack, a dissolve, a gap, offline media, audio, markers."""
    tl = otio.schema.Timeline(name="layered", global_start_time=RT(86400, R))
    v1 = otio.schema.Track(name="V1", kind="Video")
    # Media timecode starts at 01:00:00:00; the clip starts 1 s into the file.
    v1.append(_clip("A", media["a"], 86400 + 24, 48, avail_start=86400))
    # Asymmetric dissolve around the cut at frame 48: spans 44..56, centre 50.
    v1.append(otio.schema.Transition(in_offset=RT(4, R), out_offset=RT(8, R), name="Dissolve"))
    b = _clip("B", media["b"], 0, 48)
    b.markers.append(otio.schema.Marker(name="clip note", marked_range=TR(RT(36, R), RT(0, R))))
    v1.append(b)
    v1.append(_gap(24))  # 96..120 shows nothing
    v1.append(otio.schema.Clip(name="lost shot", source_range=TR(RT(0, R), RT(48, R))))
    v2 = otio.schema.Track(name="V2", kind="Video")
    v2.append(_gap(60))
    v2.append(_clip("D", media["d"], 0, 12))  # 60..72 over B
    hidden = _clip("G", media["g"], 0, 24)  # 72..96, disabled: B shows through
    hidden.enabled = False
    v2.append(hidden)
    v2.append(_gap(48))  # to 144
    nested = otio.schema.Stack(name="nest", source_range=TR(RT(12, R), RT(24, R)))
    inner = otio.schema.Track(name="inner", kind="Video")
    inner.append(_clip("E", media["e"], 0, 48))
    nested.append(inner)
    v2.append(nested)  # 144..168 shows E from 0.5 s
    v3 = otio.schema.Track(name="V3", kind="Video")
    v3.append(_clip("F", media["f"], 0, 168))
    v3.enabled = False
    a1 = otio.schema.Track(name="Dialogue", kind="Audio")
    a1.append(_gap(24))
    a1.append(_clip("snd", media["snd"], 48, 72))
    muted = _clip("muted", media["snd"], 0, 24)
    muted.enabled = False
    a1.append(muted)
    tl.tracks.extend([v1, v2, v3, a1])
    tl.tracks.markers.append(
        otio.schema.Marker(
            name="editor",
            marked_range=TR(RT(12, R), RT(6, R)),
            color="GREEN",
            metadata={"who": "me"},
            comment="keep",
        )
    )
    path = tmp_path_factory.mktemp("tl") / "layered cut ü.otio"
    otio.adapters.write_to_file(tl, str(path))
    return path


def frames(seconds: float, rate=R) -> float:
    return round(seconds * rate, 6)


def test_layered_timeline_shots(layered, media):
    edit = read_edit(layered)
    got = [
        (s.name, frames(s.record_start_s), frames(s.record_end_s), frames(s.media_start_s))
        for s in edit.shots
    ]
    assert got == [
        ("A", 0, 50, 24),  # cut moved to the dissolve centre; media time from 01:00:00:00
        ("B", 50, 60, 2),
        ("D", 60, 72, 0),
        ("B", 72, 96, 24),
        ("lost shot", 120, 144, 0),
        ("E", 144, 168, 12),
    ]
    assert edit.shots[0].media_path == media["a"]
    assert [s.track_index for s in edit.shots] == [0, 0, 1, 0, 0, 1]
    lost = edit.shots[4]
    assert lost.media_missing and lost.media_path is None
    assert any("lost shot" in w for w in edit.warnings)
    assert not any(s.media_missing for s in edit.shots if s.name != "lost shot")
    (tr,) = edit.transitions
    assert (frames(tr.record_start_s), frames(tr.record_end_s)) == (44, 56)
    assert frames(tr.center_s) == 50


def test_layered_timeline_header_audio_markers(layered, media):
    edit = read_edit(layered)
    assert edit.rate == Fraction(24) and not edit.drop_frame
    assert (edit.start_timecode, edit.start_frame, edit.duration_frames) == (
        "01:00:00:00",
        86400,
        168,
    )
    (snd,) = edit.audio_clips
    assert (snd.kind, snd.track_name, snd.media_path) == ("audio", "Dialogue", media["snd"])
    assert (frames(snd.record_start_s), frames(snd.record_end_s), frames(snd.media_start_s)) == (
        24,
        96,
        48,
    )
    by_name = {m.name: m for m in edit.markers}
    assert by_name["editor"].color == "GREEN" and by_name["editor"].note == "keep"
    assert by_name["editor"].metadata == {"who": "me"}
    assert frames(by_name["editor"].duration_s) == 6
    # B starts at record 48 with media 0; its marker at media 1.5 s is at record 3.5 s.
    assert frames(by_name["clip note"].start_s) == 84


def test_time_warp_sets_speed(media, tmp_path):
    tl = otio.schema.Timeline(name="warp", global_start_time=RT(0, R))
    track = otio.schema.Track(kind="Video")
    clip = _clip("fast", media["a"], 0, 48)
    clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    track.append(clip)
    tl.tracks.append(track)
    path = tmp_path / "warp.otio"
    otio.adapters.write_to_file(tl, str(path))
    (shot,) = read_edit(path).shots
    assert shot.speed == 2.0
    assert shot.media_time(1.0) == 2.0


@pytest.mark.parametrize(
    ("rate", "tc", "df", "expect_tc"),
    [
        (Fraction(24000, 1001), "01:00:00:00", False, "01:00:00:00"),
        (Fraction(30000, 1001), "01:00:00;00", True, "01:00:00;00"),
        (Fraction(60000, 1001), "00:00:10;00", True, "00:00:10;00"),
        (Fraction(25), "10:00:00:00", False, "10:00:00:00"),
    ],
)
def test_rates_and_timecode(media, tmp_path, rate, tc, df, expect_tc):
    path = write_timeline(
        tmp_path / "r.otio",
        name="r",
        rate=rate,
        start_timecode=tc,
        drop_frame=df,
        shots=[ShotSpec(media["a"], frames=10, media_timecode_s=3600, media_start_s=2.0)],
    )
    edit = read_edit(path)
    assert edit.rate == rate and type(edit.rate) is Fraction
    assert (edit.drop_frame, edit.start_timecode) == (df, expect_tc)
    assert edit.duration_frames == 10
    assert abs(edit.shots[0].media_start_s - 2.0) <= 0.5 / rate


# ---------------------------------------------------------------- round trip through adapters

SUFFIXES = (".otio", ".otioz", ".otiod", ".xml", ".fcpxml", ".fcpxmld", ".edl")


@pytest.fixture(scope="session")
def round_trip_specs(media):
    return [
        ShotSpec(
            media["a"], frames=48, media_timecode_s=3600, media_start_s=1.0, media_duration_s=20
        ),
        ShotSpec(media["b"], seconds=2.0, media_start_s=0.5, media_duration_s=10),
        ShotSpec(media["d"], frames=30, media_duration_s=10),
    ]


@pytest.mark.parametrize(
    ("rate", "tc", "df"),
    [(Fraction(24), "01:00:00:00", False), (Fraction(30000, 1001), "01:00:00;00", True)],
)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_agrees_across_formats(round_trip_specs, tmp_path, suffix, rate, tc, df):
    kwargs = dict(
        name="trip",
        rate=rate,
        shots=round_trip_specs,
        start_timecode=tc,
        drop_frame=df,
        dissolves={1: 12},
    )
    ref = read_edit(write_timeline(tmp_path / "ref.otio", **kwargs))
    edit = read_edit(
        write_timeline(tmp_path / f"trip{suffix}", **kwargs),
        rate=rate if suffix == ".edl" else None,
    )
    one_frame = 1 / rate + 1e-9
    assert edit.rate == rate
    assert edit.duration_frames == ref.duration_frames
    assert len(edit.shots) == len(ref.shots) == 3
    for got, want in zip(edit.shots, ref.shots, strict=True):
        assert abs(got.record_start_s - want.record_start_s) <= one_frame, got
        assert abs(got.record_end_s - want.record_end_s) <= one_frame, got
        assert not got.media_missing
        if suffix in (".otioz", ".otiod"):
            # Bundles carry a copy of the media in their own media/ folder.
            assert got.media_path.name == want.media_path.name
            assert got.media_path.parent.name == "media" and got.media_path.is_file()
        else:
            assert got.media_path == want.media_path
        if suffix == ".edl" and want.name == ref.shots[0].name:
            # EDL has no available range: the first clip's media time stays in source
            # timecode (01:00:01:00), not seconds into the file.
            assert abs(got.media_start_s - 3600 - want.media_start_s) <= one_frame
        else:
            assert abs(got.media_start_s - want.media_start_s) <= one_frame, got
    if suffix in (".fcpxml", ".fcpxmld"):
        # The fcpx_xml writer drops the start timecode and the transitions.
        assert edit.start_timecode == "00:00:00:00" and edit.transitions == ()
    else:
        assert (edit.start_timecode, edit.drop_frame) == (tc, df)
        assert len(edit.transitions) == 1
        assert abs(edit.transitions[0].center_s - ref.transitions[0].center_s) <= one_frame


def test_edl_locators_and_rate_default(media, tmp_path):
    marker = TimelineMarker(name="hit", note="", start_s=1.0, duration_s=0.0, color="BLUE")
    path = write_timeline(
        tmp_path / "loc.edl",
        name="loc",
        rate=Fraction(30000, 1001),
        drop_frame=True,
        start_timecode="01:00:00;00",
        shots=[ShotSpec(media["a"], frames=90)],
        markers=[marker],
    )
    # No rate given: FCM: DROP FRAME implies 29.97, with a warning that it was assumed.
    edit = read_edit(path)
    assert edit.rate == Fraction(30000, 1001) and edit.drop_frame
    assert any("frame rate" in w for w in edit.warnings)
    (loc,) = edit.markers
    # Locators are absolute record timecode; we report them from the first frame.
    assert (loc.name, loc.color) == ("HIT", "BLUE")
    assert abs(loc.start_s - 30 / edit.rate) < 1e-9


def test_otio_json_text_with_relative_media(media):
    text = otio.adapters.write_to_string(
        _one_clip_timeline(media["b"].name), adapter_name="otio_json"
    )
    edit = read_edit_from_otio_json(text, name="wire", base_dir=media["b"].parent)
    assert edit.shots[0].media_path == media["b"] and not edit.shots[0].media_missing
    offline = read_edit_from_otio_json(text, name="wire", base_dir=Path("/nonexistent"))
    assert offline.shots[0].media_missing
    assert any("'rel'" in w for w in offline.warnings)


def _one_clip_timeline(url: str) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="wire")
    track = otio.schema.Track(kind="Video")
    track.append(
        otio.schema.Clip(
            name="rel",
            media_reference=otio.schema.ExternalReference(target_url=url),
            source_range=TR(RT(0, R), RT(24, R)),
        )
    )
    tl.tracks.append(track)
    return tl


# ---------------------------------------------------------------- bad input


def test_bad_input(tmp_path, media):
    cases = {
        "cut é 1.otio": (
            '{"OTIO_SCHEMA": "Timeline.1", "name": "x", "tra',
            UnreadableTimelineError,
        ),
        "not a timeline.xml": ("<html><body>hello</body></html>", UnreadableTimelineError),
        "garbage.edl": (
            "TITLE: x\n001  AX V C 00:00\nthis is not an event\n",
            UnreadableTimelineError,
        ),
        "clip.mov": ("x", UnsupportedFormatError),
    }
    for name, (text, error) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(error) as info:
            read_edit(path)
        assert name in str(info.value)
    with pytest.raises(UnsupportedFormatError, match=r"\.otio.*\.edl"):
        read_edit(tmp_path / "clip.mov")
    with pytest.raises(UnreadableTimelineError, match=r"missing ü\.otio.*does not exist"):
        read_edit(tmp_path / "missing ü.otio")
    empty = tmp_path / "empty one.otio"
    otio.adapters.write_to_file(otio.schema.Timeline(name="empty"), str(empty))
    with pytest.raises(UnreadableTimelineError, match=r"empty one\.otio.*zero length"):
        read_edit(empty)
    with pytest.raises(UnreadableTimelineError, match="wire"):
        read_edit_from_otio_json("[1, 2", name="wire")


def test_builder_media_paths_relative_to_the_working_folder(tmp_path, monkeypatch):
    # `make demo` passes paths like demo_out/media/a.mp4 and writes demo_out/demo.otio.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "media").mkdir(parents=True)
    (tmp_path / "out" / "media" / "a.mp4").write_bytes(b"placeholder")
    path = write_timeline(Path("out") / "t.otio", name="t", rate=Fraction(25),
                          shots=[ShotSpec(Path("out") / "media" / "a.mp4", frames=25)])
    edit = read_edit(path)
    assert not edit.shots[0].media_missing, edit.warnings
    assert edit.shots[0].media_path == tmp_path / "out" / "media" / "a.mp4"
