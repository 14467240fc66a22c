"""Generated timelines with the traps real editors' files hold: odd frame rates, EDLs with
no rate and odd events, FCPXML libraries, newer OTIO schemas, nothing to score."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime as RT
from opentimelineio.opentime import TimeRange as TR

from bridge.cli import main
from bridge.config import ScoreOptions
from bridge.errors import InvalidOptionError, NothingToScoreError, UnreadableTimelineError
from bridge.timeline import ShotSpec, read_edit, write_timeline
from bridge.timeline.edl import infer_rate
from bridge.timeline.timecode import frames_of_timecode, timecode

ODD_RATES = (10, 12, 15, 16, 20, 48, 120)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("media") / "plate.mov"
    path.write_bytes(b"placeholder")  # the reader checks existence; it never decodes
    return path


# ---------------------------------------------------------------- timecode at any rate


@pytest.mark.parametrize(
    ("frames", "rate", "df", "text"),
    [
        (105, Fraction(10), False, "00:00:10:05"),
        (12 * 3600 + 11, Fraction(12), False, "01:00:00:11"),
        (119, Fraction(120), False, "00:00:00:119"),
        (1800, Fraction(30000, 1001), True, "00:01:00;02"),  # frames 00, 01 are skipped
        (17982, Fraction(30000, 1001), True, "00:10:00;00"),  # not at the tenth minute
        (1800, Fraction(30000, 1001), False, "00:01:00:00"),
        (3600, Fraction(60000, 1001), True, "00:01:00;04"),
    ],
)
def test_timecode_known_answers(frames, rate, df, text):
    assert timecode(frames, rate=rate, drop_frame=df) == text
    assert frames_of_timecode(text, rate=rate) == frames


@pytest.mark.parametrize("rate", [*map(Fraction, ODD_RATES), Fraction(30000, 1001),
                                  Fraction(60000, 1001)])
def test_timecode_round_trips_every_frame_of_an_hour_sample(rate):
    df = rate.denominator == 1001
    for n in range(0, int(3600 * rate), 997):
        assert frames_of_timecode(timecode(n, rate=rate, drop_frame=df), rate=rate) == n


# ---------------------------------------------------------------- any frame rate, any format


@pytest.mark.parametrize("suffix", [".otio", ".edl", ".fcpxml"])
@pytest.mark.parametrize("rate", [*map(Fraction, ODD_RATES), Fraction(30000, 1001)])
def test_odd_rates_read_exactly(media, tmp_path, rate, suffix):
    path = write_timeline(
        tmp_path / f"odd{suffix}", name="odd", rate=rate, start_timecode="01:00:00:00",
        shots=[ShotSpec(media, frames=37, media_duration_s=100),
               ShotSpec(media, frames=23, media_start_s=1.0, media_duration_s=100)],
    )
    # 29.97 here is non-drop-frame: the EDL says FCM: NON-DROP FRAME, so pass the rate.
    edit = read_edit(path, rate=rate if suffix == ".edl" else None)
    assert edit.rate == rate
    assert edit.duration_frames == 60
    assert [round(s.record_end_s * rate) for s in edit.shots] == [37, 60]
    assert not edit.drop_frame
    if suffix != ".fcpxml":  # the fcpx_xml writer drops the start timecode
        assert edit.start_timecode.startswith("01:00:00:0")


@pytest.mark.parametrize("rate", ["10", "15", "120"])
def test_cli_analyze_at_odd_rates_exits_cleanly(tmp_path, rate, capsys):
    from bridge.media.synth import SceneSpec, encode_scenes

    media = tmp_path / "odd.mp4"
    encode_scenes(media, [SceneSpec(2.0, shapes=2, speed_px_s=40)], width=64, height=48,
                  rate=Fraction(rate), audio=False)
    path = write_timeline(tmp_path / "odd.otio", name="odd", rate=Fraction(rate),
                          shots=[ShotSpec(media, seconds=2.0)])
    assert main(["-q", "analyze", "--no-detect", str(path)]) == 0
    assert f"at {float(rate):.3f} fps" in capsys.readouterr().out


# ---------------------------------------------------------------- EDL rate and events


EDL_25 = """TITLE: no rate line
001  A001 V C 01:00:00:00 01:00:01:24 00:00:00:00 00:00:01:24
002  A002 V C 01:00:10:00 01:00:12:00 00:00:01:24 00:00:03:24
"""


def test_edl_at_25_fps_with_no_rate_line(tmp_path):
    path = tmp_path / "pal.edl"
    path.write_text(EDL_25)
    edit = read_edit(path)
    assert edit.rate == 25
    assert edit.duration_frames == 99  # 3 s 24 frames
    assert [round(s.record_end_s * 25) for s in edit.shots] == [49, 99]
    assert any("25 fps inferred from frame numbers up to 24" in w for w in edit.warnings)
    # A given rate wins, and says so.
    assert read_edit(path, rate=Fraction(30)).duration_frames == 3 * 30 + 24
    assert infer_rate("FCM: DROP FRAME\n")[:2] == (Fraction(30000, 1001), True)


def test_edl_with_no_rate_and_low_frame_numbers_says_it_assumed_24(tmp_path):
    path = tmp_path / "film.edl"
    path.write_text(EDL_25.replace(":24", ":20"))
    edit = read_edit(path)
    assert edit.rate == 24
    assert any("24 fps assumed" in w for w in edit.warnings)


TRAPS = """TITLE: traps from Avid, Premiere, Resolve and conform tools
FCM: NON-DROP FRAME

0001  A001 V D 012 01:00:00:00 01:00:01:00 00:00:00:00 00:00:01:00
* a dissolve on the very first event
0002  LEADER V C 00:00:00:00 00:00:00:00 00:00:01:00 00:00:01:00
0003  A003 V C 01:00:00:00 01:00:04:00 00:00:01:00 00:00:02:00
* a retime with no M2 line
0004  BL V C 00:00:00:00 00:00:01:00 00:00:02:00 00:00:03:00
0005  A005 V C 01:00:00:00 01:00:01:00 00:00:03:00 00:00:04:00
0006  A006 A C 01:00:00:00 01:00:02:00 00:00:00:00 00:00:02:00
0007  A007 A C 01:00:00:00 01:00:02:00 00:00:01:00 00:00:03:00
0008  A008 V C 01:00:00:00 01:00:00:20 00:00:05:00 00:00:04:04
this line is not an event
"""


def test_edl_odd_events_are_skipped_or_mended_one_by_one(tmp_path):
    path = tmp_path / "traps.edl"
    path.write_text(TRAPS)
    edit = read_edit(path, rate=Fraction(24))
    text = "\n".join(edit.warnings)
    assert "EDL event 0001: a transition with no outgoing clip; read as a cut" in text
    assert "EDL event 0002: skipped, zero length" in text
    assert "EDL event 0003: source and record lengths differ (96 vs 24 frames)" in text
    assert "EDL event 0004: skipped, black (BL) filler" in text
    assert "EDL event 0007: skipped, Overlapping record" in text  # the adapter's reason
    assert "EDL event 0008: skipped, record out is before record in" in text
    # Picture: 0001 (0..1 s), 0003 (1..2 s), black gap, 0005 (3..4 s).
    assert [(round(s.record_start_s, 3), round(s.record_end_s, 3)) for s in edit.shots] == [
        (0.0, 1.0), (1.0, 2.0), (3.0, 4.0)
    ]
    assert edit.shots[1].speed == 1  # read at normal speed
    assert [(c.record_start_s, c.record_end_s) for c in edit.audio_clips] == [(0.0, 2.0)]


def test_an_edl_with_no_readable_event_is_refused(tmp_path):
    path = tmp_path / "junk.edl"
    path.write_text("TITLE: x\n001  AX V C 00:00\nthis is not an event\n")
    with pytest.raises(UnreadableTimelineError, match=r"junk\.edl.*no readable event"):
        read_edit(path)


# ---------------------------------------------------------------- FCPXML libraries


def _fcpxml(projects: dict[str, list[int]], *, media: Path, frame_duration="1001/30000s",
            step=Fraction(1001, 30000)) -> str:
    """A library with one event holding ``projects`` (name -> clip lengths in frames)."""
    def t(frames: int) -> str:
        s = frames * step
        return f"{s.numerator}/{s.denominator}s" if s else "0s"

    body = ""
    for name, lengths in projects.items():
        offset, spine = 0, ""
        for k, n in enumerate(lengths):
            spine += (f'<asset-clip name="c{k}" ref="r2" offset="{t(offset)}" '
                      f'duration="{t(n)}" start="0s" format="r1"/>')
            offset += n
        body += (f'<project name="{name}"><sequence format="r1" duration="{t(offset)}" '
                 f'tcStart="0s" tcFormat="NDF"><spine>{spine}</spine></sequence></project>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n<fcpxml version="1.9">'
        f'<resources><format id="r1" frameDuration="{frame_duration}" width="1920" '
        'height="1080"/><asset id="r2" name="plate" start="0s" duration="3600s" hasVideo="1" '
        f'format="r1"><media-rep kind="original-media" src="{media.as_uri()}"/></asset>'
        f'</resources><library><event name="Day 1">{body}</event></library></fcpxml>'
    )


def test_fcpxml_library_with_one_project_lands_on_exact_ntsc_frames(media, tmp_path):
    path = tmp_path / "one.fcpxml"
    path.write_text(_fcpxml({"Cut": [450, 450]}, media=media))  # 900900/30000 s in all
    edit = read_edit(path)
    assert edit.name == "Cut" and edit.rate == Fraction(30000, 1001)
    assert edit.duration_frames == 900 and abs(edit.duration_s - 30.03) < 1e-9
    assert [round(s.record_end_s * edit.rate) for s in edit.shots] == [450, 900]


@pytest.mark.parametrize(("frame_duration", "step"), [
    ("1001/24000s", Fraction(1001, 24000)), ("1001/60000s", Fraction(1001, 60000)),
])
def test_fcpxml_at_23976_and_5994_lands_on_exact_frames(media, tmp_path, frame_duration, step):
    path = tmp_path / "ntsc.fcpxml"
    path.write_text(_fcpxml({"Cut": [1001, 17]}, media=media, frame_duration=frame_duration,
                            step=step))
    edit = read_edit(path)
    assert edit.rate == 1 / step
    assert [round(s.record_end_s * edit.rate) for s in edit.shots] == [1001, 1018]


def test_fcpxml_library_with_two_projects_needs_a_name(media, tmp_path, capsys):
    path = tmp_path / "two.fcpxml"
    path.write_text(_fcpxml({"Rough": [100], "Fine": [30, 40]}, media=media))
    with pytest.raises(UnreadableTimelineError, match=r"2 timelines \('Rough', 'Fine'\)"):
        read_edit(path)
    edit = read_edit(path, timeline_name="Fine")
    assert edit.name == "Fine" and edit.duration_frames == 70
    bundle = tmp_path / "two.fcpxmld"
    bundle.mkdir()
    (bundle / "Info.fcpxml").write_text(path.read_text())
    assert read_edit(bundle, timeline_name="Rough").duration_frames == 100
    assert main(["-q", "analyze", "--no-detect", str(bundle)]) == 2
    assert "--timeline NAME" in capsys.readouterr().err


def test_fcpxml_event_clips_without_a_project_are_refused(media, tmp_path):
    text = _fcpxml({}, media=media).replace(
        '<event name="Day 1">',
        '<event name="Day 1"><asset-clip name="loose" ref="r2" duration="10s" format="r1"/>',
    )
    path = tmp_path / "clips.fcpxml"
    path.write_text(text)
    with pytest.raises(UnreadableTimelineError, match="event clips but no project"):
        read_edit(path)


# ---------------------------------------------------------------- schemas and nothing to score


def _timeline(*, video: bool = True, gap_only: bool = False) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="t")
    track = otio.schema.Track(name="V1", kind="Video" if video else "Audio")
    if gap_only:
        track.append(otio.schema.Gap(source_range=TR(RT(0, 24), RT(48, 24))))
    else:
        for name, frames in (("a", 24), ("mid", 0), ("b", 24)):
            track.append(otio.schema.Clip(name=name, source_range=TR(RT(0, 24), RT(frames, 24))))
    tl.tracks.append(track)
    return tl


def test_newer_otio_schema_versions_are_read_with_a_warning(tmp_path):
    tl = _timeline()
    tl.tracks.markers.append(otio.schema.Marker(name="m", marked_range=TR(RT(5, 24), RT(0, 24))))
    data = json.loads(otio.adapters.write_to_string(tl, adapter_name="otio_json"))
    marker = data["tracks"]["markers"][0]
    marker["OTIO_SCHEMA"] = "Marker.3"  # the colour became an object in Marker.3
    marker["color"] = {"OTIO_SCHEMA": "Color.1", "r": 0.0, "g": 1.0, "b": 0.0, "a": 1.0,
                       "name": "GREEN"}
    path = tmp_path / "newer.otio"
    path.write_text(json.dumps(data))
    edit = read_edit(path)
    assert [(m.name, m.color) for m in edit.markers] == [("m", "GREEN")]
    assert any("newer OTIO (Marker.3)" in w for w in edit.warnings)


def test_zero_and_negative_clips_mid_track_are_named(tmp_path):
    tl = _timeline()
    tl.tracks[0][2].source_range = TR(RT(0, 24), RT(-5, 24))
    tl.tracks[0].append(otio.schema.Clip(name="c", source_range=TR(RT(0, 24), RT(24, 24))))
    path = tmp_path / "odd clips.otio"
    otio.adapters.write_to_file(tl, str(path))
    edit = read_edit(path)
    text = "\n".join(edit.warnings)
    assert "clip 'mid' on track 'V1': zero length" in text
    assert "clip 'b' on track 'V1': negative length (-5 frames)" in text
    # The negative clip takes no time: 'c' follows 'a' directly.
    assert [(s.name, s.record_start_s, s.record_end_s) for s in edit.shots] == [
        ("a", 0.0, 1.0), ("c", 1.0, 2.0)
    ]


@pytest.mark.parametrize(("video", "gap_only", "what"),
                         [(True, True, "gaps only"), (False, False, "audio only")])
def test_nothing_to_score_is_analysed_with_a_warning_and_refused_by_score(
    tmp_path, capsys, video, gap_only, what
):
    path = tmp_path / "quiet.otio"
    otio.adapters.write_to_file(_timeline(video=video, gap_only=gap_only), str(path))
    assert main(["-q", "analyze", str(path)]) == 0
    assert f"no picture: the timeline holds {what}" in capsys.readouterr().out
    assert main(["-q", "score", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "quiet.otio" in err and "no picture" in err
    assert not (tmp_path / "out").exists()

    from bridge.pipeline import score_timeline

    with pytest.raises(NothingToScoreError):
        score_timeline(path, tmp_path / "out2")


def test_rate_zero_is_refused(tmp_path, media, capsys):
    tl = _timeline()
    tl.tracks[0][0].source_range = TR(RT(0, 0), RT(24, 0))
    path = tmp_path / "zero rate.otio"
    otio.adapters.write_to_file(tl, str(path))
    with pytest.raises(UnreadableTimelineError, match=r"zero rate\.otio.*not positive"):
        read_edit(path)
    assert main(["-q", "analyze", str(path)]) == 2
    assert main(["-q", "analyze", "--rate", "0", str(path)]) == 2
    assert "timeline_rate" in capsys.readouterr().err
    with pytest.raises(InvalidOptionError, match="timeline_rate"):
        ScoreOptions(timeline_rate="abc").validated()
    assert ScoreOptions(timeline_rate="29.97").frame_rate() == Fraction(30000, 1001)


def test_proto_options_carry_timeline_name_and_rate():
    from bridge.server.convert import options_from_pb
    from bridge.server.gen.scorebridge.v1 import bridge_pb2 as pb

    options, _ = options_from_pb(pb.ScoreOptions(timeline_name="Fine", timeline_rate="25"))
    assert (options.timeline_name, options.frame_rate()) == ("Fine", Fraction(25))


def _fcpxml_19(spine: str, *, a: Path, b: Path) -> str:
    """FCPXML 1.9 (media in <media-rep>) with a compound clip and a two-angle multicam."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n<fcpxml version="1.9">'
        '<resources><format id="r1" frameDuration="1/25s" width="1920" height="1080"/>'
        f'<asset id="r2" name="a" start="0s" duration="3600s" hasVideo="1" format="r1">'
        f'<media-rep kind="original-media" src="{a.as_uri()}"/></asset>'
        f'<asset id="r3" name="b" start="0s" duration="3600s" hasVideo="1" format="r1">'
        f'<media-rep kind="original-media" src="{b.as_uri()}"/></asset>'
        '<media id="r4" name="compound"><sequence format="r1" duration="4s"><spine>'
        '<asset-clip ref="r2" offset="0s" duration="2s" name="inner a"/>'
        '<asset-clip ref="r3" offset="2s" duration="2s" name="inner b"/></spine></sequence>'
        '</media><media id="r5" name="multi"><multicam format="r1">'
        '<mc-angle name="Wide" angleID="w"><asset-clip ref="r2" offset="0s" duration="100s" '
        'name="wide"/></mc-angle><mc-angle name="Close" angleID="c"><asset-clip ref="r3" '
        'offset="0s" duration="100s" start="10s" name="close"/></mc-angle></multicam></media>'
        '</resources><library><event name="E"><project name="P"><sequence format="r1" '
        f'duration="12s"><spine>{spine}</spine></sequence></project></event></library></fcpxml>'
    )


def test_fcpxml_compound_sync_and_multicam_clips(tmp_path):
    a, b = tmp_path / "a.mov", tmp_path / "b.mov"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    spine = (
        '<ref-clip ref="r4" offset="0s" duration="4s" name="compound"/>'
        '<sync-clip offset="4s" duration="4s" name="synced"><asset-clip ref="r2" offset="0s" '
        'duration="4s" start="1s" name="picture"/></sync-clip>'
        '<mc-clip ref="r5" offset="8s" duration="4s" start="3s" name="multi">'
        '<mc-source angleID="c" srcEnable="video"/><mc-source angleID="w" srcEnable="audio"/>'
        '</mc-clip>'
    )
    path = tmp_path / "modern.fcpxml"
    path.write_text(_fcpxml_19(spine, a=a, b=b))
    edit = read_edit(path)
    got = [(s.name, s.record_start_s, s.record_end_s, s.media_path.name, s.media_start_s)
           for s in edit.shots]
    assert got == [
        ("inner a", 0.0, 2.0, "a.mov", 0.0),
        ("inner b", 2.0, 4.0, "b.mov", 0.0),
        ("picture", 4.0, 8.0, "a.mov", 1.0),
        # The active video angle "Close", 3 s into the multicam, whose clip starts 10 s in.
        ("close", 8.0, 12.0, "b.mov", 13.0),
    ]
    assert not any(s.media_missing for s in edit.shots)
    assert any("multicam clip 'multi': reading its active angle 'close'" in w
               for w in edit.warnings)


def test_edl_rate_guess_is_corrected_by_its_media(tmp_path):
    from bridge.media.synth import SceneSpec, encode_scenes

    media = tmp_path / "plate.mp4"
    encode_scenes(media, [SceneSpec(2.0)], width=64, height=48, rate=Fraction(25), audio=False)
    text = (f"TITLE: low frame numbers\n001  AX V C 00:00:00:00 00:00:01:10 00:00:00:00 "
            f"00:00:01:10\n* FROM CLIP: {media}\n")
    path = tmp_path / "guess.edl"
    path.write_text(text)
    from bridge.pipeline import media_frame_rate

    assert read_edit(path).rate == 24  # nobody lent the reader a way to read media
    edit = read_edit(path, media_rate_of=media_frame_rate)
    assert edit.rate == 25 and edit.duration_frames == 35
    assert any("25.000 fps, the rate of its media plate.mp4" in w for w in edit.warnings)
    media.unlink()  # without the media the guess stands, and says so
    edit = read_edit(path, media_rate_of=media_frame_rate)
    assert edit.rate == 24 and any("24 fps assumed" in w for w in edit.warnings)
