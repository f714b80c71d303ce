"""The simulator's persistent host state under ``$VMRUN_SIM_HOME``.

``state.json`` (guarded by ``state.json.lock``, a ``filelock``) holds one record
per VM the simulated host has seen, keyed by the normalised .vmx path; each
``vmrun-sim`` process loads it, changes it and saves it inside a short
``transaction()``. Nobody may hold a transaction while sleeping or while a guest
program runs. ``calls.jsonl`` gets one line per tool invocation. This module
knows nothing about vmrun verbs or messages.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import os
import posixpath
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import filelock

from toolkit.errors import LockTimeout
from toolkit.formats import strictjson
from vmtk_sim.knobs import Knobs

LOCK_TIMEOUT_SECONDS = 60.0


class Power(str, enum.Enum):
    OFF = "off"
    RUNNING = "running"
    PAUSED = "paused"
    SUSPENDED = "suspended"


@dataclass(slots=True)
class GuestProc:
    """A guest process the simulator started (``host_pid`` 0 for the simulated boot ones)."""

    pid: int
    owner: str
    cmd: str
    host_pid: int = 0


@dataclass(slots=True)
class VmRecord:
    """One VM's mutable simulator state (it has identity and a lifecycle, so not frozen)."""

    id: str
    spelling: str = ""
    power: Power = Power.OFF
    started_at: float | None = None
    config: str | None = None  # the .vmx text VMware read at power-on: its in-memory copy
    processes: list[GuestProc] = field(default_factory=list)
    killed_boot_pids: list[int] = field(default_factory=list)
    next_pid: int = 2000
    agent_reason: str | None = None  # None: the agent's checks passed
    guest_vars: dict[str, str] = field(default_factory=dict)
    changed_since_snapshot: bool = True
    hook_pid: int = 0
    agent_pid: int = 0  # the simulated mbus agent (``mbus_agent`` knob), 0 when none runs

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["power"] = self.power.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VmRecord:
        values = dict(data)
        values["power"] = Power(values["power"])
        values["processes"] = [GuestProc(**proc) for proc in values["processes"]]
        return cls(**values)


class HostState:
    """The decoded ``state.json``: VM records plus counters."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.vms = {key: VmRecord.from_json(vm) for key, vm in data.get("vms", {}).items()}
        self.next_id: int = data.get("next_id", 1)
        self.verb_counts: dict[str, int] = data.get("verb_counts", {})
        self.faults_used: list[int] = data.get("faults_used", [])
        self.fault_plan: str = data.get("fault_plan", "")  # the fault list faults_used indexes

    def to_json(self) -> dict[str, Any]:
        return {
            "vms": {key: vm.to_json() for key, vm in sorted(self.vms.items())},
            "next_id": self.next_id,
            "verb_counts": self.verb_counts,
            "faults_used": self.faults_used,
            "fault_plan": self.fault_plan,
        }

    def record(self, key: str) -> VmRecord:
        """The VM's record, created (off, with a fresh id) on first sight."""
        if key not in self.vms:
            self.vms[key] = VmRecord(id=f"vm-{self.next_id:04d}")
            self.next_id += 1
        return self.vms[key]


def vm_key(path: str) -> str:
    """One key per VM whatever the spelling: absolute, symlinks resolved."""
    return posixpath.normpath(os.path.realpath(os.path.abspath(path)))


class SimHome:
    """The simulator's directory: ``state.json``, ``sim.json``, ``calls.jsonl``, ``guests/``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file = self.root / "state.json"
        self.knobs_file = self.root / "sim.json"
        self.calls_file = self.root / "calls.jsonl"
        self._lock = filelock.FileLock(str(self.root / "state.json.lock"))

    def guest_dir(self, vm_id: str) -> Path:
        return self.root / "guests" / vm_id

    def guest_root(self, vm_id: str) -> Path:
        return self.guest_dir(vm_id) / "root"

    def disk_data(self, disk_file: str) -> Path:
        """Where the data a guest wrote on the disk file ``disk_file`` is kept (the disk follows its file)."""
        key = hashlib.sha256(os.path.realpath(disk_file).encode()).hexdigest()[:32]
        return self.root / "disk-data" / key

    @contextlib.contextmanager
    def transaction(self) -> Iterator[HostState]:
        """Load, yield and (if the block succeeds) save the state, under the lock."""
        with self._locked():
            state = HostState(self._load(self.state_file))
            yield state
            _write_atomically(self.state_file, json.dumps(state.to_json(), indent=1))

    def snapshot(self) -> HostState:
        """A consistent read-only copy of the state (read under the lock, never written back)."""
        with self._locked():
            return HostState(self._load(self.state_file))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
        except filelock.Timeout:
            raise LockTimeout(str(self.state_file), LOCK_TIMEOUT_SECONDS) from None
        try:
            yield
        finally:
            self._lock.release()

    def knobs(self) -> Knobs:
        return Knobs.from_json(self._load(self.knobs_file))

    def knobs_json(self) -> dict[str, Any]:
        return self._load(self.knobs_file)

    def write_knobs(self, data: dict[str, Any]) -> None:
        Knobs.from_json(data)  # refuse to store what cannot be read back
        _write_atomically(self.knobs_file, json.dumps(data, indent=1, sort_keys=True))

    def append_call(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        # One write() of a short line in append mode: concurrent writers never interleave.
        with open(self.calls_file, "a", encoding="utf-8") as handle:
            handle.write(line)

    def calls(self) -> list[dict[str, Any]]:
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        data = strictjson.loads(path.read_text(encoding="utf-8") or "{}")
        return data if isinstance(data, dict) else {}


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
