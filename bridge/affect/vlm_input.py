"""The VLM sensor's input sequence (NarraScore eq. 2): X = [T_inst, τ1, V1, τ2, V2, …].

A versioned system instruction, then for every 1 Hz frame its semantic clock "Time: t s"
followed by the frame's image tokens. The frame -> token-span map is recorded while the
sequence is built (not searched for afterwards), so the probe pools exactly the tokens of
each frame. No torch here: this module only needs a tokenizer.

Each model family wraps the sequence in its own chat format. When the checkpoint's
tokenizer carries a chat template, that template is rendered with one image entry per
frame and its image markers are expanded to the frame's tokens; when it has none, or it
does not render one marker per frame, the family's built-in layout (the same format
written out) is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Bump when the wording changes: a probe is trained against one instruction.
INSTRUCTION_VERSION = "affect-v1"
INSTRUCTION = (
    "You are watching an edited film one frame per second. Do not list objects, people or "
    "camera work. Follow the story: how narrative tension builds and releases, and how the "
    "emotion evolves from moment to moment, in pleasantness (valence) and intensity "
    "(arousal)."
)


def clock_text(time_s: float) -> str:
    """The semantic clock τ_t; whole seconds print without a decimal point."""
    return f"Time: {time_s:g} s"


@dataclass(frozen=True)
class Layout:
    """How one model family writes an interleaved image conversation.

    ``image_marker`` is what the chat template emits per image; ``frame_block`` how one
    frame's image tokens are written, with ``{image}`` repeated ``n`` times.
    """

    model_type: str
    image_token: str  # the token whose runs hold each frame's visual features
    image_marker: str
    prefix: str  # before the first clock; {instruction} is filled in
    between: str  # after each frame block
    suffix: str
    before_image: tuple[str, ...] = ()  # special tokens that open each frame block
    after_image: tuple[str, ...] = ()


LAYOUTS: dict[str, Layout] = {
    # Qwen2 chat format, as VideoLLaMA3's language model uses it
    "video_llama_3": Layout(
        model_type="video_llama_3",
        image_token="<|image_pad|>",
        image_marker="<|image_pad|>",
        prefix="<|im_start|>system\n{instruction}<|im_end|>\n<|im_start|>user\n",
        between="\n",
        suffix="<|im_end|>\n<|im_start|>assistant\n",
    ),
    # Idefics3 / SmolVLM chat format; each image is wrapped as the processor wraps a
    # single unsplit image
    "smolvlm": Layout(
        model_type="smolvlm",
        image_token="<image>",
        image_marker="<image>",
        prefix="<|im_start|>System: {instruction}<end_of_utterance>\nUser: ",
        between="\n",
        suffix="<end_of_utterance>\nAssistant:",
        before_image=("<fake_token_around_image>", "<global-img>"),
        after_image=("<fake_token_around_image>",),
    ),
}


@dataclass(frozen=True)
class Assembled:
    """One input sequence and where each frame's tokens sit in it."""

    input_ids: list[int]
    frame_spans: tuple[tuple[int, int], ...]  # [start, end) positions of frame t's image tokens
    clock_spans: tuple[tuple[int, int], ...]  # [start, end) positions of "Time: t s"
    times_s: tuple[float, ...]
    template: str  # "chat-template" or "built-in"


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def _template_pieces(tokenizer: Any, layout: Layout, instruction: str,
                     times_s: Sequence[float]) -> tuple[list[str], list[str]] | None:
    """The chat template's text around each frame, or None.

    Returns (heads, gaps): heads[k] is the text before clock k (heads[T] the text after
    the last frame), gaps[k] the text between clock k and its image. None when there is
    no template or it does not render one image marker per frame.
    """
    if not getattr(tokenizer, "chat_template", None):
        return None
    clock_mark = "\x00CLOCK\x00"
    content: list[dict[str, str]] = []
    for _ in times_s:
        content += [{"type": "text", "text": clock_mark}, {"type": "image"}]
    messages = [{"role": "system", "content": [{"type": "text", "text": instruction}]},
                {"role": "user", "content": content}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False,
                                             add_generation_prompt=True)
    except Exception:  # a template that cannot take this message shape
        return None
    if not isinstance(text, str) or text.count(layout.image_marker) != len(times_s) \
            or text.count(clock_mark) != len(times_s):
        return None
    heads: list[str] = []
    gaps: list[str] = []
    rest = text
    for _ in times_s:
        head, rest = rest.split(clock_mark, 1)
        gap, rest = rest.split(layout.image_marker, 1)
        heads.append(head)
        gaps.append(gap)
    heads.append(rest)
    return heads, gaps


def assemble(tokenizer: Any, layout: Layout, times_s: Sequence[float],
             tokens_per_frame: Sequence[int], *, instruction: str = INSTRUCTION) -> Assembled:
    """Token ids of X = [T_inst, τ1, V1, …, τT, VT] with the frame and clock spans."""
    if len(times_s) != len(tokens_per_frame):
        raise ValueError("one token count per frame is needed")
    image_id = tokenizer.convert_tokens_to_ids(layout.image_token)
    open_ids = [tokenizer.convert_tokens_to_ids(t) for t in layout.before_image]
    close_ids = [tokenizer.convert_tokens_to_ids(t) for t in layout.after_image]
    rendered = _template_pieces(tokenizer, layout, instruction, times_s)
    template = "chat-template"
    if rendered is None:
        template = "built-in"
        heads = [layout.prefix.format(instruction=instruction)]
        heads += [layout.between] * (len(times_s) - 1) + [layout.between + layout.suffix]
        gaps = [""] * len(times_s)
    else:
        heads, gaps = rendered
    ids: list[int] = _ids(tokenizer, heads[0])
    frames: list[tuple[int, int]] = []
    clocks: list[tuple[int, int]] = []
    for k, n in enumerate(tokens_per_frame):
        clock_ids = _ids(tokenizer, clock_text(times_s[k]))
        clocks.append((len(ids), len(ids) + len(clock_ids)))
        ids += clock_ids + _ids(tokenizer, gaps[k]) + open_ids
        frames.append((len(ids), len(ids) + n))
        ids += [image_id] * n + close_ids + _ids(tokenizer, heads[k + 1])
    return Assembled(ids, tuple(frames), tuple(clocks), tuple(float(t) for t in times_s),
                     template)
