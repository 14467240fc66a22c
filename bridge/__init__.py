"""Scorebridge: score an edited timeline with music that follows its story.

The public API is this module: ``score_timeline``, ``analyze_timeline`` and ``ScoreOptions``.
"""

from bridge.config import ScoreOptions
from bridge.errors import BridgeError

__all__ = ["BridgeError", "ScoreOptions", "analyze_timeline", "score_timeline"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The pipeline pulls in every stage; import it only when asked for.
    if name in ("analyze_timeline", "score_timeline"):
        from bridge import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
