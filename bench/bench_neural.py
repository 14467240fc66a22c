"""Neural analysis benchmarks (not tests): the VLM probe pipeline and TransNetV2.

    .venv/bin/python -m bench.bench_neural probe --models tiny-smolvlm tiny-videollama3 \\
        smolvlm2-256m --frames 32                       # CPU frames/s
    python3 -m bench.bench_neural probe --models videollama3-2b --frames 600 \\
        --device cuda --dtype bfloat16                  # a 10-minute video at 1 Hz on a GPU
    .venv/bin/python -m bench.bench_neural cuts          # TransNetV2 vs signal, real videos

probe: frames/s of the whole probe pipeline (image processor, eq. 2 assembly, frozen
backbone, span pooling, probe) over ``--frames`` in-memory 1 Hz frames at ``--frame-side``
px, in the sensor's overlapping windows; decoding is not included (bench_decode measures
it). Models have random weights in published shapes (tests/unit/tiny_vlm.py SHAPES). One
warm-up window runs first. On CUDA the peak allocated GPU memory is reported.

cuts: both detectors on ../shared/realworld/videos (truth lists: PySceneDetect's detector
consensus, hard cuts only), cut precision/recall/F1 at ±1 frame and wall seconds.

Results are appended to bench/results/neural.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "neural.json"
VIDEOS = HERE.parent.parent / "shared" / "realworld" / "videos"
sys.path.insert(0, str(HERE.parent / "tests" / "unit"))  # the random-model builders


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def frames_like_film(n: int, side: int, seed: int = 0) -> list[np.ndarray]:
    """16:9 frames: a drifting colour gradient with noise, different every second."""
    rng = np.random.default_rng(seed)
    h = side * 9 // 16
    y, x = np.mgrid[0:h, 0:side].astype(np.float32)
    out = []
    for i in range(n):
        base = np.stack([(x / side * 200 + 20 * i) % 255, (y / h * 200 + 7 * i) % 255,
                         np.full_like(x, (13 * i) % 255)], axis=-1)
        noise = rng.normal(0, 12, base.shape)
        out.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return out


def build(name: str, frame_side: int):
    from tiny_vlm import build_shaped, build_vlm

    if name == "tiny-smolvlm":
        return build_vlm("smolvlm", frame_side=frame_side)
    if name == "tiny-videollama3":
        return build_vlm("video_llama_3", frame_side=frame_side)
    return build_shaped(name, frame_side=frame_side)


def bench_probe(name: str, *, frames: int, window: int, overlap: int, frame_side: int,
                device: str, dtype: str, threads: int) -> dict:
    import torch

    from bridge.affect.vlm import window_plan, windowed
    from bridge.affect.vlm_model import Backbone
    from bridge.affect.vlm_probe import AffectProbe, ProbeConfig

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    # built where it runs, in its dtype: a 2B model is never materialised in float32 on
    # the host
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model, tok, processor = build(name, frame_side)
    finally:
        torch.set_default_dtype(torch.float32)
    backbone = Backbone(model, tok, processor, source=name)
    # time spent in the family's image processor (PIL resize and normalise, host side)
    pixels_s = [0.0]
    image_processing = backbone._pixels

    def timed_pixels(images):
        t = time.perf_counter()
        try:
            return image_processing(images)
        finally:
            pixels_s[0] += time.perf_counter() - t

    backbone._pixels = timed_pixels
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    probe = AffectProbe(ProbeConfig(in_dim=backbone.hidden_size, hidden=256)).eval()
    pics = frames_like_film(frames, frame_side)
    times = [float(t) for t in range(frames)]

    def predict(f, t):
        return probe.predict(backbone.pooled_states(f, t)).numpy()

    def load(a, b):
        return pics[a:b], times[a:b]

    predict(pics[:window], times[:window])  # warm-up (allocator, kernels)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    backbone.largest_batch_tokens = 0
    pixels_s[0] = 0.0
    c0, t0 = _cpu_s(), time.perf_counter()
    curve = windowed(predict, load, frames, window=window, overlap=overlap)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    row = {
        "bench": "probe", "model": name, "params_m": round(params / 1e6, 1),
        "device": device if not device.startswith("cuda")
        else torch.cuda.get_device_name(0), "dtype": dtype, "threads": threads,
        "frames": frames, "window": window, "overlap": overlap, "frame_side": frame_side,
        "windows": len(window_plan(frames, window=window, overlap=overlap)),
        "largest_window_tokens": backbone.largest_batch_tokens,
        "wall_s": round(wall, 3), "cpu_s": round(_cpu_s() - c0, 3),
        "frames_per_s": round(frames / wall, 3),
        "image_processor_s": round(pixels_s[0], 3), "build_s": round(build_s, 2),
        "curve_finite": bool(np.isfinite(curve).all()),
    }
    if device.startswith("cuda"):
        row["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return row


def bench_cuts() -> list[dict]:
    import torch

    from bridge.analysis.cuts import find_cuts
    from bridge.analysis.picture import observe_picture
    from bridge.analysis.transnet import detect_file, whole_file_edit
    from bridge.eval.metrics import cut_f1

    torch.set_num_threads(1)
    rows = []
    totals = {"signal": [0, 0, 0], "transnet": [0, 0, 0], "transnet+gradual": [0, 0, 0]}
    for truth_path in sorted(VIDEOS.glob("*.truth.json")):
        path = truth_path.with_name(truth_path.name.removesuffix(".truth.json"))
        truth = json.loads(truth_path.read_text())["cuts_s"]
        edit = whole_file_edit(path)
        tol = 1.0 / float(edit.rate) + 1e-3
        t0 = time.perf_counter()
        signal = [c.time_s for c in find_cuts(edit, picture=observe_picture(edit))
                  if c.kind == "detected"]
        signal_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = detect_file(path)
        neural_s = time.perf_counter() - t0
        hard = [b.time_s for b in found if b.kind == "cut"]
        # recall only: a listed cut found as a hard cut or as the first or last frame of a
        # detected fade/dissolve (ContentDetector lists the start of a fade-in as a cut)
        edges = hard + [e for b in found if b.kind != "cut" for e in (b.start_s, b.end_s)]
        near = cut_f1(edges, truth, tol_s=tol)["tp"]
        for label, times_s, seconds in (("signal", signal, signal_s),
                                        ("transnet", hard, neural_s)):
            score = cut_f1(times_s, truth, tol_s=tol)
            rows.append({"bench": "cuts", "video": path.name, "detector": label,
                         "seconds": round(seconds, 2), **score,
                         "gradual": [(b.kind, round(b.start_s, 3), round(b.end_s, 3))
                                     for b in found if b.kind != "cut"]
                         if label == "transnet" else []})
            for k, key in enumerate(("tp", "found", "truth")):
                totals[label][k] += score[key]
        for k, value in enumerate((near, len(found), len(truth))):
            totals["transnet+gradual"][k] += value
    for label, (tp, found_n, truth_n) in totals.items():
        p, r = tp / max(found_n, 1), tp / max(truth_n, 1)
        row = {"bench": "cuts", "video": "ALL", "detector": label, "tp": tp,
               "found": found_n, "truth": truth_n, "recall": round(r, 3)}
        if label != "transnet+gradual":  # the truth lists no gradual transitions: no precision
            row.update(precision=round(p, 3), f1=round(2 * p * r / (p + r) if p + r else 0, 3))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--models", nargs="+", default=["tiny-smolvlm", "tiny-videollama3",
                                                   "smolvlm2-256m"])
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--overlap", type=int, default=8)
    p.add_argument("--frame-side", type=int, default=336)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    c = sub.add_parser("cuts")
    c.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.what == "probe":
        rows = [bench_probe(m, frames=args.frames, window=args.window, overlap=args.overlap,
                            frame_side=args.frame_side, device=args.device, dtype=args.dtype,
                            threads=args.threads) for m in args.models]
    else:
        rows = bench_cuts()
    stamp = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "host": platform.node(),
             "cpus": os.cpu_count(), "load": os.getloadavg()[0]}
    for row in rows:
        print(json.dumps(row))
    previous = json.loads(args.out.read_text()) if args.out.is_file() else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(previous + [{**stamp, **r} for r in rows], indent=1))
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
