"""Read every timeline in ../shared/realworld/timelines: read / refused (why) / failed.

    .venv/bin/python -m bench.realworld_timelines

"failed" is anything that is not a BridgeError (a traceback a user would see); the goal is
none. Refusals print the one line a user gets.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

TIMELINES = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "timelines"


def main() -> int:
    from bridge.errors import BridgeError
    from bridge.timeline import read_edit

    if not TIMELINES.is_dir():
        print(f"no real-world timelines at {TIMELINES}", file=sys.stderr)
        return 2
    counts: Counter[str] = Counter()
    for path in sorted(TIMELINES.iterdir()):
        try:
            edit = read_edit(path)
        except BridgeError as err:
            counts["refused"] += 1
            print(f"refused {path.name}: {str(err).removeprefix(str(path) + ': ')}")
        except Exception as err:  # what the goal says must not happen
            counts["failed"] += 1
            print(f"FAILED  {path.name}: {type(err).__name__}: {err}")
        else:
            counts["read"] += 1
            print(f"read    {path.name}: {edit.duration_s:.2f} s at {float(edit.rate):.3f} fps, "
                  f"{len(edit.shots)} shots, {len(edit.warnings)} warnings")
    print(f"read {counts['read']}, refused {counts['refused']}, failed {counts['failed']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
