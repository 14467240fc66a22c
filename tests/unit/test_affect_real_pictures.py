"""Black and fading frames do not raise arousal; a calm piece ends calmly; the music's level
follows the shape of a piece whose arousal stays at the calm end."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from bridge.affect.features import FeatureTable
from bridge.affect.heuristic import arousal_parts, curve_from_features
from bridge.analysis.picture import motion
from bridge.compose import arrange, compose_plan
from bridge.compose.arrange import KICK, playing_levels
from bridge.style import STYLES
from bridge.types import AffectCurve, Cut, Edit


def test_a_fade_is_light_not_motion():
    rng = np.random.default_rng(0)
    frame = (rng.random((36, 64, 3)) * 200 + 20).astype(np.uint8)
    darker = (frame * 0.8).astype(np.uint8)  # one step of a fade to black
    assert motion(frame, darker, dt_s=0.04) < 0.004
    moved = np.roll(frame, 3, axis=1)  # the same picture panned: real motion
    assert motion(frame, moved, dt_s=0.04) > 0.1
    white = np.full_like(frame, 255)  # a flash jumps far more than any fade step
    assert motion(frame, white, dt_s=0.04) > 0.1


def _table(brightness, shot_edges_s) -> FeatureTable:
    n = len(brightness)
    t = np.arange(n) + 0.5
    edges = np.asarray([0.0, *shot_edges_s, float(n)])
    since = t - edges[np.searchsorted(edges, t, side="right") - 1]
    until = edges[np.searchsorted(edges, t, side="right")] - t
    flat = np.full(n, np.nan)
    return FeatureTable(
        hop_s=1.0, duration_s=float(n), picture=np.ones(n),
        motion=np.where(np.asarray(brightness) < 0.06, 0.0004, 0.02),
        motion_spread=flat.copy(), brightness=np.asarray(brightness, dtype=float),
        saturation=np.full(n, 0.3), colourfulness=np.full(n, 30.0), warmth=np.zeros(n),
        dark_share=np.full(n, 0.2), loudness_db=flat.copy(), cut_density=np.zeros(n),
        since_cut_s=since, until_cut_s=until,
    )


def test_black_leader_and_tail_are_rest():
    # 1 s of black, a 20 s shot, 1 s of black: the black "shots" are one second long, which
    # would read as frantic cutting if black were picture.
    brightness = [0.002] + [0.4] * 20 + [0.003]
    table = _table(brightness, shot_edges_s=[1.0, 21.0])
    parts = arousal_parts(table)
    assert parts["rhythm"][0] == 0.0 and parts["rhythm"][-1] == 0.0
    assert parts["motion"][0] == 0.0 and parts["motion"][-1] == 0.0
    curve = curve_from_features(table)
    assert curve.arousal[0] <= curve.arousal[10] + 1e-9
    assert curve.arousal[-1] <= curve.arousal[10] + 1e-9


def test_playing_level_stretches_a_calm_pieces_own_range_only_when_it_varies():
    calm_bump = np.r_[np.full(8, -0.95), np.full(8, -0.45), np.full(16, -0.97)]
    levels = playing_levels(calm_bump)
    assert levels[10] - levels[20] > 0.45  # the livelier stretch is clearly busier
    assert levels.max() <= 1.0 and levels.min() >= 0.0
    flat = np.full(32, -0.9)
    assert np.allclose(playing_levels(flat), 0.05)  # a uniformly calm film stays calm
    wide = np.linspace(-1, 1, 32)
    assert np.allclose(playing_levels(wide)[[0, -1]], [0.0, 1.0])


def _calm_edit(duration_s: float) -> Edit:
    return Edit(name="calm", source_path=Path("calm.otio"), rate=Fraction(25),
                drop_frame=False, start_timecode="00:00:00:00", start_frame=0,
                duration_frames=int(duration_s * 25), shots=())


def test_a_calm_piece_ends_on_its_chord_alone():
    duration_s = 24.0
    n = int(duration_s)
    curve = AffectCurve(hop_s=1.0, valence=np.zeros(n), arousal=np.full(n, -0.97),
                        confidence=np.ones(n))
    edit = _calm_edit(duration_s)
    style = next(s for s in STYLES.values() if s.percussion)
    plan = compose_plan(edit, (Cut(time_s=6.0, kind="edit"),), curve, style, seed=0)
    arrangement = arrange(plan, style, curve, seed=0)
    final_s = plan.tempo.beat_times_s[plan.final_beat]
    at_end = [(t.role, n) for t in arrangement.tracks for n in t.notes
              if abs(n.start_s - final_s) < 0.3]
    assert at_end, "the final chord sounds"
    assert not [n for role, n in at_end if role == "drums" and n.pitch == KICK]
    texture = [n for role, n in at_end if role == "texture"]
    assert len(texture) <= 1  # no rolled chord: one soft note
