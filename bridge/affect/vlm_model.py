"""A frozen vision-language backbone: frames in, one pooled hidden state per frame out.

Imports torch and transformers at the top: only bridge.affect.vlm (and the training
command) import this module, lazily, after checking that the neural extra is installed.

The frames go through each family's *image* processor (its video processor needs
torchvision); the interleaved prompt is built by ``vlm_input.assemble``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from PIL import Image

from bridge.affect.vlm_input import INSTRUCTION, LAYOUTS, Assembled, Layout, assemble
from bridge.errors import BackendUnavailableError


def _image_processor(model_type: str, source: str, frame_side: int) -> Any:
    if model_type == "video_llama_3":
        from transformers.models.video_llama_3.image_processing_pil_video_llama_3 import (
            VideoLlama3ImageProcessorPil,
        )
        # bound the tokens per frame: max_pixels is the area a frame is resized within
        return VideoLlama3ImageProcessorPil.from_pretrained(
            source, max_pixels=frame_side * frame_side,
            min_pixels=min(frame_side * frame_side, 112 * 112))
    from transformers.models.smolvlm.image_processing_pil_smolvlm import (
        SmolVLMImageProcessorPil,
    )
    # one image per frame: splitting into tiles would multiply the tokens
    return SmolVLMImageProcessorPil.from_pretrained(source, do_image_splitting=False)


@dataclass
class Batch:
    """Model inputs for one window, plus where each frame's tokens are."""

    inputs: dict[str, torch.Tensor]
    assembled: Assembled


class Backbone:
    """A frozen VLM with its tokenizer and image processor; never trained here."""

    def __init__(self, model: Any, tokenizer: Any, image_processor: Any, *,
                 layer: int = -1, source: str = "") -> None:
        model_type = model.config.model_type
        if model_type not in LAYOUTS:
            raise BackendUnavailableError(
                f"model type {model_type!r} is not supported by the VLM sensor; "
                f"supported: {', '.join(sorted(LAYOUTS))}", path=source or None, field="vlm")
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.layout: Layout = LAYOUTS[model_type]
        self.layer = layer
        self.source = source
        self.largest_batch_tokens = 0  # longest sequence passed to the model so far
        self.image_workers = min(8, os.cpu_count() or 1)
        n_layers = model.config.text_config.num_hidden_layers
        if not -(n_layers + 1) <= layer <= n_layers:
            raise BackendUnavailableError(
                f"layer {layer} is outside the model's {n_layers} layers (0 = embeddings)",
                field="layer")

    @classmethod
    def load(cls, source: str, *, layer: int = -1, frame_side: int = 336,
             dtype: str = "auto", device: str = "cpu") -> Backbone:
        """From a local folder or a hub id (the user's machine fetches and caches it)."""
        from transformers import AutoConfig, AutoModelForImageTextToText, AutoTokenizer

        try:
            config = AutoConfig.from_pretrained(source)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0]
            raise BackendUnavailableError(f"cannot load a model config: {first}",
                                          path=source, field="vlm") from None
        if config.model_type not in LAYOUTS:
            raise BackendUnavailableError(
                f"model type {config.model_type!r} is not supported by the VLM sensor; "
                f"supported: {', '.join(sorted(LAYOUTS))}", path=source, field="vlm")
        torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
        model = AutoModelForImageTextToText.from_pretrained(source, dtype=torch_dtype)
        model = model.to(device)
        tokenizer = AutoTokenizer.from_pretrained(source)
        return cls(model, tokenizer, _image_processor(config.model_type, source, frame_side),
                   layer=layer, source=source)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.text_config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------ inputs

    def _pixels_serial(self, images: Sequence[Image.Image]) -> tuple[
            dict[str, torch.Tensor], list[int]]:
        """Image-processor tensors and the number of image tokens of each frame."""
        if self.layout.model_type == "video_llama_3":
            out = self.image_processor(images=list(images), return_tensors="pt")
            merge = out["image_merge_sizes"]
            counts = [int(g.prod()) // int(m) ** 2 for g, m in zip(out["image_grid_thw"], merge)]
            return {k: out[k] for k in ("pixel_values", "image_grid_thw",
                                        "image_merge_sizes")}, counts
        out = self.image_processor(images=[[im] for im in images], return_tensors="pt")
        pixels = out["pixel_values"]  # (T, 1, 3, H, W): one unsplit image per frame
        mask = out["pixel_attention_mask"]
        vision = self.model.config.vision_config
        per_image = (vision.image_size // vision.patch_size) ** 2 \
            // self.model.config.scale_factor ** 2
        return {"pixel_values": pixels.reshape(1, -1, *pixels.shape[-3:]),
                "pixel_attention_mask": mask.reshape(1, -1, *mask.shape[-2:])}, \
            [per_image] * len(images)

    def _pixels(self, images: Sequence[Image.Image]) -> tuple[dict[str, torch.Tensor],
                                                               list[int]]:
        """``_pixels_serial`` over up to ``image_workers`` contiguous slices at once.

        The image processors resize and normalise frame by frame on the host, and on a GPU
        that is most of the pipeline's time; PIL and NumPy release the GIL for that work,
        so threads help. Every frame is processed on its own in either case, so the
        result is the same; the pieces are joined along the frame (or patch) axis.
        """
        workers = min(self.image_workers, len(images))
        if workers <= 1:
            return self._pixels_serial(images)
        bounds = [round(k * len(images) / workers) for k in range(workers + 1)]
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(self._pixels_serial,
                                  [images[a:b] for a, b in pairwise(bounds)]))
        counts = [n for _, part_counts in parts for n in part_counts]
        # video_llama_3: patches are rows; smolvlm: frames are dim 1 of (1, T, ...)
        axis = 0 if self.layout.model_type == "video_llama_3" else 1
        merged = {key: torch.cat([p[key] for p, _ in parts],
                                 dim=axis if parts[0][0][key].dim() > 1 else 0)
                  for key in parts[0][0]}
        return merged, counts

    def batch(self, frames: Sequence[np.ndarray], times_s: Sequence[float],
              *, instruction: str = INSTRUCTION) -> Batch:
        """One window's model inputs: eq. 2's interleaved sequence and the pixels."""
        images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
        pixels, counts = self._pixels(images)
        assembled = assemble(self.tokenizer, self.layout, times_s, counts,
                             instruction=instruction)
        inputs = {"input_ids": torch.tensor([assembled.input_ids])}
        inputs.update(pixels)
        return Batch({k: v.to(self.device) for k, v in inputs.items()}, assembled)

    # ------------------------------------------------------------ states

    @torch.no_grad()  # not inference_mode: the states feed probe training
    def pooled_states(self, frames: Sequence[np.ndarray], times_s: Sequence[float],
                      *, instruction: str = INSTRUCTION) -> torch.Tensor:
        """(T, hidden) float32: the chosen layer's states mean-pooled over each frame's tokens."""
        if len(frames) == 0:
            return torch.zeros(0, self.hidden_size)
        batch = self.batch(frames, times_s, instruction=instruction)
        self.largest_batch_tokens = max(self.largest_batch_tokens,
                                        len(batch.assembled.input_ids))
        # the base model: the language head's logits are not needed
        out = self.model.model(**batch.inputs, output_hidden_states=True)
        states = out.hidden_states[self.layer][0]
        return torch.stack([states[a:b].float().mean(dim=0)
                            for a, b in batch.assembled.frame_spans]).cpu()

    @torch.no_grad()
    def describe(self, frames: Sequence[np.ndarray], prompt: str, *,
                 times_s: Sequence[float] | None = None, max_new_tokens: int = 160,
                 sample: bool = False, seed: int = 0) -> str:
        """Free text generated about a few frames (the global anchor's keyframes): greedy,
        or sampled (a retry after an unusable answer) with ``seed``."""
        images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
        pixels, counts = self._pixels(images)
        times = list(times_s) if times_s is not None else list(range(len(images)))
        assembled = assemble(self.tokenizer, self.layout, times, counts, instruction=prompt)
        ids = torch.tensor([assembled.input_ids], device=self.device)
        torch.manual_seed(seed)
        out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                  **{k: v.to(self.device) for k, v in pixels.items()},
                                  max_new_tokens=max_new_tokens, do_sample=sample,
                                  **({"temperature": 0.8, "top_p": 0.95} if sample else {}))
        return self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)

