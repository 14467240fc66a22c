"""`scorebridge score --report`: the report page, rendered by a real headless Chromium.

The page is checked the way an editor sees it: Chromium parses it (its serialised DOM is
read back), draws it (the screenshot must show the plots' own colours), and must log no
console messages. The numbers in the page must be the ones the pipeline reports.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from fixture_timelines import shots_timeline
from matplotlib import image as mpimg
from test_eval_cli import arc_scene, build_arc_timeline

pytestmark = pytest.mark.timeout(600)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AROUSAL_RED = np.array([0xC0, 0x39, 0x2B]) / 255  # the report's arousal line colour
INTENSITY_GREEN = np.array([0x1E, 0x84, 0x49]) / 255  # the measured intensity line


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    # Flags that keep a headless run from reaching the network or needing a GPU or sandbox.
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )


class PageParser(HTMLParser):
    """The parts of the serialised DOM the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.audio: list[dict] = []
        self.title = ""
        self.metric_headers: list[str] = []
        self.metric_rows: list[list[str]] = []
        self._in_metrics = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_thead = False
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "audio":
            self.audio.append(a)
        elif tag == "title":
            self._in_title = True
        elif tag == "table" and a.get("id") == "metrics":
            self._in_metrics = True
        elif self._in_metrics and tag == "thead":
            self._in_thead = True
        elif self._in_metrics and tag == "tr":
            self._row = []
        elif self._in_metrics and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "table" and self._in_metrics:
            self._in_metrics = False
        elif self._in_metrics and tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif self._in_metrics and tag == "tr" and self._row is not None:
            (self.metric_headers.extend if self._in_thead else self.metric_rows.append)(
                self._row)
            self._row = None
        elif tag == "thead":
            self._in_thead = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def scored_with_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    timeline = build_arc_timeline(folder, name="Harbour cut v3")
    out = folder / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "-q", "score", str(timeline), "-o", str(out),
         "--report", "--style", "cinematic-orchestral"],
        capture_output=True, text=True, timeout=500,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


@pytest.fixture(scope="module")
def rendered(scored_with_report, tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; it belongs in "
                    "the Makefile's APT_PACKAGES)")
    out, _ = scored_with_report
    work = tmp_path_factory.mktemp("chromium")
    url = (out / "report.html").as_uri()
    dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url, profile=work / "p1")
    assert dom.returncode == 0, dom.stderr
    shot = work / "report.png"
    screenshot = chromium(f"--screenshot={shot}", "--window-size=1400,2200", url,
                          profile=work / "p2")
    assert screenshot.returncode == 0, screenshot.stderr
    # Keep a copy for people to look at after the run.
    shutil.copy(shot, out / "report-screenshot.png")
    return dom, shot


def test_score_report_files_and_metrics(scored_with_report):
    out, stdout = scored_with_report
    assert f"wrote {out / 'report.html'}" in stdout
    for name in ("report.html", "report-affect.png", "report-alignment.png", "score.wav"):
        assert (out / name).is_file(), name
    # Baselines were rendered elsewhere and removed; no staging folder was left behind.
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".") or "tempo" in p.name
                 or "flat" in p.name]
    assert leftovers == []
    # The eval numbers were merged into the result the CLI prints.
    printed = dict(re.findall(r"^\s+(\w+): (-?[\d.]+|nan)$", stdout, flags=re.M))
    assert float(printed["cut_beat_hit_rate_50ms"]) >= 0.9
    assert float(printed["arousal_pearson"]) >= 0.6
    assert float(printed["length_delta_samples"]) == 0
    assert "chord_at_cut_recall_beat" in printed


def test_chromium_parses_the_report_without_console_messages(rendered, scored_with_report):
    dom, _ = rendered
    out, stdout = scored_with_report
    console = [line for line in dom.stderr.splitlines()
               if ":CONSOLE" in line or "Uncaught" in line]
    assert console == []

    page = PageParser()
    page.feed(dom.stdout)
    assert page.title == "Score report — Harbour cut v3"
    assert page.metric_headers == ["metric", "ours", "constant-tempo", "flat-affect"]
    assert len(page.metric_rows) >= 10
    assert all(len(row) == 4 for row in page.metric_rows)
    rows = {row[0]: row[1:] for row in page.metric_rows}
    ours, steady, _ = (int(v.rstrip("%")) for v in rows["Cuts on a beat (±50 ms)"])
    printed = float(re.search(r"cut_beat_hit_rate_50ms: ([\d.]+)", stdout).group(1))
    assert ours == round(100 * printed)
    assert steady < ours

    # The player points at the score beside the page.
    assert [a.get("src") for a in page.audio] == ["score.wav"]
    assert "controls" in page.audio[0]
    assert (out / page.audio[0]["src"]).is_file()

    # Every figure is inline, decodes to a real PNG, and matches the copy written beside it.
    assert len(page.images) == 2
    beside = {(out / name).read_bytes() for name in ("report-affect.png",
                                                      "report-alignment.png")}
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(PNG_MAGIC)
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 1000
        assert png in beside


def test_screenshot_shows_the_plots(rendered):
    _, shot = rendered
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2200, 1400)
    assert pixels.std() > 0.05  # not a blank page

    def share_near(colour: np.ndarray) -> float:
        return float(np.mean(np.abs(pixels - colour).max(axis=-1) < 0.08))

    # The plot lines' own colours on screen: the embedded figures were decoded and drawn.
    # (With the images removed the page measured 0 and 1.2e-4: the green text is close.)
    assert share_near(AROUSAL_RED) > 2e-4
    assert share_near(INTENSITY_GREEN) > 5e-4


def test_the_analyser_warms_up_once_in_the_background():
    """A report's first measurement need not load librosa and numba's kernels itself: the
    pipeline starts one background warm-up per process, which runs every measure once."""
    import threading

    from bridge.quality import report

    report.start_warm_up()
    report.start_warm_up()  # a second job does not start another
    warming = [t for t in threading.enumerate() if t.name == "scorebridge-eval-warm-up"]
    assert len(warming) <= 1 and report._warming is not None
    report._warming.join(timeout=120)
    assert not report._warming.is_alive()
    from bridge.eval.evaluate import warm_up

    warm_up()  # and it runs cleanly in the foreground too (errors would surface here)


def test_a_report_reads_and_analyses_each_wav_once(tmp_path, monkeypatch):
    """The report's cost is one decode and one analysis per WAV: the score's own (which the
    figures reuse) and one per baseline, each baseline rendered at the analyser's rate."""
    from bridge import ScoreOptions, score_timeline
    from bridge.eval import analyse, audio_io
    from bridge.pipeline import music_request
    from bridge.quality import report
    from bridge.quality.baselines import BASELINES

    # calm, intense, calm: three shots of the arc fixture's kinds, 9 s in all
    timeline = shots_timeline(tmp_path, [0.0, 3.2, 6.1, 9.0],
                              lambda i, d: arc_scene(4 if i == 1 else 0, d), name="short")
    scored = score_timeline(timeline, tmp_path / "out", ScoreOptions())

    report.start_warm_up()  # let the background warm-up (which analyses a tone) finish first
    report._warming.join(timeout=120)
    reads: list[tuple[str, int]] = []
    read_native = audio_io.read_native

    def counting_read(path):
        data, sr = read_native(path)
        reads.append((Path(path).name, sr))
        return data, sr

    analyses = []
    features_init = analyse.Features.__init__

    def counting_features(self, y, sr):
        analyses.append(sr)
        features_init(self, y, sr)

    beats = []
    detect_beats = analyse.detect_beats

    def counting_beats(*args, **kwargs):
        beats.append(1)
        return detect_beats(*args, **kwargs)

    monkeypatch.setattr(audio_io, "read_native", counting_read)
    monkeypatch.setattr(analyse.Features, "__init__", counting_features)
    monkeypatch.setattr(analyse, "detect_beats", counting_beats)
    report.build_report(scored.analysis, scored.wav_path, tmp_path / "page" / "report.html",
                        music_request(ScoreOptions()), scored.plan_summary)

    assert sorted(reads) == sorted([(scored.wav_path.name, 48_000)]
                                   + [(f"{name}.wav", report.BASELINE_SR) for name in BASELINES])
    assert len(analyses) == len(reads) and len(beats) == len(reads)
    assert (tmp_path / "page" / "report.html").is_file()
