"""SIGINT and SIGTERM as an exception, for a command's entry point.

A command interrupted by Ctrl-C or SIGTERM must undo what it started (a guest
program, a half-made VM, a half-written file) and say so in one line. Python's
default turns SIGINT into ``KeyboardInterrupt`` (a ``BaseException`` that
``except Exception`` rollbacks let through) and lets SIGTERM kill the process
without any cleanup. ``signals_raise`` makes the FIRST of either raise
``Interrupted`` (an ``Exception``) in the main thread, so every rollback runs as
for any failure; later signals are noted and ignored, so that the rollback and
the final answer are never cut short (SIGKILL still ends everything).

Only entry points (``vmtk``, ``bosh-vmrun-cpi``, the simulator's commands) use
it; library code must not install signal handlers.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["STOP_SIGNALS", "Interrupted", "disarm", "held", "release", "signals_raise"]

# The signals a user or a supervisor sends to stop a command (Windows has SIGINT and SIGTERM too).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The process was asked to stop by a signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a command ended by a signal: 128 + its number."""
        return 128 + self.signum


class _State:
    def __init__(self) -> None:
        self.received: list[int] = []
        self.armed = True
        self.holding = 0  # > 0: a signal is kept for later (see ``held``)
        self.pending: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if not self.armed:
            return
        if self.holding:
            self.pending = self.pending or signum
            return
        self.armed = False
        raise Interrupted(signum) from None

    def release(self) -> None:
        if self.pending is not None and self.armed and not self.holding:
            signum, self.pending, self.armed = self.pending, None, False
            raise Interrupted(signum)


_active: list[_State] = []  # the state of the ``signals_raise`` block this process is in, if any


def disarm() -> None:
    """From now on no signal raises: the work is done, what is left is telling the result.

    A CPI method that has created a resource must answer its CID: an interrupt
    turning that answer into an error would leave a resource nobody knows of.
    """
    for state in _active:
        state.armed = False


@contextlib.contextmanager
def held() -> Iterator[Callable[[], None]]:
    """A signal arriving within the block is kept; the function yielded raises it (once the caller can clean up).

    For steps that must not be cut in two, e.g. starting a child process: a
    signal landing inside ``subprocess.Popen`` would leave the child running
    with nobody holding it. Outside ``signals_raise`` it does nothing.
    """
    for state in _active:
        state.holding += 1
    try:
        yield release
    finally:
        for state in _active:
            state.holding -= 1


def release() -> None:
    """Raise the signal ``held`` kept, if any (and none was raised yet)."""
    for state in _active:
        state.release()


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, the first SIGINT/SIGTERM raises ``Interrupted``; after it, none does.

    On leaving the block the handlers stay installed but disarmed: whatever the
    entry point still writes (its last line, its JSON answer) is written whole.
    Outside the main thread (tests calling an entry point), nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = _State()
    for signum in STOP_SIGNALS:
        signal.signal(signum, state.handle)
    _active.append(state)
    try:
        yield
    finally:
        state.armed = False
        _active.remove(state)
