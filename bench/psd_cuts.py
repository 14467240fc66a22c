"""PySceneDetect's ContentDetector on one video: cut times and CPU seconds, as JSON.

Run only by a throwaway interpreter that has ``scenedetect`` (it is not a dependency):

    /tmp/psd-venv/bin/python bench/psd_cuts.py VIDEO

``bench.realworld_footage --psd-python`` calls it so both detectors run in one session.
"""

from __future__ import annotations

import json
import sys
import time


def main(path: str) -> None:
    from scenedetect import ContentDetector, detect  # the throwaway environment's

    start = time.process_time()
    scenes = detect(path, ContentDetector())  # default threshold, as the goldens use
    cpu_s = time.process_time() - start
    cuts = [start_tc.get_seconds() for start_tc, _ in scenes[1:]]
    print(json.dumps({"cuts_s": cuts, "cpu_s": cpu_s}))


if __name__ == "__main__":
    main(sys.argv[1])
