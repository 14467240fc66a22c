"""The neural music backend: MusicGen steered by the affect curve, fitted to the picture.

    scorebridge score cut.otio -o out --music-backend musicgen \\
        --backend-opt model=~/models/musicgen-small --backend-opt adapter=affect.safetensors

The style's prompt is the text condition for the whole piece (NarraScore's global anchor);
the affect curve steers through the adapter when one is given (without it MusicGen plays
the prompt alone); long timelines go in overlapping windows continued through their codes;
the audio is resampled, bent onto the cuts (``fit``) and finished by the master stage.
Nothing here imports torch: ``bridge.render.musicgen`` does, when a job runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bridge.music.base import MusicOutput, MusicRequest, music_backends
from bridge.music.fit import MAX_STRETCH
from bridge.music.master import finish
from bridge.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from bridge.registry import OptionSpec, parse_bool, parse_choice, parse_number, parse_path
from bridge.types import Analysis

MODEL_ENV = "SCOREBRIDGE_MUSICGEN_MODEL"
_HINT = "see README › Neural backend"


_positive = parse_number(float, above=0)
_non_negative = parse_number(float, at_least=0)
_count = parse_number(int, at_least=0)


MUSICGEN_OPTIONS = (
    OptionSpec("model", f"MusicGen folder or hub id already in the local cache (default "
               f"${MODEL_ENV})", None, str),
    OptionSpec("adapter", "affect adapter (.safetensors from `scorebridge train-adapter`); "
               "without one the curve does not steer", None, parse_path),
    OptionSpec("device", "cpu, cuda, cuda:N or auto", "auto", str),
    OptionSpec("dtype", "float32, bfloat16 or float16 (GPU); default bf16/fp16 on a GPU, "
               "fp32 on the CPU", None, parse_choice("float32", "bfloat16", "float16")),
    OptionSpec("window", "seconds per generation window (at most 30)", 30.0, _positive),
    OptionSpec("overlap", "seconds of the previous window's codes that prompt the next", 10.0,
               _non_negative),
    OptionSpec("guidance", "classifier-free guidance scale (1 = off)", 3.0, _positive),
    OptionSpec("temperature", "sampling temperature", 1.0, _positive),
    OptionSpec("top_k", "sample among the k likeliest codes (0 = all)", 250, _count),
    OptionSpec("uncond_affect", "what guidance's unconditional branch is steered by: same "
               "(the curve; guidance amplifies the text only) or zero (guidance amplifies the "
               "affect too)", "same", parse_choice("same", "zero")),
    OptionSpec("fit", "bend the audio so a beat lands on every cut", True, parse_bool),
    OptionSpec("max_stretch", "largest tempo bend for fit, as a fraction", MAX_STRETCH,
               _non_negative),
    OptionSpec("fit_splice", "where no bend within max_stretch reaches a cut, edit the music on "
               "the cut (a jump of less than a beat, hidden by the picture's cut)", True,
               parse_bool),
    OptionSpec("plan_guided", "MusicGen-Melody only: follow the chroma of the composer's plan",
               False, parse_bool),
    OptionSpec("soundfont", "SoundFont for the plan-guided rendering (default: the system's)",
               None, parse_path),
)


def fit_outcome(fitted: dict, analysis: Analysis, *, max_stretch: float,
                splice: bool) -> tuple[dict, tuple[str, ...]]:
    """How many cuts the fit put a beat on (and how many of those by an edit), and a warning
    naming how many it could not."""
    if "anchors" not in fitted:
        return {}, ()
    anchored = {round(a.target_s, 6): a for a in fitted["anchors"]}
    cuts = [round(c.time_s, 6) for c in analysis.cuts
            if not c.is_gradual and 0 < c.time_s < analysis.edit.duration_s]
    on_a_beat = [c for c in cuts if c in anchored]
    spliced = sum(anchored[c].splice_from_s is not None for c in on_a_beat)
    summary = {"cuts": len(cuts), "cuts_on_a_beat": len(on_a_beat), "cuts_spliced": spliced}
    if len(on_a_beat) == len(cuts):
        return summary, ()
    hint = "" if splice else "; fit_splice=true edits the music on them"
    return summary, (f"fit: {len(cuts) - len(on_a_beat)} of {len(cuts)} cuts have no beat "
                     f"within a {max_stretch:.0%} bend{hint}",)


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def musicgen_unavailable(*, model: str | None = None, adapter: Path | None = None,
                         device: str = "auto", plan_guided: bool = False,
                         soundfont: Path | None = None, **_ignored) -> str:
    """Why the backend cannot run with these options ("" when it can); imports no torch."""
    from bridge.render.musicgen import neural_unavailable_reason

    reason = neural_unavailable_reason()
    if reason:
        return reason
    model = model or os.environ.get(MODEL_ENV)
    if not model:
        return (f"no model given: --backend-opt model=PATH (a MusicGen folder or hub id) or "
                f"${MODEL_ENV}; {_HINT}")
    folder = Path(model).expanduser()
    if folder.exists() or model.startswith((".", "/", "~")) or model.count("/") != 1:
        config = folder / "config.json"
        if not config.is_file():
            return f"no MusicGen weights at {folder}; {_HINT}"
    else:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json")
        if not isinstance(cached, str):
            return (f"{model} is not in the local hub cache; download it first "
                    f"(hf download {model}); {_HINT}")
        config = Path(cached)
    model_type = _model_type(config)
    if model_type not in ("musicgen", "musicgen_melody"):
        return f"{model} holds a {model_type!r} model, not MusicGen; {_HINT}"
    if plan_guided and model_type != "musicgen_melody":
        return f"plan_guided needs a MusicGen-Melody checkpoint; {model} is plain MusicGen"
    if adapter is not None and not Path(adapter).is_file():
        return f"no adapter file at {adapter}"
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return f"device {device!r} asked for but torch sees no GPU"
    if plan_guided:
        from bridge.render import soundfont_available

        return soundfont_available(soundfont)
    return ""


def _model_type(config: Path) -> str:
    import json

    try:
        return str(json.loads(config.read_text()).get("model_type", ""))
    except (OSError, ValueError):
        return ""


@music_backends.register("musicgen", check=musicgen_unavailable, options=MUSICGEN_OPTIONS)
class MusicgenBackend:
    """MusicGen (transformers) with NarraScore's affect adapter, fitted to the cuts."""

    name = "musicgen"

    def __init__(self, *, model: str | None = None, adapter: Path | None = None,
                 device: str = "auto", dtype: str | None = None, window: float = 30.0,
                 overlap: float = 10.0, guidance: float = 3.0, temperature: float = 1.0,
                 top_k: int = 250, uncond_affect: str = "same", fit: bool = True,
                 max_stretch: float = MAX_STRETCH, fit_splice: bool = True,
                 plan_guided: bool = False,
                 soundfont: Path | None = None) -> None:
        from bridge.render.musicgen.generate import GenerationSettings

        self.model = model or os.environ.get(MODEL_ENV)
        self.adapter_path = adapter
        self.device = device
        self.dtype = dtype
        self.settings = GenerationSettings(window_s=window, overlap_s=overlap,
                                           guidance_scale=guidance, temperature=temperature,
                                           top_k=top_k, uncond_control=uncond_affect)
        self.settings.check()  # a bad window fails before any media is read
        self.fit = fit
        self.max_stretch = max_stretch
        self.fit_splice = fit_splice
        self.plan_guided = plan_guided
        self.soundfont = soundfont
        self._loaded = None

    def _load(self):
        if self._loaded is None:
            self._loaded = load_model(self.model, device=self.device, dtype=self.dtype,
                                      adapter=self.adapter_path, plan_guided=self.plan_guided)
        return self._loaded

    def generate(
        self,
        analysis: Analysis,
        request: MusicRequest,
        *,
        wav_path: Path,
        midi_path: Path,
        stems_dir: Path,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> MusicOutput:
        from dataclasses import replace

        edit = analysis.edit
        # a little more than the picture, so fit has music to bend into at the end
        headroom_s = 1.0 if self.fit and analysis.cuts else 0.0
        melody = self._plan_audio(analysis, request) if self.plan_guided else None
        settings = replace(self.settings, seed=request.seed)
        server = _window_server
        if server is None:
            progress("music", 0.0, f"loading {self.model}")
            bundle, adapter = self._load()
            model_sr = bundle.sampling_rate
            windows = self._windows(bundle, adapter, analysis, settings,
                                    edit.duration_s + headroom_s, melody, progress, cancel)
        else:
            progress("music", 0.0, f"windows from {server.describe()}")
            model_sr = server.sampling_rate()
            windows = _served_windows(server, analysis, settings, edit.duration_s + headroom_s,
                                      melody, progress, cancel)
        blocks = _resampled(windows, sr_in=model_sr, sr_out=request.sr)
        fitted: dict = {}
        finished = finish(blocks, roles=("music",), analysis=analysis, request=request,
                          wav_path=wav_path, stems_dir=stems_dir,
                          fit_to_picture=self.fit and bool(analysis.cuts),
                          max_stretch=self.max_stretch, fit_splice=self.fit_splice,
                          fit_report=fitted, progress=progress, cancel=cancel)
        fit_summary, fit_warnings = fit_outcome(fitted, analysis, max_stretch=self.max_stretch,
                                                splice=self.fit_splice)
        return MusicOutput(
            wav_path=finished.path,
            midi_path=None,
            stem_paths=dict(finished.stem_paths),
            plan_summary={"backend": "musicgen", "model": str(self.model),
                          "adapter": str(self.adapter_path or ""),
                          "prompt": analysis.style.prompt(),
                          "window_s": self.settings.window_s,
                          "overlap_s": self.settings.overlap_s,
                          "fit_to_picture": self.fit, **fit_summary,
                          "windows_from": server.describe() if server else "this process"},
            loudness_lufs=finished.integrated_lufs,
            true_peak_dbtp=finished.true_peak_dbtp,
            warnings=(*finished.warnings, *fit_warnings),
        )

    def _windows(self, bundle, adapter, analysis, settings, duration_s, melody, progress,
                 cancel):
        from bridge.render.musicgen.generate import generate_long

        affect = analysis.affect
        for result in generate_long(bundle, text=analysis.style.prompt(), duration_s=duration_s,
                                    valence=affect.valence, arousal=affect.arousal,
                                    hop_s=affect.hop_s, adapter=adapter, settings=settings,
                                    melody_audio=melody, progress=progress, cancel=cancel):
            yield result.audio

    def _plan_audio(self, analysis: Analysis, request: MusicRequest):
        """The composer's rendering (mono, 32 kHz) whose chroma the Melody model follows."""
        from bridge.compose import arrange, compose_plan
        from bridge.render import synthesise

        sr = 32_000
        plan = compose_plan(analysis.edit, analysis.cuts, analysis.affect, analysis.style,
                            seed=request.seed)
        arrangement = arrange(plan, analysis.style, analysis.affect, seed=request.seed)
        blocks = synthesise(arrangement, n_samples=analysis.edit.n_samples(sr), sr=sr,
                            soundfont=self.soundfont)
        mono = [sum(np.asarray(x, np.float32).mean(axis=1) for x in block.values())
                for block in blocks]
        return np.concatenate(mono) if mono else np.zeros(0, np.float32), sr


def load_model(model: str | None, *, device: str = "auto", dtype: str | None = None,
               adapter: Path | None = None, plan_guided: bool = False):
    """(bundle, adapter or None): what the backend loads once, here or in a model server."""
    from bridge.render.musicgen.loader import load_musicgen

    bundle = load_musicgen(model, _resolve_device(device), dtype)
    loaded_adapter = None
    if adapter is not None:
        from bridge.render.musicgen.adapter import load_adapter

        loaded_adapter = load_adapter(Path(adapter), bundle=bundle).eval()
    if plan_guided and not bundle.is_melody:
        from bridge.errors import InvalidOptionError

        raise InvalidOptionError(f"plan_guided needs a MusicGen-Melody checkpoint; "
                                 f"{model} is plain MusicGen", field="plan_guided")
    return bundle, loaded_adapter


# A shell that serves one loaded model to many jobs (a Ray actor, bridge/cluster.py) sets
# this in the worker for the length of a job; None: the backend loads the model here.
_window_server = None


def serve_windows_from(server) -> None:
    """Take windows from ``server`` instead of a model loaded in this process (None: stop).

    ``server`` has ``describe() -> str``, ``sampling_rate() -> int`` and
    ``windows(text=, duration_s=, valence=, arousal=, hop_s=, settings=, melody_audio=)``
    yielding each window's new audio in order, as :func:`generate_long` makes it.
    """
    global _window_server
    _window_server = server


def _served_windows(server, analysis: Analysis, settings, duration_s: float, melody,
                    progress: ProgressFn, cancel: CancelToken):
    affect = analysis.affect
    for i, audio in enumerate(server.windows(
            text=analysis.style.prompt(), duration_s=duration_s, valence=affect.valence,
            arousal=affect.arousal, hop_s=affect.hop_s, settings=settings,
            melody_audio=melody)):
        cancel.raise_if_cancelled()
        progress("music", 0.0, f"window {i + 1} from {server.describe()}")
        yield audio
    progress("music", 1.0, f"windows from {server.describe()}")


def _resampled(chunks, *, sr_in: int, sr_out: int):
    """Mono float chunks at ``sr_in`` -> master blocks at ``sr_out`` (streaming, so the
    window joins do not click)."""
    import soxr

    stream = soxr.ResampleStream(sr_in, sr_out, 1, dtype="float32", quality="HQ")
    for chunk in chunks:
        out = stream.resample_chunk(np.asarray(chunk, np.float32))
        if len(out):
            yield {"music": out[:, None]}
    tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
    if len(tail):
        yield {"music": tail[:, None]}
