"""The ``bosh-vmrun-cpi`` executable as the bosh CLI runs it: a fresh process per request.

``CpiProcess.send(request)`` starts ``bosh-vmrun-cpi CONFIG_PATH`` (the console
script next to ``sys.executable``), writes the request JSON to its stdin as
the bosh CLI does (one line, no trailing newline) and closes stdin, then
checks what bosh relies on, on every call: exit code 0 even for an error,
stdout exactly one newline-terminated JSON object ``{"result", "error", "log"}``.
It also checks the process's own log (stderr): the request's method and id
reached it, so the executable, not something in process, served the request,
and no secret did. Each process's stderr is appended to ``log_path``, like a
bosh task's debug log. This module starts no simulator and judges no answer;
``tests/cpi/hosts.py`` wires it to one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
EXECUTABLE = BIN / "bosh-vmrun-cpi"
VMRUN_SIM = BIN / "vmrun-sim"
TIMEOUT = 120.0  # one request; create_vm through vmrun-sim takes about a second


@dataclass(frozen=True, slots=True)
class CpiProcess:
    """Send requests to ``bosh-vmrun-cpi config_path``, one process each, with exactly ``env``."""

    config_path: Path
    env: Mapping[str, str] = field(repr=False)
    log_path: Path
    never_logged: tuple[str, ...] = field(default=(), repr=False)

    def send(self, request: bytes) -> dict[str, Any]:
        done = subprocess.run(
            [str(EXECUTABLE), str(self.config_path)],
            input=request,
            capture_output=True,
            env=dict(self.env),
            timeout=TIMEOUT,
            check=False,
        )
        with open(self.log_path, "ab") as log:
            log.write(done.stderr)
        stderr = done.stderr.decode("utf-8", "replace")
        assert done.returncode == 0, f"exit {done.returncode}; stderr:\n{stderr[-4000:]}"
        response = one_json_object(done.stdout)
        assert served(json.loads(request), stderr), f"the process's log does not show the request:\n{stderr[-4000:]}"
        for secret in self.never_logged:
            assert secret not in stderr and secret not in done.stdout.decode("utf-8", "replace"), "a secret leaked"
        return response


def one_json_object(stdout: bytes) -> dict[str, Any]:
    """stdout as bosh reads it: one JSON object on one line, then nothing at all."""
    line, newline, rest = stdout.partition(b"\n")
    assert newline and not rest, f"not exactly one line on stdout: {stdout[:2000]!r}"
    response = json.loads(line)
    assert isinstance(response, dict) and set(response) == {"result", "error", "log"}, response
    return response


def served(request: dict[str, Any], stderr: str) -> bool:
    """The dispatcher's line for this request is in the process's log (cpi.dispatch logs it first)."""
    request_id = request.get("context", {}).get("request_id", "")
    return f"cpi.dispatch: {request['method']} request_id={request_id} " in stderr


def methods_answered(log: str) -> set[str]:
    """Every method a CPI log shows answered without an error, by any of the processes it holds.

    Each process's stderr is appended whole, so a dispatcher's ``failed`` line
    belongs to the request line just before it: a method whose only calls
    failed (a not-found path) does not count as run.
    """
    answered: set[str] = set()
    pending: str | None = None
    for line in log.splitlines():
        _head, found, message = line.partition(" cpi.dispatch: ")
        method, _space, rest = message.partition(" ")
        if not found:
            continue
        if rest.startswith("request_id="):
            answered.update([pending] if pending else [])
            pending = method
        elif rest.startswith("failed: ") and method == pending:
            pending = None
    return answered | ({pending} if pending else set())
