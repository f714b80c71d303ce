"""Benchmark 3: CPI process overhead, from process start to exit, against the interpreter's floor.

Times ``python -c pass`` (the same interpreter the CPI runs on), ``info`` and
``has_vm`` through the ``bosh-vmrun-cpi`` executable, each as the median of
many spawns; ``heaviest_imports`` reads ``-X importtime`` of an ``info``
request to name what to make lazy. It never changes the CPI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from benchmarks.timing import median_seconds
from benchmarks.workspace import CPI, Workspace

INFO_TARGET_MS = 120.0  # info's allowance over the floor


@dataclass(frozen=True, slots=True)
class Overhead:
    floor: float
    info: float
    has_vm: float
    imports: list[tuple[str, float]]  # (module, cumulative seconds) of info, heaviest first

    @property
    def info_over_floor_ms(self) -> float:
        return (self.info - self.floor) * 1000


def _request(method: str, *arguments: object) -> bytes:
    return json.dumps({"method": method, "arguments": list(arguments), "context": {}}).encode()


def _spawn(argv: list[str], stdin: bytes, space: Workspace) -> None:
    subprocess.run(argv, input=stdin, env=space.env(), capture_output=True, check=True, timeout=60)


def measure(space: Workspace, runs: int) -> Overhead:
    cpi = [str(CPI), str(space.config)]
    floor = median_seconds(lambda: _spawn([sys.executable, "-c", "pass"], b"", space), runs)
    info = median_seconds(lambda: _spawn(cpi, _request("info"), space), runs)
    has_vm = median_seconds(
        lambda: _spawn(cpi, _request("has_vm", "0badc0de-0000-4000-8000-000000000000"), space),
        runs,
    )
    return Overhead(floor, info, has_vm, heaviest_imports(space))


def heaviest_imports(space: Workspace, top: int = 8) -> list[tuple[str, float]]:
    """Top-level imports of an ``info`` request by cumulative import time."""
    argv = [sys.executable, "-X", "importtime", "-m", "cpi", str(space.config)]
    done = subprocess.run(
        argv,
        input=_request("info"),
        env=space.env(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    return sorted(_top_level(done.stderr.decode()), key=lambda item: -item[1])[:top]


def _top_level(trace: str) -> list[tuple[str, float]]:
    """``import time: self | cumulative | name`` lines whose name is not indented (a direct import)."""
    found = []
    for line in trace.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, name = line[len("import time:") :].split("|")
        if cumulative.strip().isdigit() and not name.startswith("  ", 1):
            found.append((name.strip(), int(cumulative) / 1e6))
    return found
