"""What a CPI store and the simulated host hold that no CID owns, and whether it is consistent.

One scan, shared by the fault matrix, the crash loop and the concurrency run:
the CPI's own orphan finder (``cpi.orphans.find_orphans``, what ``vmtk store
gc`` removes: half-created directories, interrupted writes, unpaired disk
files, stale locks) plus what it cannot see from the store alone: locks still
held, VMs the simulator runs whose .vmx is gone, half-written .vmx or settings
files, and VMs whose settings disagree with their .vmx. Reads only.
"""

from __future__ import annotations

import json
from pathlib import Path

import filelock

from cpi.orphans import find_orphans
from cpi.store import Store
from toolkit.errors import ToolkitError
from toolkit.host.runner import LocalRunner
from toolkit.vmware.vmx import Vmx
from vmtk_sim import SimHost
from vmtk_sim.host import AgentStatus
from vmtk_sim.state import Power


def leaks(store: Path, host: SimHost | None = None) -> list[str]:
    """Everything left that no CID owns, one line each (empty: nothing leaked)."""
    if not store.exists():
        return []
    found = [f"{o.path}: {o.why}" for o in orphans(store)]
    found += held_locks(store)
    if host is not None:
        found += running_without_vmx(host)
    return found


def orphans(store: Path) -> list:  # type: ignore[type-arg]
    return find_orphans(Store(LocalRunner(), str(store), lock_timeout=1.0))


def held_locks(store: Path, *, grace: float = 0.0) -> list[str]:
    """Lock files some process (or thread) still holds ``grace`` seconds from now."""
    held = []
    for path in sorted((store / ".locks").glob("*.lock")) if (store / ".locks").is_dir() else []:
        lock = filelock.FileLock(str(path))
        try:
            lock.acquire(timeout=grace)
        except filelock.Timeout:
            held.append(f"{path}: still held")
        else:
            lock.release()
    return held


def running_without_vmx(host: SimHost) -> list[str]:
    """VMs the simulated host still runs although their .vmx (and so their CID) is gone."""
    state = host.home.snapshot()
    return [
        f"{record.spelling or key}: running, but its .vmx is gone"
        for key, record in state.vms.items()
        if record.power is not Power.OFF and not Path(record.spelling or key).exists()
    ]


def half_written(store: Path) -> list[str]:
    """.vmx files that do not parse and settings/records that are not JSON objects."""
    bad = []
    for path in sorted(store.rglob("*.vmx")):
        try:
            Vmx.parse(path.read_bytes(), source=str(path))
        except (ToolkitError, ValueError) as exc:  # what a torn or garbled file raises
            bad.append(f"{path}: {exc}")
    for path in sorted(store.rglob("*.json")):
        try:
            if not isinstance(json.loads(path.read_bytes()), dict):
                bad.append(f"{path}: not a JSON object")
        except ValueError as exc:
            bad.append(f"{path}: {exc}")
    return bad


def vm_dirs(store: Path) -> list[Path]:
    return sorted(p for p in store.iterdir() if p.name.startswith("vm-")) if store.exists() else []


def inconsistencies(store: Path, host: SimHost) -> list[str]:
    """VMs BOSH would find broken: not running, an agent that rejected its settings, or settings that
    disagree with the .vmx."""
    found = half_written(store)
    for directory in vm_dirs(store):
        vmx = directory / f"{directory.name}.vmx"
        if not vmx.exists():
            continue  # reported by leaks() as an interrupted create
        view = host.vm(str(vmx))
        if view.power is not Power.RUNNING:
            found.append(f"{vmx}: exists but is not running")
        if view.agent.status is AgentStatus.FAILED:  # settings unreadable, MACs not matching, ...
            found.append(f"{vmx}: the agent rejected its settings: {view.agent.reason}")
        announced = set(_announced_disks(directory / "env.json"))
        if announced != set(attached_disks(vmx)):
            found.append(
                f"{directory}/env.json announces {sorted(announced)}, the .vmx has {sorted(attached_disks(vmx))}"
            )
    return found


def attached_disks(vmx: Path) -> list[str]:
    """Disk CIDs of the store's persistent disks a .vmx attaches."""
    config = Vmx.parse(vmx.read_bytes())
    names = [Path(v).name for k, v in config.items() if k.lower().endswith(".filename") and "/disks/disk-" in v]
    return [n[len("disk-") : -len(".vmdk")] for n in names if n.endswith(".vmdk")]


def _announced_disks(env: Path) -> list[str]:
    settings = json.loads(env.read_bytes()) if env.exists() else {}
    return list(((settings.get("disks") or {}).get("persistent") or {}).keys())
