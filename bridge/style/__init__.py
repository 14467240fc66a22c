"""Style anchor: one preset held constant for the whole piece (NarraScore 3.4, 3.6)."""

from bridge.style.choose import AffectStats, affect_stats, choose_style, style_name_for
from bridge.style.presets import ROLES, STYLES, cadence_kind

__all__ = [
    "ROLES",
    "STYLES",
    "AffectStats",
    "affect_stats",
    "cadence_kind",
    "choose_style",
    "style_name_for",
]
