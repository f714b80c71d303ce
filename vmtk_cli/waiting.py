"""Saying what a long wait waits for, and for how long, while it lasts.

A command that waits (for a guest to boot, a VM to power on, a disk to be
converted) must not sit silent. On a terminal, one line on stderr is drawn at
once and redrawn every half second: ``Waiting for VMware Tools in
/vms/db/db.vmx ... 12 s (up to 300 s)``, and erased when the wait ends. Off a terminal (a script, CI), a line
is written every ``interval`` seconds instead, so a log shows the wait without
being flooded; a wait shorter than that prints nothing. Elapsed time comes from
the App's clock. This module only displays: it must not wait for anything
itself nor decide when a wait ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TextIO

from toolkit.host.clock import Clock

TTY_REDRAW_SECONDS = 0.5
ERASE_LINE = "\r\033[K"


class Waiting:
    """One running display; ``step`` says what is waited for now, ``pause`` hides it."""

    def __init__(self, stream: TextIO, clock: Clock, *, tty: bool, interval: float) -> None:
        self._stream, self._clock, self._tty, self._interval = stream, clock, tty, interval
        self._lock = threading.Lock()
        self._what: str | None = None
        self._limit: float | None = None
        self._percent: int | None = None
        self._started = 0.0
        self._next_line = 0.0
        self._shown = False

    def step(self, what: str, *, limit: float | None = None) -> None:
        with self._lock:
            self._erase()
            self._what, self._limit, self._percent = what, limit, None
            self._started = self._clock.monotonic()
            self._next_line = self._interval
        if self._tty:
            self.tick()  # on a terminal, say it at once

    def percent(self, value: int) -> None:
        value = max(0, min(value, 100))
        with self._lock:
            changed, self._percent = value != self._percent, value
        if changed and self._tty:
            self.tick()

    def pause(self) -> None:
        """Nothing is waited for now (e.g. a guest program's output is being shown)."""
        with self._lock:
            self._erase()
            self._what = None

    def tick(self) -> None:
        with self._lock:
            if self._what is None:
                return
            elapsed = self._clock.monotonic() - self._started
            if self._tty:
                self._write(f"{ERASE_LINE}{self._line(elapsed)}")
                self._shown = True
            elif elapsed >= self._next_line:
                self._write(f"{self._line(elapsed)}\n")
                self._next_line += self._interval

    def _line(self, elapsed: float) -> str:
        done = f" {self._percent} %," if self._percent is not None else ""
        limit = f" (up to {self._limit:.0f} s)" if self._limit is not None else ""
        return f"{self._what} ...{done} {elapsed:.0f} s{limit}"

    def _erase(self) -> None:
        if self._shown:
            self._write(ERASE_LINE)
            self._shown = False

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


@contextlib.contextmanager
def waiting(stream: TextIO, clock: Clock, *, interval: float) -> Iterator[Waiting]:
    """A ``Waiting`` display, ticked by a background thread until the block ends."""
    interval = max(interval, 0.1)  # 0 would redraw in a busy loop
    tty = _is_tty(stream)
    display = Waiting(stream, clock, tty=tty, interval=interval)
    done = threading.Event()
    period = TTY_REDRAW_SECONDS if tty else min(1.0, interval)

    def run() -> None:
        while not done.wait(period):
            display.tick()

    ticker = threading.Thread(target=run, name="vmtk-waiting", daemon=True)
    ticker.start()
    try:
        yield display
    finally:
        done.set()
        ticker.join()
        display.pause()


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
