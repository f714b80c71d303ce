"""Medians of repeated wall-clock measurements; the one place benchmarks read the clock.

``time.perf_counter`` measures, it never waits: nothing here sleeps.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_seconds(action: Callable[[], object], runs: int) -> float:
    return statistics.median(seconds(action) for _ in range(runs))


def median(values: list[float]) -> float:
    return statistics.median(values)
