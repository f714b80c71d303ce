"""A real OpenSSH server on 127.0.0.1 for tests: ``benchmarks.sshd``, skipping when it cannot run.

Used by the SSH runner tests and the CPI-over-SSH lifecycle. Skips (never
fails) when no sshd is installed or it cannot start here (.ci/run installs
openssh-server). The server itself is ``benchmarks.sshd``, shared with
``make bench``; this module only turns ``NoSshServerError`` into a skip.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks import sshd as _server
from benchmarks.sshd import Sshd, _free_port, stop_sshd
from toolkit.errors import NoSshServerError

__all__ = ["Sshd", "_free_port", "_wait_for_port", "start_sshd", "stop_sshd"]


def start_sshd(folder: Path, *, log: Path | None = None) -> Sshd:
    try:
        return _server.start_sshd(folder, log=log)
    except NoSshServerError as exc:
        pytest.skip(str(exc))


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    try:
        _server._wait_for_port(port, process)
    except NoSshServerError as exc:
        pytest.skip(str(exc))
