"""The optional ``vmware-vdiskmanager`` driver: create and grow disks with VMware's own tool.

Knows the tool's argv and its answers; runs it only through a ``Runner``. It
must not parse disks itself (``toolkit.formats.vmdk`` does) nor decide when the tool is
used instead of the pure-Python path (callers do).
"""

from __future__ import annotations

import logging
import re

from toolkit.errors import DiskError
from toolkit.host.clock import Clock
from toolkit.host.runner import Completed, Runner

__all__ = ["ADAPTER", "SINGLE_GROWABLE", "VDiskManager", "check_answer"]

log = logging.getLogger(__name__)

# "Failed to expand the disk '<path>': One of the parameters supplied is invalid (0x3e80)."
_FAILURE = re.compile(r"^\s*(Failed to .*)$", re.MULTILINE)
_SUCCESS = re.compile(r"^\s*(.*(?:successful|successfully)\.)\s*$", re.MULTILINE)
ADAPTER = "lsilogic"  # the tool knows no NVMe; VMware re-homes an lsilogic disk on any bus
SINGLE_GROWABLE = "0"  # -t 0: "single growable virtual disk" (monolithicSparse)


def check_answer(done: Completed) -> str:
    """The tool's success message, or ``DiskError`` carrying its failure message.

    Since Workstation 10, stderr may hold "VixDiskLib: Invalid configuration file
    parameter.  Failed to read configuration file." with exit 0: only a line that
    starts with "Failed to" or a non-zero exit is a failure.
    """
    failure = _FAILURE.search(done.stdout) or _FAILURE.search(done.stderr)
    if failure is not None:
        raise DiskError(failure.group(1).strip())
    if not done.ok:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        raise DiskError(f"{done.argv[0]} exited with code {done.exit_code}: {tail[0]}")
    success = _SUCCESS.search(done.stdout)
    return success.group(1) if success else ""


class VDiskManager:
    """``vmware-vdiskmanager`` on the VMware host."""

    def __init__(self, runner: Runner, binary: str, clock: Clock, *, timeout: float = 3600.0) -> None:
        self._runner = runner
        self._binary = binary
        self._clock = clock
        self._timeout = timeout

    def create(self, path: str, size_mb: int) -> None:
        """A new single-file growable (monolithicSparse) lsilogic disk of ``size_mb``."""
        self._run("-c", "-s", f"{size_mb}MB", "-a", ADAPTER, "-t", SINGLE_GROWABLE, path)

    def grow(self, path: str, size_mb: int) -> None:
        """Grow ``path`` to ``size_mb``; the tool refuses to shrink ("parameters ... invalid")."""
        self._run("-x", f"{size_mb}MB", path)

    def _run(self, *args: str) -> None:
        started = self._clock.monotonic()
        done = self._runner.run([self._binary, *args], timeout=self._timeout)
        message = check_answer(done)
        log.debug("%s %s: %s (%.1f s)", self._binary, args[0], message, self._clock.monotonic() - started)
