"""A Runner that is interrupted (as by Ctrl-C or SIGTERM) at its Nth call: every point of a command, in turn.

A real signal lands wherever the process happens to be; the code's answer to it
is ``toolkit.host.interrupts``: the first one raises ``Interrupted`` in the main
thread, later ones do nothing. This wrapper raises that same exception at one
chosen host operation (a vmrun run, a file write, a directory listing...),
either before the operation or just after it (its effect done, its answer
lost), and lets every later operation through, as the disarmed handler does.
Running a command once per N, until N passes its last operation, covers every
point a signal could interrupt it at, deterministically. Nothing here asserts.
"""

from __future__ import annotations

import signal
from typing import Any

from toolkit.host.interrupts import Interrupted

# The Runner operations a command's effects go through (``path`` and ``close`` are not operations).
OPERATIONS = frozenset(
    {
        "run",
        "read_bytes",
        "write_bytes",
        "open_read",
        "open_write",
        "exists",
        "is_dir",
        "size",
        "mkdir",
        "remove",
        "remove_tree",
        "rename",
        "copy_file",
        "list_dir",
        "make_temp_dir",
        "lock",
        "forget_lock",
    }
)


class InterruptingRunner:
    """Wraps ``runner``; the ``at``-th operation (1-based) is interrupted ``before`` or after it runs."""

    def __init__(self, runner: Any, *, at: int, before: bool = True, signum: int = signal.SIGINT) -> None:
        self._runner, self._at, self._before, self._signum = runner, at, before, signum
        self.count = 0
        self.fired = False

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._runner, name)
        if name not in OPERATIONS:
            return value

        def operation(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            due = self.count == self._at and not self.fired
            if due and self._before:
                self._fire()
            result = value(*args, **kwargs)
            if due:
                self._fire()
            return result

        return operation

    def _fire(self) -> None:
        self.fired = True
        raise Interrupted(self._signum)
