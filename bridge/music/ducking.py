"""The dialogue side-chain: the timeline's own audio clips -> a ducking envelope.

Only the side-chain's level per 10 ms is kept, so an hour of dialogue costs a few MB.
"""

from __future__ import annotations

from bridge.progress import NEVER_CANCELLED, CancelToken
from bridge.types import Edit

SIDECHAIN_SR = 8_000  # dialogue detection needs level, not fidelity


def dialogue_ducking(edit: Edit, *, depth_db: float, cancel: CancelToken = NEVER_CANCELLED,
                     chunk_s: float = 60.0):
    """Ducking envelope from the timeline's own audio clips, read a minute at a time."""
    from bridge.media import decode_audio
    from bridge.mix import SideChainLevel, ducking_from_level

    level = SideChainLevel(duration_s=edit.duration_s)
    for clip in edit.audio_clips:
        if clip.media_missing or clip.media_path is None or clip.speed == 0:
            continue
        start_s = clip.record_start_s
        while start_s < clip.record_end_s:
            cancel.raise_if_cancelled()
            end_s = min(start_s + chunk_s, clip.record_end_s)
            media_a, media_b = sorted((clip.media_time(start_s), clip.media_time(end_s)))
            audio = decode_audio(clip.media_path, max(0.0, media_a), media_b, sr=SIDECHAIN_SR)
            if clip.speed < 0:  # a reversed clip plays its media backwards
                audio = audio[::-1]
            # at speed s, s media seconds pass per record second
            level.add(audio, sr=SIDECHAIN_SR * abs(clip.speed), start_s=start_s)
            start_s = end_s
    return ducking_from_level(level, depth_db=depth_db)
