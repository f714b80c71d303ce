"""Snapshot verbs, kept in the VM's real ``.vmsd`` (the only copy of snapshot state).

Taking a snapshot records the disks in the .vmsd, writes the ``.vmsn`` (here: the
.vmx as it was, which revert and clone restore) and moves each non-independent
disk onto a new ``<disk>-00000N.vmdk`` child, as VMware does. Reverting always
leaves the VM powered off. Player refuses all of it (checked by the dispatcher).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import VmxError
from toolkit.vmware.devices import hard_disks
from toolkit.vmware.vmx import Vmx
from vmtk_sim import deltadisk
from vmtk_sim import messages as msg
from vmtk_sim.context import Call, Reply, disk_path, open_vm, read_vmx
from vmtk_sim.guestops import need
from vmtk_sim.power import await_end, power_off
from vmtk_sim.state import Power, VmRecord
from vmtk_sim.vmfiles import decode_config, encode_config, write_vmx_file

NOT_UNIQUE = "Error: The name does not uniquely identify one snapshot"  # [C] VIX wording
MAX_SNAPSHOT_INDEX = 1000


@dataclass(frozen=True, slots=True)
class Snap:
    index: int
    uid: int
    parent: int | None
    name: str
    filename: str


def vmsd_path(vmx_path: str) -> str:
    return str(Path(vmx_path).with_suffix(".vmsd"))


def read_vmsd(vmx_path: str) -> Vmx:
    path = vmsd_path(vmx_path)
    if not os.path.exists(path):
        return Vmx.new()
    try:
        return Vmx.parse(Path(path).read_bytes(), source=path)
    except VmxError as exc:
        raise msg.refusal(msg.CANNOT_READ_CONFIG, vmx=vmx_path) from exc


def snaps(vmsd: Vmx) -> list[Snap]:
    found = []
    for index in range(MAX_SNAPSHOT_INDEX):
        uid = vmsd.get(f"snapshot{index}.uid")
        if uid is None:
            continue
        parent = vmsd.get(f"snapshot{index}.parent")
        name = vmsd.get(f"snapshot{index}.displayName", "") or ""
        filename = vmsd.get(f"snapshot{index}.filename", "") or ""
        found.append(Snap(index, int(uid), int(parent) if parent else None, name, filename))
    return found


def tree(all_snaps: list[Snap]) -> list[tuple[Snap, int]]:
    """Depth-first, children in creation order: the order listSnapshots prints."""
    out: list[tuple[Snap, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for snap in all_snaps:
            if snap.parent == parent:
                out.append((snap, depth))
                walk(snap.uid, depth + 1)

    walk(None, 0)
    return out


def find(vmsd: Vmx, name: str, *, missing: str = msg.SNAPSHOT_MISSING) -> Snap:
    matches = [s for s in snaps(vmsd) if s.name == name]
    if len(matches) > 1:
        raise msg.refusal(NOT_UNIQUE)
    if not matches:
        raise msg.refusal(missing, name=name)
    return matches[0]


def list_snapshots(call: Call) -> Reply:
    read_vmx(call.inv.vmx)
    show_tree = any(p.lower() == "showtree" for p in call.inv.params[1:])
    ordered = tree(snaps(read_vmsd(call.inv.vmx)))
    # showTree indents each level with one TAB; the flat list does not indent.
    lines = [("\t" * depth if show_tree else "") + snap.name for snap, depth in ordered]
    return Reply("\n".join([msg.SNAPSHOTS_HEADER.format(count=len(lines)), *lines]))


def snapshot(call: Call) -> Reply:
    name = need(call, 2)[1]
    with call.home.transaction() as state:
        vm = open_vm(state, call.inv.vmx)
        take(call, vm, call.inv.vmx, name)
    return Reply()


def current_config(vm: VmRecord, path: str) -> Vmx:
    """The configuration VMware works from: its in-memory copy while running, else the file."""
    return decode_config(vm.config) if vm.power is not Power.OFF and vm.config else read_vmx(path)


def save_config(vm: VmRecord, path: str, config: Vmx) -> None:
    if vm.power is not Power.OFF:
        vm.config = encode_config(config)
    write_vmx_file(path, config)


def take(call: Call, vm: VmRecord, path: str, name: str, description: str = "", *, unique: bool = True) -> Snap:
    """Record a snapshot of the VM's current state and move its disks onto children.

    ``unique=False``: a name VMware chooses itself (clone's "Clone"), which may repeat [I].
    """
    vmsd = read_vmsd(path)
    existing = snaps(vmsd)
    if unique and any(s.name == name for s in existing):
        raise msg.refusal(msg.SNAPSHOT_EXISTS)
    config = current_config(vm, path)
    uid = int(vmsd.get("snapshot.lastUID", "0") or "0") + 1
    snap = Snap(
        max((s.index for s in existing), default=-1) + 1,
        uid,
        _current(vmsd),
        name,
        f"{Path(path).stem}-Snapshot{uid}.vmsn",
    )
    _describe(vmsd, snap, description, running=vm.power is not Power.OFF, time=call.now())
    _branch_disks(vmsd, snap, config, path)
    vmsd.set("snapshot.lastUID", str(uid))
    vmsd.set("snapshot.current", str(uid))
    vmsd.set("snapshot.numSnapshots", str(len(existing) + 1))
    Path(os.path.dirname(path), snap.filename).write_bytes(config.dumps())
    write_vmx_file(vmsd_path(path), vmsd)
    save_config(vm, path, config)
    vm.changed_since_snapshot = False
    return snap


def _current(vmsd: Vmx) -> int | None:
    value = vmsd.get("snapshot.current")
    return int(value) if value else None


def _describe(vmsd: Vmx, snap: Snap, description: str, *, running: bool, time: float) -> None:
    key = f"snapshot{snap.index}."
    micros = int(time * 1_000_000)
    low = micros & 0xFFFFFFFF
    vmsd.set(key + "uid", str(snap.uid))
    vmsd.set(key + "filename", snap.filename)
    if snap.parent is not None:
        vmsd.set(key + "parent", str(snap.parent))
    vmsd.set(key + "displayName", snap.name)
    vmsd.set(key + "description", description)
    vmsd.set(key + "type", "2" if running else "1")  # [I] 2: taken powered on, with memory
    vmsd.set(key + "createTimeHigh", str(micros >> 32))
    vmsd.set(key + "createTimeLow", str(low - (1 << 32) if low >= 1 << 31 else low))


def _branch_disks(vmsd: Vmx, snap: Snap, config: Vmx, path: str) -> None:
    """Independent disks are not part of snapshots; the others move onto a new child."""
    disks = [d for d in hard_disks(config) if not (d.mode or "").lower().startswith("independent")]
    key = f"snapshot{snap.index}."
    vmsd.set(key + "numDisks", str(len(disks)))
    for number, disk in enumerate(disks):
        vmsd.set(f"{key}disk{number}.fileName", disk.file_name)
        vmsd.set(f"{key}disk{number}.node", str(disk.slot))
        child = _free_child_name(path, disk.file_name)
        deltadisk.create_child(disk_path(path, disk.file_name), disk_path(path, child))
        config.set(f"{disk.slot}.fileName", child)


def _free_child_name(vmx_path: str, file_name: str) -> str:
    base = deltadisk.base_name(file_name)
    number = 1
    while os.path.exists(disk_path(vmx_path, f"{base}-{number:06d}.vmdk")):
        number += 1
    return f"{base}-{number:06d}.vmdk"


def delete_snapshot(call: Call) -> Reply:
    params = need(call, 2)
    with_children = any(p.lower() == "anddeletechildren" for p in params[2:])
    read_vmx(call.inv.vmx)
    vmsd = read_vmsd(call.inv.vmx)
    doomed = find(vmsd, params[1])
    all_snaps = snaps(vmsd)
    victims = [doomed] + (_descendants(all_snaps, doomed.uid) if with_children else [])
    for child in all_snaps:
        if child.parent == doomed.uid and not with_children:
            _set_parent(vmsd, child, doomed.parent)
    for victim in victims:
        vmsd.unset_prefix(f"snapshot{victim.index}.")
        Path(os.path.dirname(call.inv.vmx), victim.filename).unlink(missing_ok=True)
    if _current(vmsd) in {v.uid for v in victims}:
        _set_current(vmsd, doomed.parent)
    vmsd.set("snapshot.numSnapshots", str(len(all_snaps) - len(victims)))
    write_vmx_file(vmsd_path(call.inv.vmx), vmsd)
    return Reply()


def _descendants(all_snaps: list[Snap], uid: int) -> list[Snap]:
    children = [s for s in all_snaps if s.parent == uid]
    return children + [d for c in children for d in _descendants(all_snaps, c.uid)]


def _set_parent(vmsd: Vmx, snap: Snap, parent: int | None) -> None:
    if parent is None:
        vmsd.unset(f"snapshot{snap.index}.parent")
    else:
        vmsd.set(f"snapshot{snap.index}.parent", str(parent))


def _set_current(vmsd: Vmx, uid: int | None) -> None:
    if uid is None:
        vmsd.unset("snapshot.current")
    else:
        vmsd.set("snapshot.current", str(uid))


def revert(call: Call) -> Reply:
    """Observed on WS 25: revert leaves the VM powered off, even from a memory snapshot."""
    path = call.inv.vmx
    name = need(call, 2)[1]
    ended = 0
    with call.home.transaction() as state:
        vm = open_vm(state, path)
        vmsd = read_vmsd(path)
        snap = find(vmsd, name)
        if vm.power is not Power.OFF:
            ended = power_off(vm, path, clean=False)
        saved = Path(os.path.dirname(path), snap.filename)
        if saved.exists():
            write_vmx_file(path, Vmx.parse(saved.read_bytes(), source=str(saved)))
        _set_current(vmsd, snap.uid)
        write_vmx_file(vmsd_path(path), vmsd)
        vm.changed_since_snapshot = False
    await_end(ended)
    return Reply()
