"""The real bosh CLI driving ``create-env`` / ``delete-env`` against the simulator.

``BoshCli`` runs the binary (``BOSH_BIN`` or ``bosh`` on PATH) with its own HOME
and the documented simulator manifest, one debug log per run, and reads back the
CPI calls the CLI made from that log (every request it writes to ``bin/cpi``'s
stdin is logged as ``STDIN: '{...}'``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "docs" / "examples" / "sim-create-env.yml"
_REQUEST = re.compile(r"^STDIN: '(\{.*\})'$", re.MULTILINE)


def bosh_binary() -> str | None:
    """``BOSH_BIN`` when set (and executable), else ``bosh`` on PATH."""
    given = os.environ.get("BOSH_BIN")
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("bosh")


def cpi_calls(log: str) -> list[str]:
    """The CPI methods the CLI called, in order, without the ``info`` it asks before each."""
    methods = (json.loads(raw).get("method") for raw in _REQUEST.findall(log))
    return [m for m in methods if m != "info"]


@dataclass
class Run:
    """One CLI run: its exit status, its output and the CPI calls its debug log records."""

    code: int
    output: str
    calls: list[str]


@dataclass
class BoshCli:
    """``bosh create-env`` / ``delete-env`` of the documented simulator manifest, in ``work``."""

    binary: str
    work: Path
    sim_home: Path
    store: Path
    release: Path
    release_sha1: str
    port: int
    runs: int = 0
    ops: dict[str, Any] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.work / "home"),
            "VMRUN_SIM_HOME": str(self.sim_home),
            "BOSH_LOG_LEVEL": "debug",
            "BOSH_LOG_PATH": str(self.log_path()),
        }

    def log_path(self) -> Path:
        return self.work / f"bosh-{self.runs}.log"

    def argv(self, command: str, *flags: str) -> list[str]:
        ops = self.work / "ops.yml"
        ops.write_text(yaml.safe_dump(self._ops()))
        return [
            self.binary,
            command,
            str(MANIFEST),
            "--state",
            str(self.work / "state.json"),
            "--vars-store",
            str(self.work / "creds.yml"),
            "-o",
            str(ops),
            "-v",
            f"vmtk_root={ROOT}",
            "-v",
            f"release_sha1={self.release_sha1}",
            "-v",
            f"mbus_port={self.port}",
            *flags,
        ]

    def _ops(self) -> list[dict[str, Any]]:
        """The test's store and release, and the changes a test asks for (path -> value)."""
        base = {
            "/cloud_provider/properties/vmrun/vm_store_path": str(self.store),
            "/releases/name=bosh-vmrun-cpi/url": f"file://{self.release}",
        }
        return [{"type": "replace", "path": path, "value": value} for path, value in {**base, **self.ops}.items()]

    def __call__(self, command: str, *flags: str, timeout: float = 600) -> Run:
        self.runs += 1
        (self.work / "home").mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            self.argv(command, *flags), env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        return Run(done.returncode, done.stdout + done.stderr, self.calls())

    def interrupted(self, command: str, when: Callable[[str], bool], *, timeout: float = 300) -> Run:
        """Run ``command`` and, as soon as ``when(its debug log so far)`` holds, press Ctrl-C: SIGINT to
        the CLI's whole process group, the CPI process it is running included, as a terminal sends it."""
        self.runs += 1
        (self.work / "home").mkdir(parents=True, exist_ok=True)
        child = subprocess.Popen(
            self.argv(command),
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while child.poll() is None and not when(self.log()) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGINT)
        output, _ = child.communicate(timeout=timeout)
        return Run(child.returncode, output, self.calls())

    def log(self) -> str:
        path = self.log_path()
        return path.read_text(errors="replace") if path.exists() else ""

    def calls(self) -> list[str]:
        return cpi_calls(self.log())

    def state(self) -> dict[str, Any]:
        return json.loads((self.work / "state.json").read_text())

    def current_vm(self) -> str:
        return str(self.state()["current_vm_cid"])


def needs(tools: Sequence[str]) -> str | None:
    """Why the CLI cannot run create-env here (``None``: it can)."""
    for tool in tools:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (the bosh CLI renders job templates with it; .ci/run installs it)"
    return None
