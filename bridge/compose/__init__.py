"""Embedded symbolic composer: tempo map -> harmony and motif plan -> arrangement -> MIDI."""

from bridge.compose.arrange import arrange
from bridge.compose.midi import write_midi
from bridge.compose.plan import RELEASE_ALLOWANCE_S, MusicPlan, compose_plan
from bridge.compose.tempo import TempoMap, plan_tempo

__all__ = [
    "RELEASE_ALLOWANCE_S",
    "MusicPlan",
    "TempoMap",
    "arrange",
    "compose_plan",
    "plan_tempo",
    "write_midi",
]
