"""The global semantic anchor: parsing a VLM's answer into a playable Style."""

from __future__ import annotations

import pytest

from bridge.style import STYLES
from bridge.style.anchor import FIELDS, anchor_style, parse_anchor, preset_for

FALLBACK = STYLES["cinematic-orchestral"]
VALID = ('Sure! ```json\n{"genre": "retro synthwave", "instrumentation": "analog synth '
         'arpeggios and gated drums", "atmosphere": "nostalgic night drive", '
         '"rhythm": "steady driving pulse"}\n```')


def answers(*texts):
    calls = []

    def describe(attempt):
        calls.append(attempt)
        return texts[min(attempt, len(texts) - 1)]
    return describe, calls


def test_valid_answer_becomes_the_style_on_the_matching_preset():
    describe, calls = answers(VALID)
    style, warnings = anchor_style(describe, FALLBACK)
    assert warnings == [] and calls == [0]
    assert style.genre == "retro synthwave"
    assert style.instrumentation == "analog synth arpeggios and gated drums"
    assert style.atmosphere == "nostalgic night drive"
    assert style.rhythm == "steady driving pulse"
    # the composer plays the synthwave preset's programs and tempo range
    synthwave = STYLES["synthwave"]
    assert (style.name, style.programs, style.bpm_min) == (
        "synthwave", synthwave.programs, synthwave.bpm_min)
    assert "retro synthwave" in style.prompt()


def test_field_lines_and_aliases_are_accepted():
    text = ("Genre/Style: solo piano ballad\nTimbre: felt piano\nMood: tender, reflective\n"
            "Pacing: slow rubato\nThe frames show a kitchen.")
    fields = parse_anchor(text)
    assert fields == {"genre": "solo piano ballad", "instrumentation": "felt piano",
                      "atmosphere": "tender, reflective", "rhythm": "slow rubato"}
    assert preset_for(fields, default="cinematic-orchestral") == "solo-piano"


def test_partial_answer_keeps_its_fields_and_warns():
    describe, calls = answers('{"genre": "acoustic folk", "atmosphere": "warm"}')
    style, warnings = anchor_style(describe, FALLBACK, retries=2)
    assert calls == [0, 1, 2]  # asked again for the missing fields
    assert style.genre == "acoustic folk" and style.atmosphere == "warm"
    folk = STYLES["acoustic-folk"]
    assert style.instrumentation == folk.instrumentation and style.rhythm == folk.rhythm
    assert len(warnings) == 1 and "instrumentation, rhythm" in warnings[0]


@pytest.mark.parametrize("garbage", ["", "I cannot help with that.", "{not json", "[1, 2]",
                                     '{"genre": 3, "rhythm": ""}', '{"colour": "blue"}',
                                     "\x00\x01\ufffd" * 50])
def test_garbage_falls_back_to_the_embedded_style_with_a_warning(garbage):
    describe, calls = answers(garbage)
    style, warnings = anchor_style(describe, FALLBACK, retries=2)
    assert style == FALLBACK
    assert calls == [0, 1, 2]
    assert len(warnings) == 1 and "cinematic-orchestral" in warnings[0]


def test_a_retry_that_answers_fully_wins():
    describe, calls = answers("???", VALID)
    style, warnings = anchor_style(describe, FALLBACK)
    assert calls == [0, 1] and warnings == [] and style.name == "synthwave"


def test_overlong_or_non_text_values_are_not_fields():
    text = '{"genre": "%s", "instrumentation": ["strings"], "atmosphere": "calm", ' \
           '"rhythm": "slow"}' % ("x" * 500)
    assert set(parse_anchor(text)) == {"atmosphere", "rhythm"}
    assert set(FIELDS) == set(parse_anchor(VALID))


def test_nothing_recognisable_keeps_the_fallback_preset():
    fields = {"genre": "something", "instrumentation": "things", "atmosphere": "a mood",
              "rhythm": "a pace"}
    assert preset_for(fields, default="lofi") == "lofi"
