"""Tag WAV files with musicnn's MagnaTagATune model: run by bench.bench_style_judge in the
judge's own throwaway environment (never a project dependency), not in the project's.

    TF_USE_LEGACY_KERAS=1 /tmp/musicnn-venv/bin/python bench/musicnn_judge.py A.wav [B.wav ...]

Prints one JSON object: {path: {"mean": {tag: p}, "windows": [{tag: p}, ...]}}, with
"windows" the tag probabilities of each 3 s patch (musicnn's own input length).

The stock extractor takes the log of the mel spectrogram in float16, where
``10000 * power`` overflows (inf) on loud bins and changes the tags; this computes the
same log-mel in float32 and feeds it to musicnn's model unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import librosa
import numpy as np
from musicnn import configuration as config
from musicnn import extractor


def batch_data_float32(audio_file, n_frames, overlap):
    """musicnn's ``batch_data`` with the log taken in float32."""
    audio, sr = librosa.load(audio_file, sr=config.SR)
    mel = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=config.FFT_HOP,
                                         n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T
    rep = np.log10(10000 * mel.astype(np.float32) + 1)
    starts = range(0, rep.shape[0] - n_frames + 1, overlap)
    batch = np.stack([rep[s: s + n_frames] for s in starts])
    return batch, rep


def main(paths: list[str]) -> None:
    extractor.batch_data = batch_data_float32
    out = {}
    for path in paths:
        with contextlib.redirect_stdout(sys.stderr):  # the extractor prints its progress
            taggram, tags = extractor.extractor(path, model="MTT_musicnn", input_length=3,
                                                extract_features=False)
        out[path] = {
            "mean": {t: round(float(p), 4) for t, p in zip(tags, taggram.mean(axis=0))},
            "windows": [{t: round(float(p), 4) for t, p in zip(tags, row)} for row in taggram],
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
