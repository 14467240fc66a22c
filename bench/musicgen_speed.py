"""MusicGen backend speed: tokens/s, real-time factor, the adapter's overhead, peak memory.

    .venv/bin/python -m bench.musicgen_speed                       # tiny + small shape, CPU
    .venv/bin/python -m bench.musicgen_speed --shapes small medium --device cuda --batch 1 4

Random weights in the real decoder shapes (``build_random_musicgen``: musicgen-small is 24
blocks x 1024, medium 48 x 1536, 2048 codes, 4 codebooks; the text encoder and EnCodec are
small, as only the decoder steps are timed). For each shape, batch and guidance setting the
own sampling loop generates ``--frames`` frames four times, alternating without and with the
affect injection (gamma != 0 on 75 % of the blocks, the control computed inside the timed
region), and the medians are compared in the same run, so the adapter's overhead is a ratio
against a baseline measured beside it. Because this machine is shared, the headline overhead
comes from one more run that switches the injection on and off at every step (neighbouring
steps cost the same) plus the control's one-off cost per window; the whole-run ratio is
kept as ``adapter_overhead_runs_pct``. One step = one frame of every codebook; tokens/s
counts codebooks x batch per step; RTF = wall seconds / audio seconds (50 Hz frames), so
RTF < 1 is faster than real time. Peak memory: the process's peak RSS on the CPU,
``torch.cuda.max_memory_allocated`` on a GPU. Writes bench/results/musicgen_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "musicgen_speed.json"


def _peak_mb(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(shape: str, *, device: str, batch: int, guidance: float, frames: int,
            repeats: int = 2) -> dict:
    import torch

    from bridge.render.musicgen.adapter import AdapterConfig, AffectAdapter, AffectInjection
    from bridge.render.musicgen.loader import build_random_musicgen
    from bridge.render.musicgen.sampling import encode_condition, sample_codes

    bundle = build_random_musicgen(shape, seed=0)
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    bundle.model.to(device, dtype)
    adapter = AffectAdapter(AdapterConfig.for_model(bundle)).to(device, dtype).eval()
    with torch.no_grad():
        adapter.gamma.fill_(0.1)
    rng = np.random.default_rng(0)
    seconds = frames / bundle.frame_rate_hz + 1
    valence, arousal = rng.uniform(-1, 1, int(seconds) + 1), rng.uniform(-1, 1, int(seconds) + 1)
    condition = encode_condition(bundle, ["calm strings"] * batch, guidance_scale=guidance)
    steps = frames + bundle.num_codebooks - 1

    def run(inject: bool) -> float:
        generator = torch.Generator(device=device).manual_seed(0)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        if inject:
            with AffectInjection(bundle, adapter) as injection, torch.no_grad():
                injection.set_control(adapter.control(valence, arousal, hop_s=1.0, start_frame=0,
                                                      n_frames=frames + bundle.num_codebooks))
                sample_codes(bundle, condition, n_frames=frames, top_k=250, generator=generator,
                             injection=injection)
        else:
            sample_codes(bundle, condition, n_frames=frames, top_k=250, generator=generator)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def alternating() -> tuple[float, float, float]:
        """Median step time with the injection off and on, toggled every step of one run
        (neighbouring steps cost the same, so load on a shared machine cancels out), and
        the control's cost for the window."""
        stamps, states = [], []
        with AffectInjection(bundle, adapter) as injection, torch.no_grad():
            t0 = time.perf_counter()
            control = adapter.control(valence, arousal, hop_s=1.0, start_frame=0,
                                      n_frames=frames + bundle.num_codebooks)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            control_s = time.perf_counter() - t0
            injection.set_control(control)

            def on_step(step, total):
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                stamps.append(time.perf_counter())
                states.append(injection.enabled)
                injection.enabled = not injection.enabled

            sample_codes(bundle, condition, n_frames=frames, top_k=250, injection=injection,
                         on_step=on_step)
        steps_s = np.diff(stamps)  # step i+1's time; it ran with states[i] toggled
        ran_on = ~np.array(states[:-1])
        return (float(np.median(steps_s[~ran_on])), float(np.median(steps_s[ran_on])),
                control_s)

    sample_codes(bundle, condition, n_frames=4, top_k=250)  # warm-up (allocator, kernels)
    base, injected = [], []
    for _ in range(repeats):
        base.append(run(False))
        injected.append(run(True))
    wall, wall_adapter = statistics.median(base), statistics.median(injected)
    step_off, step_on, control_s = alternating()
    audio_s = frames / bundle.frame_rate_hz
    return {
        "shape": shape, "device": device, "batch": batch, "guidance": guidance,
        "frames": frames, "steps": steps,
        "step_ms": 1000 * wall / steps,
        "tokens_per_s": steps * bundle.num_codebooks * batch / wall,
        "rtf": wall / audio_s,
        "rtf_adapter": wall_adapter / audio_s,
        "adapter_overhead_pct": 100 * (step_on - step_off) / step_off,
        "adapter_overhead_runs_pct": 100 * (wall_adapter - wall) / wall,
        "control_pct_of_window": 100 * control_s / wall,
        "runs_s": base, "runs_adapter_s": injected,
        "peak_mb": _peak_mb(device),
        "params_m": sum(p.numel() for p in bundle.decoder.parameters()) / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["tiny", "small"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", nargs="+", type=int, default=[1])
    parser.add_argument("--guidance", nargs="+", type=float, default=[1.0, 3.0])
    parser.add_argument("--frames", type=int, help="frames per run (default: tiny 250, else 30)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for shape in args.shapes:
        for batch in args.batch:
            for guidance in args.guidance:
                frames = args.frames or (250 if shape == "tiny" else 30)
                row = measure(shape, device=args.device, batch=batch, guidance=guidance,
                              frames=frames)
                rows.append(row)
                print(f"{shape:6} {args.device:5} batch {batch} guidance {guidance:3.1f}: "
                      f"{row['step_ms']:8.1f} ms/step  {row['tokens_per_s']:9.1f} tokens/s  "
                      f"RTF {row['rtf']:6.2f}  with adapter {row['rtf_adapter']:6.2f} "
                      f"(runs {row['adapter_overhead_runs_pct']:+.1f} %)  adapter per step "
                      f"{row['adapter_overhead_pct']:+.1f} %, control "
                      f"{row['control_pct_of_window']:.2f} % of a window  "
                      f"peak {row['peak_mb']:.0f} MB",
                      flush=True)
    meta = {"machine": platform.platform(), "processor": platform.processor(),
            "torch": torch.__version__, "threads": args.threads,
            "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
            "loadavg": list(__import__("os").getloadavg())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".part")
    tmp.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
