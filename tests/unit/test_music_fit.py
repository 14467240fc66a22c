"""Fit to picture: anchors within the stretch bound, and clicks bent onto the cuts."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from bridge.errors import InvalidOptionError
from bridge.music.fit import Anchor, _time_stretch, fit_blocks, plan_anchors, refine_to_grid

SR = 22_050


def _rates(anchors):
    return [(b.source_s - a.source_s) / (b.target_s - a.target_s)
            for a, b in pairwise(anchors)]


def test_anchors_put_a_beat_on_every_cut_within_the_stretch_bound():
    beats = np.arange(0, 30, 0.5)  # 120 BPM
    cuts = [3.3, 6.9, 10.2, 13.7, 17.1, 20.6, 24.4]  # >= 3.2 s apart: a beat always in reach
    anchors = plan_anchors(beats, cuts, duration_s=30.0, source_s=30.0, max_stretch=0.08)
    assert [a.target_s for a in anchors[1:len(cuts) + 1]] == cuts
    assert all(np.isclose(a.source_s % 0.5, 0) or np.isclose(a.source_s % 0.5, 0.5)
               for a in anchors)
    assert all(0.92 - 1e-9 <= r <= 1.08 + 1e-9 for r in _rates(anchors))
    assert anchors[-1] == Anchor(30.0, 30.0)  # the source's end stays the end


def test_a_cut_out_of_reach_is_skipped_and_bounds_are_checked():
    beats = np.arange(0, 10, 1.0)
    # 0.4 s after the previous cut there is no beat a 5 % bend reaches
    anchors = plan_anchors(beats, [3.02, 3.42, 6.0], duration_s=10.0, max_stretch=0.05)
    assert [a.target_s for a in anchors] == [0.0, 3.02, 6.0, 10.0]
    with pytest.raises(InvalidOptionError):
        plan_anchors(beats, [1.0], duration_s=10.0, max_stretch=0.6)


def _clicks(times_s, n):
    y = np.zeros(n, np.float32)
    for t in times_s:
        i = round(t * SR)
        y[i:i + 200] += np.hanning(400)[200:].astype(np.float32) * np.sin(
            2 * np.pi * 1500 * np.arange(200) / SR).astype(np.float32)
    return y


def _energy_centre(y, t_s, within_s=0.06):
    """Energy-weighted mean time near ``t_s``: a phase vocoder spreads a click over its
    window, symmetrically, so the centre stays where the click was put."""
    a, b = round((t_s - within_s) * SR), round((t_s + within_s) * SR)
    energy = y[a:b].astype(np.float64) ** 2
    return (a + float(np.sum(np.arange(len(energy)) * energy) / np.sum(energy))) / SR


def test_click_track_bent_onto_the_cuts_in_blocks_with_stems_kept_in_step():
    duration = 12.0
    beats = np.arange(0.25, duration, 60 / 115)  # 115 BPM, off the cuts
    clicks = _clicks(beats, int(duration * SR))
    pad = 0.3 * clicks
    cuts = [3.6, 7.3, 10.9]  # > 3.3 s apart: a beat always within 8 %
    blocks = [{"music": clicks[i:i + 5000, None], "pad": pad[i:i + 5000, None]}
              for i in range(0, len(clicks), 5000)]
    report = {}
    out = list(fit_blocks(iter(blocks), roles=("music", "pad"), sr=SR, cuts_s=cuts,
                          duration_s=duration, report=report))
    music = np.concatenate([b["music"] for b in out])[:, 0]
    pad_out = np.concatenate([b["pad"] for b in out])[:, 0]
    assert len(music) == len(pad_out) == round(duration * SR)
    assert np.allclose(pad_out, 0.3 * music, atol=1e-4)  # one time map for every role
    assert [a.target_s for a in report["anchors"][1:4]] == cuts
    plain = [_energy_centre(clicks, b) - b for b in beats[:3]]  # the click's own offset
    for cut in cuts:
        assert abs(_energy_centre(music, cut) - np.mean(plain) - cut) <= 0.012, cut
    assert all(0.92 - 1e-9 <= r <= 1.08 + 1e-9 for r in _rates(report["anchors"]))


def test_beats_tracked_on_hops_are_moved_onto_their_local_tempo_grid():
    hop_s = 256 / SR  # the tracker's resolution
    steady = np.arange(40) * 60 / 108 + 0.2  # 108 BPM: 0.5556 s, not a whole number of hops
    tracked = np.round(steady / hop_s) * hop_s
    assert np.max(np.abs(tracked - steady)) > 0.005
    error = np.abs(refine_to_grid(tracked) - steady)
    assert np.max(error) < 0.003 and np.mean(error) < 0.001

    # a jump from 100 to 130 BPM: beats whose neighbours straddle it keep their tracked time
    change = np.concatenate([np.arange(12) * 0.6, 11 * 0.6 + np.arange(1, 13) * 60 / 130])
    tracked = np.round(change / hop_s) * hop_s
    refined = refine_to_grid(tracked)
    assert np.max(np.abs(refined - change)) <= np.max(np.abs(tracked - change)) + 1e-9
    assert np.array_equal(refined[8:15], tracked[8:15])


def test_the_stretcher_keeps_attacks_where_the_rate_puts_them():
    # why not a plain phase vocoder: librosa's moved these clicks by up to 23 ms
    times = np.arange(0.5, 5.5, 0.5)
    clicks = _clicks(times, 6 * SR)[:, None]
    for rate in (0.9, 1.1):
        out = _time_stretch(clicks, SR, rate)[:, 0]
        assert abs(len(out) - len(clicks) / rate) <= 2
        for t in times:
            window = np.abs(out[round((t / rate - 0.05) * SR):round((t / rate + 0.05) * SR)])
            attack = (np.argmax(window >= 0.5 * window.max()) / SR) - 0.05
            assert abs(attack) <= 0.004, (rate, t, attack)


def test_a_cut_no_bend_reaches_is_edited_onto_a_beat_when_splicing():
    beats = np.arange(0, 12, 1.0)  # 60 BPM: shots of 2.5 beats are 20 % from any whole count
    cuts = [2.5, 5.0, 7.4]
    plain = plan_anchors(beats, cuts, duration_s=12.0, max_stretch=0.1)
    assert len([a for a in plain if a.target_s in cuts]) < len(cuts)

    anchors = plan_anchors(beats, cuts, duration_s=12.0, max_stretch=0.1, splice=True)
    on_cuts = [a for a in anchors if a.target_s in cuts]
    assert [a.target_s for a in on_cuts] == cuts
    assert all(np.isclose(a.source_s % 1.0, 0) for a in on_cuts)  # every cut on a beat
    for before, anchor in pairwise(anchors):
        rate = (anchor.ends_previous_at_s - before.source_s) / (anchor.target_s - before.target_s)
        assert 0.9 - 1e-9 <= rate <= 1.1 + 1e-9
        if anchor.splice_from_s is not None:
            # the shot bent as far as allowed toward the beat: the jump is what is left
            jump = abs(anchor.source_s - anchor.splice_from_s)
            assert jump <= 0.5 - 0.1 * (anchor.target_s - before.target_s) + 1e-9
            # and an edit only where no bend reaches a beat
            span = anchor.target_s - before.target_s
            reachable = beats[(beats >= before.source_s + 0.9 * span - 1e-9)
                              & (beats <= before.source_s + 1.1 * span + 1e-9)
                              & (beats > before.source_s)]
            assert len(reachable) == 0


def test_clicks_spliced_onto_cuts_land_whole_on_them_with_stems_in_step():
    duration = 10.0
    beats = np.arange(0.0, duration + 2, 1.0)
    clicks = _clicks(beats, int((duration + 2) * SR))
    cuts = [2.5, 5.0, 7.4]
    blocks = [{"music": clicks[i:i + 4096, None], "pad": 0.3 * clicks[i:i + 4096, None]}
              for i in range(0, len(clicks), 4096)]
    report = {}
    out = list(fit_blocks(iter(blocks), roles=("music", "pad"), sr=SR, cuts_s=cuts,
                          duration_s=duration, max_stretch=0.1, splice=True, report=report))
    music = np.concatenate([b["music"] for b in out])[:, 0]
    pad_out = np.concatenate([b["pad"] for b in out])[:, 0]
    assert len(music) == len(pad_out) == round(duration * SR)
    assert np.allclose(pad_out, 0.3 * music, atol=1e-4)
    assert any(a.splice_from_s is not None for a in report["anchors"])
    offset = np.mean([_energy_centre(clicks, b) - b for b in beats[1:4]])
    for cut in cuts:
        assert abs(_energy_centre(music, cut) - offset - cut) <= 0.012, cut
        # the click on the cut is whole: as loud as an unbent one
        peak = np.abs(music[round(cut * SR):round((cut + 0.01) * SR)]).max()
        assert peak >= 0.9 * np.abs(clicks[SR:SR + round(0.01 * SR)]).max(), cut
