"""Re-scoring after a recut: what changed, and which music can stay."""

from bridge.recut.diff import KeptSpan, ShotChange, TimelineDiff, diff_edits

__all__ = ["KeptSpan", "ShotChange", "TimelineDiff", "diff_edits"]
