"""An independent judge of style: musicnn's MagnaTagATune tagger on the demo's scores.

    .venv/bin/python -m bench.bench_style_judge [--judge-python /tmp/musicnn-venv/bin/python]

The demo film is analysed once; its score is then rendered in five style presets, each
with the same seed (the same notes) through FluidR3 and through MuseScore General, and
through MuseScore once more without the room, the sends and the expression ("-dry"). The
judge lives in its own throwaway environment, never a project dependency (it pins old
packages and weighs ~2.6 GB with TensorFlow). Make it once with:

    python3 -m venv /tmp/musicnn-venv
    /tmp/musicnn-venv/bin/pip install tensorflow-cpu tf-keras librosa
    /tmp/musicnn-venv/bin/pip install --no-deps musicnn

Without it (or without one of the SoundFonts) the bench says so and skips that part.
For each style and SoundFont it reports the top tags, the best rank of the style's
expected tags (solo-piano -> piano, ...), and how the "loud" and "fast" tags of each 3 s
window correlate with the arousal the analysis measured there. Writes
bench/results/style_judge.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bridge.compose import arrange, compose_plan
from bridge.demo import make_demo_timeline
from bridge.music import MusicRequest, SymbolicBackend
from bridge.music.master import master_audio
from bridge.pipeline import analyze_timeline
from bridge.render import arrangement_roles, synthesise
from bridge.style import STYLES

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = HERE / ".cache" / "style_judge"
JUDGE = HERE / "musicnn_judge.py"
DEFAULT_JUDGE_PYTHON = "/tmp/musicnn-venv/bin/python"
WINDOW_S = 3.0  # musicnn's input length; its taggram has one row per window
SOUNDFONTS = {
    "FluidR3": Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    "MuseScore": Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
}
EXPECTED = {
    "solo-piano": ("piano",),
    "cinematic-orchestral": ("classical", "strings", "violin"),
    "ambient-electronic": ("ambient", "electronic", "synth"),
    "acoustic-folk": ("guitar", "country"),
    "lofi": ("slow", "soft", "beat"),
}


def render_all(out: Path, fonts: dict[str, Path], seed: int) -> tuple[dict, np.ndarray]:
    """Render every style x SoundFont; return {(style, font): wav} and arousal per window."""
    timeline = make_demo_timeline(CACHE / "demo")
    analysis = analyze_timeline(timeline)
    wavs = {}
    for style in EXPECTED:
        styled = replace(analysis, style=STYLES[style])
        for font, path in fonts.items():
            name = f"{style}.{font}"
            result = SymbolicBackend(soundfont=path).generate(
                styled, MusicRequest(seed=seed), wav_path=out / f"{name}.wav",
                midi_path=out / f"{name}.mid", stems_dir=out / f"{name}-stems")
            wavs[(style, font)] = result.wav_path
        # the same notes without the room, the sends and the CC11 swells, to see whether
        # the judge hears those at all (humanisation stays: it is in the notes)
        font, path = list(fonts.items())[-1]
        plan = compose_plan(styled.edit, styled.cuts, styled.affect, styled.style, seed=seed)
        played = arrange(plan, styled.style, styled.affect, seed=seed)
        wav = out / f"{style}.{font}-dry.wav"
        render_dry(played, n_samples=styled.edit.n_samples(48_000), soundfont=path, wav=wav)
        wavs[(style, f"{font}-dry")] = wav
    n = int(analysis.edit.duration_s // WINDOW_S)
    centres = (np.arange(n) + 0.5) * WINDOW_S
    arousal = np.asarray(analysis.affect.at(centres)[1], dtype=float)
    return wavs, arousal


def render_dry(played, *, n_samples: int, soundfont: Path, wav: Path) -> Path:
    """The arrangement's notes with no room, no sends and no CC11 swells, mastered to ``wav``."""
    dry = replace(played, room="dry", tracks=tuple(
        replace(t, controls=(), reverb_send=0, chorus_send=0) for t in played.tracks))
    master_audio(synthesise(dry, n_samples=n_samples, soundfont=soundfont),
                 roles=arrangement_roles(dry), out_path=wav, n_samples=n_samples)
    return wav


def judge(python: str, wavs: list[Path]) -> dict:
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([python, str(JUDGE), *map(str, wavs)], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def summarise(tags: dict, style: str, arousal: np.ndarray) -> dict:
    mean = tags["mean"]
    ranked = sorted(mean, key=lambda t: -mean[t])
    expected = EXPECTED[style]
    best = min(ranked.index(t) + 1 for t in expected)
    windows = tags["windows"][: len(arousal)]
    a = arousal[: len(windows)]
    follow = {}
    for tag in ("loud", "fast"):
        p = np.array([w[tag] for w in windows])
        follow[tag] = round(float(np.corrcoef(a, p)[0, 1]), 2) if p.std() > 0 else 0.0
    return {
        "top": [(t, mean[t]) for t in ranked[:3]],
        "expected": {t: (ranked.index(t) + 1, mean[t]) for t in expected},
        "best_expected_rank": best,
        "arousal_r": follow,
    }


def to_markdown(rows: dict) -> str:
    lines = ["| style | SoundFont | top tags | expected tags (rank, p) | r(loud, arousal) "
             "| r(fast, arousal) |", "|---|---|---|---|---|---|"]
    for key, row in rows.items():
        style, font = key.split(".", 1)
        top = ", ".join(f"{t} {p:.2f}" for t, p in row["top"])
        exp = ", ".join(f"{t} #{r} {p:.2f}" for t, (r, p) in row["expected"].items())
        lines.append(f"| {style} | {font} | {top} | {exp} | {row['arousal_r']['loud']} "
                     f"| {row['arousal_r']['fast']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge-python",
                        default=os.environ.get("SCOREBRIDGE_MUSICNN_PYTHON", DEFAULT_JUDGE_PYTHON))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not Path(args.judge_python).is_file():
        print(f"style judge skipped: no musicnn environment at {args.judge_python} "
              "(see this module's docstring to make one)")
        return 0
    fonts = {k: p for k, p in SOUNDFONTS.items() if p.is_file()}
    for missing in sorted(set(SOUNDFONTS) - set(fonts)):
        print(f"{missing} is not installed: its column is skipped")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        wavs, arousal = render_all(Path(tmp), fonts, args.seed)
        tags = judge(args.judge_python, list(wavs.values()))
    rows = {f"{style}.{font}": summarise(tags[str(path)], style, arousal)
            for (style, font), path in wavs.items()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "style_judge.json").write_text(json.dumps(
        {"seed": args.seed, "window_s": WINDOW_S, "arousal": arousal.round(3).tolist(),
         "rows": rows, "wall_s": round(time.perf_counter() - t0, 1)}, indent=1) + "\n")
    table = to_markdown(rows)
    (RESULTS / "style_judge.md").write_text(
        "# Style judge: musicnn (MagnaTagATune) on the demo, same notes, two SoundFonts\n\n"
        + table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
