"""Time, waiting and retrying.

Every wait in the toolkit goes through a ``Clock`` handed in by the caller, so
tests run on a ``FakeClock`` and never sleep for real. This module must not call
``time.sleep`` anywhere but ``SystemClock.sleep``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from toolkit.errors import ToolkitError, WaitTimeout

__all__ = ["Clock", "FakeClock", "SystemClock", "T", "retry", "wait_until"]

T = TypeVar("T")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """Virtual time: ``sleep`` advances instantly and is recorded in ``slept``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += max(0.0, seconds)


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    clock: Clock,
    interval: float = 1.0,
    min_wait: float = 0.0,
    max_interval: float | None = None,
    through_transient: bool = True,
) -> T:
    """Call ``probe`` until it returns something other than ``None``/``False``.

    Sleeps ``min_wait`` first (some guests answer before they are really ready),
    then polls every ``interval`` seconds until ``timeout`` seconds have passed in
    total; with ``max_interval`` the interval doubles after each poll up to it
    (each poll may cost a program run on the VMware host). Raises ``WaitTimeout``
    naming ``what``; the last transient error the probe raised is kept as the cause.
    With ``through_transient=False`` a transient error ends the wait at once, as
    any other error does (for polls whose callers judge such errors themselves).
    """
    if not math.isfinite(timeout):  # a NaN deadline is never reached: the wait would never end
        raise ValueError(f"waiting for {what}: the timeout must be a finite number of seconds, got {timeout}")
    deadline = clock.monotonic() + timeout
    clock.sleep(min(min_wait, timeout))
    last: ToolkitError | None = None
    while True:
        try:
            value = probe()
        except ToolkitError as exc:
            if not (exc.transient and through_transient):
                raise
            last, value = exc, None
        if value is not None and value is not False:
            return value
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, _first_line(last)) from last
        clock.sleep(min(interval, remaining))
        if max_interval is not None:
            interval = min(interval * 2, max_interval)


RetryOn = Callable[[ToolkitError], bool] | tuple[type[ToolkitError], ...]


def _transient(exc: ToolkitError) -> bool:
    return exc.transient


def retry(
    action: Callable[[], T],
    *,
    clock: Clock,
    attempts: int = 5,
    delay: float = 1.0,
    max_delay: float = 10.0,
    total: float = 60.0,
    retry_on: RetryOn = _transient,
) -> T:
    """Run ``action``, retrying only the errors ``retry_on`` accepts.

    ``retry_on`` is a predicate or a tuple of error classes; by default the
    errors marked ``transient``. Bounded both in attempts and in total time;
    the delay doubles up to ``max_delay``. The last error, and any error
    ``retry_on`` refuses, is re-raised unchanged.
    """
    deadline = clock.monotonic() + total
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except ToolkitError as exc:
            pause = min(delay * 2 ** (attempt - 1), max_delay)
            if not _accepts(retry_on, exc) or attempt == attempts or clock.monotonic() + pause > deadline:
                raise
            clock.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def _accepts(retry_on: RetryOn, exc: ToolkitError) -> bool:
    return isinstance(exc, retry_on) if isinstance(retry_on, tuple) else retry_on(exc)


def _first_line(exc: BaseException | None) -> str:
    return str(exc).splitlines()[0] if exc is not None and str(exc) else ""
