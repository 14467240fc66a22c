"""A tiny MusicGen served by one Ray actor to many tasks: one model load, windows for all."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="the cluster extra (ray) is not installed")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
torch.set_num_threads(1)

from bridge import cluster  # noqa: E402
from bridge.cli import main  # noqa: E402
from bridge.progress import CancelToken  # noqa: E402

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def ray_local():
    with cluster.ray_session(num_cpus=2) as resources:
        yield resources


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from bridge.render.musicgen.loader import build_random_musicgen

    folder = tmp_path_factory.mktemp("musicgen-tiny")
    bundle = build_random_musicgen("tiny", seed=0)
    bundle.model.save_pretrained(folder)
    bundle.tokenizer.save_pretrained(folder)
    return folder


def test_two_tasks_share_one_load(ray_local, model_dir, tmp_path):
    from bridge.render.musicgen.generate import GenerationSettings

    pool = cluster.ModelPool("musicgen-test",
                             functools.partial(cluster.MusicgenWindows, str(model_dir),
                                               device="cpu"))
    try:
        settings = GenerationSettings(window_s=0.4, overlap_s=0.1, top_k=8, seed=3)
        duration_s = 1.0
        rate = pool.call("sampling_rate")

        def work(progress, cancel, workdir):
            # runs in a Ray task: it reaches the model through the pool, never loads it
            served = cluster.ModelPool.attach("musicgen-test")
            blocks = list(served.stream("windows", text="calm solo piano",
                                        duration_s=duration_s, settings=settings))
            return {"blocks": blocks}

        results: dict[int, dict] = {}

        def run(i: int) -> None:
            results[i] = cluster.run_on_ray(work, lambda *a: None, CancelToken(), tmp_path)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert set(results) == {0, 1}
        stats = pool.stats()
        assert stats["loads"] == 1 and stats["calls"] == 2 + 1  # two tasks + sampling_rate
        for result in results.values():
            blocks = result["blocks"]
            assert len(blocks) == 3  # 0.4 s windows with 0.1 s overlap over 1 s
            audio = np.concatenate(blocks)
            # the windows together span the duration, rounded up to a whole frame
            assert duration_s * rate <= audio.size < (duration_s + 0.05) * rate
            assert np.isfinite(audio).all() and np.abs(audio).max() > 0
        # same settings and seed, served by the same model: the same music for both tasks
        np.testing.assert_array_equal(np.concatenate(results[0]["blocks"]),
                                      np.concatenate(results[1]["blocks"]))
    finally:
        pool.close()


def test_batch_with_musicgen_loads_the_model_once(ray_local, model_dir, tmp_path):
    from bridge_fixtures import make_timeline

    timelines = [str(make_timeline(tmp_path / name, shot_s=0.6, shots=2)) for name in "ab"]
    out = tmp_path / "out"
    code = main(["-q", "batch", *timelines, "-o", str(out), "--music-backend", "musicgen",
                 "--backend-opt", f"model={model_dir}", "--backend-opt", "device=cpu",
                 "--backend-opt", "window=0.4", "--backend-opt", "overlap=0.1",
                 "--backend-opt", "top_k=8", "--sample-rate", "32000"])
    import json

    summary = json.loads((out / "batch.json").read_text())
    assert code == 0, summary
    [pool] = summary["model_pools"]  # no GPU here: one pool, on the CPUs
    assert pool["loads"] == 1 and pool["calls"] >= 2 * 2  # per task: sampling rate + windows
    for row in summary["timelines"]:
        assert row["status"] == "done", row
        assert row["music_from"] == f"Ray model pool {pool['name']}"
        assert row["duration_s"] == pytest.approx(1.2)
        assert (Path(row["out_dir"]) / "score.wav").is_file()
