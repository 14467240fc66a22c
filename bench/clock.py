"""The benches' clocks: CPU seconds of this process and its waited-for children, and a
timer that reports wall and CPU seconds of one call."""

from __future__ import annotations

import resource
import time


def cpu_s() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):
    """``(fn(), wall seconds, CPU seconds)``, the seconds rounded to the millisecond."""
    c0, w0 = cpu_s(), time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - w0, 3), round(cpu_s() - c0, 3)
