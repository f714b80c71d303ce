"""clone and deleteVM: the verbs that create or remove a whole VM's files.

A clone gets its own directory (created by vmrun), a .vmx copied from the source
(or from the snapshot it is made from) with new UUIDs and MACs, disks named
``<source-disk-basename>-cl1.vmdk`` (full: copied; linked: children of the
snapshot's disks) and the .vmsd bookkeeping of both VMs. The whole clone runs
inside the state transaction, so clones of one source serialize as on VMware.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from toolkit.vmware.devices import hard_disks
from toolkit.vmware.vmx import Vmx
from vmtk_sim import deltadisk, snapshots
from vmtk_sim import messages as msg
from vmtk_sim.context import Call, Reply, disk_path, open_vm, read_vmx
from vmtk_sim.guestops import need
from vmtk_sim.snapshots import Snap
from vmtk_sim.state import HostState, Power, VmRecord, vm_key
from vmtk_sim.vmfiles import (
    new_generated_mac,
    new_uuid,
    present_nics,
    write_vmx_file,
)

AUTO_SNAPSHOT = ("Clone", "Created by clone operation.")
VM_FILE_SUFFIXES = (".vmx", ".vmsd", ".vmxf", ".nvram", ".vmss", ".vmsn", ".vmem", ".log", ".scoreboard")


def clone(call: Call) -> Reply:
    params = need(call, 3)
    source, target, kind = params[0], params[1], params[2].lower()
    options = _options(params[3:])
    if kind not in ("full", "linked"):
        raise msg.refusal(msg.INVALID_PARAMETERS)
    with call.home.transaction() as state:
        vm = open_vm(state, source)
        snap = _source_snapshot(call, vm, source, kind, options.get("snapshot"))
        if os.path.exists(target):
            raise msg.refusal(msg.FILE_ALREADY_EXISTS)
        config = _source_config(vm, source, snap)
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        sentinels = _clone_disks(config, source, target, snap if kind == "linked" else None)
        _personalise(config, target, options.get("clonename"))
        write_vmx_file(target, config)
        _write_bookkeeping(source, target, snap if kind == "linked" else None, sentinels)
        state.record(vm_key(target))
    return Reply()


def _options(params: tuple[str, ...]) -> dict[str, str]:
    """``-snapshot=NAME`` / ``-cloneName=NAME``; the two-argument spelling works in practice too."""
    out: dict[str, str] = {}
    items = list(params)
    while items:
        flag, _, value = items.pop(0).partition("=")
        if not value and items and flag.lower() in ("-snapshot", "-clonename"):
            value = items.pop(0)
        out[flag.lstrip("-").lower()] = value
    return out


def _source_snapshot(call: Call, vm: VmRecord, source: str, kind: str, name: str | None) -> Snap | None:
    running = vm.power is not Power.OFF
    if name is not None:
        snap = snapshots.find(snapshots.read_vmsd(source), name, missing=msg.SNAPSHOT_INVALID)
        if snapshots.read_vmsd(source).get(f"snapshot{snap.index}.type") == "2":
            # A snapshot taken powered on carries memory: VMware cannot clone it [R].
            raise msg.refusal(msg.ALREADY_RUNNING)
        return snap
    if running:
        raise msg.refusal(msg.ALREADY_RUNNING)
    if kind == "full":
        return None
    # Unchanged since its current snapshot: the clone is made from that one. The reference
    # CPI makes 20 linked clones of one never-started stemcell like this on real VMware
    # (its driver_test.go) and expects every one to succeed [I: reused, not re-taken].
    current = None if vm.changed_since_snapshot else _current_snapshot(source)
    return current or snapshots.take(call, vm, source, *AUTO_SNAPSHOT, unique=False)


def _current_snapshot(source: str) -> Snap | None:
    vmsd = snapshots.read_vmsd(source)
    current = vmsd.get("snapshot.current")
    return next((snap for snap in snapshots.snaps(vmsd) if str(snap.uid) == current), None)


def _source_config(vm: VmRecord, source: str, snap: Snap | None) -> Vmx:
    if snap is not None:
        saved = Path(os.path.dirname(source), snap.filename)
        if saved.exists():
            return Vmx.parse(saved.read_bytes(), source=str(saved))
    return snapshots.current_config(vm, source)


def _clone_disks(config: Vmx, source: str, target: str, snap: Snap | None) -> list[str]:
    """Give the clone its disks; independent disks are not cloned (they are dropped)."""
    names = []
    parents = _snapshot_disks(source, snap) if snap is not None else {}
    for disk in hard_disks(config):
        if (disk.mode or "").lower().startswith("independent"):
            config.unset_prefix(f"{disk.slot}.")
            continue
        name = f"{deltadisk.base_name(disk.file_name)}-cl1.vmdk"
        destination = disk_path(target, name)
        if snap is None:
            deltadisk.copy_flat(disk_path(source, disk.file_name), destination)
        else:
            parent = parents.get(str(disk.slot), disk.file_name)
            deltadisk.create_child(disk_path(source, parent), destination)
        config.set(f"{disk.slot}.fileName", name)
        names.append(name)
    return names


def _snapshot_disks(source: str, snap: Snap) -> dict[str, str]:
    vmsd = snapshots.read_vmsd(source)
    key = f"snapshot{snap.index}."
    count = int(vmsd.get(key + "numDisks", "0") or "0")
    return {
        vmsd.get(f"{key}disk{n}.node", "") or "": vmsd.get(f"{key}disk{n}.fileName", "") or "" for n in range(count)
    }


def _personalise(config: Vmx, target: str, clone_name: str | None) -> None:
    """New identity: UUIDs, generated MACs, display name, the clone's own side files."""
    name = Path(target).stem
    source_name = config.get("displayName") or name
    config.set("displayName", clone_name or f"Clone of {source_name}")  # [I] default name
    uuid = new_uuid()
    config.set("uuid.bios", uuid)
    config.set("uuid.location", uuid)
    for index in present_nics(config):
        if config.get(f"ethernet{index}.generatedAddress"):
            config.set(f"ethernet{index}.generatedAddress", new_generated_mac())
    config.unset_prefix("checkpoint.vmState")
    config.set("cleanShutdown", "TRUE")
    config.set("extendedConfigFile", f"{name}.vmxf")
    config.set("nvram", f"{name}.nvram")
    directory = Path(target).parent
    (directory / f"{name}.vmxf").write_text('<?xml version="1.0"?>\n<Foundry>\n<VM>\n</VM>\n</Foundry>\n')
    (directory / f"{name}.nvram").write_bytes(b"\0" * 8192)


def _write_bookkeeping(source: str, target: str, snap: Snap | None, sentinels: list[str]) -> None:
    """The clone's .vmsd; for linked clones also ``snapshotN.cloneM`` in the source's."""
    clone_vmsd = Vmx.new()
    if snap is not None:
        clone_vmsd.set("cloneOf0", os.path.abspath(source))
        clone_vmsd.set("numCloneOf", "1")
        for number, sentinel in enumerate(sentinels):
            clone_vmsd.set(f"sentinel{number}", sentinel)
        clone_vmsd.set("numSentinels", str(len(sentinels)))
        source_vmsd = snapshots.read_vmsd(source)
        key = f"snapshot{snap.index}."
        clones = int(source_vmsd.get(key + "numClones", "0") or "0")
        source_vmsd.set(f"{key}clone{clones}", os.path.abspath(target))
        source_vmsd.set(key + "numClones", str(clones + 1))
        write_vmx_file(snapshots.vmsd_path(source), source_vmsd)
    write_vmx_file(snapshots.vmsd_path(target), clone_vmsd)


def delete_vm(call: Call) -> Reply:
    """Remove the VM's own files; its directory, lock dirs and unknown files stay."""
    path = call.inv.vmx
    with call.home.transaction() as state:
        vmx = read_vmx(path)
        vm = open_vm(state, path)
        if vm.power in (Power.RUNNING, Power.PAUSED):
            raise msg.refusal(msg.ALREADY_RUNNING)
        for file in _vm_files(path, vmx):
            Path(file).unlink(missing_ok=True)
        _forget(call, state, path, vm)
    return Reply()


def _vm_files(path: str, vmx: Vmx) -> list[str]:
    """The disks (with their snapshot chain inside the VM's directory) and the VM's side files."""
    directory, stem = os.path.dirname(os.path.abspath(path)), Path(path).stem
    disks = [
        part
        for att in hard_disks(vmx)
        for link in deltadisk.chain(disk_path(path, att.file_name))
        if os.path.dirname(os.path.abspath(link)) == directory
        for part in deltadisk.disk_files(link)
    ]
    bases = {deltadisk.base_name(disk) for disk in disks}
    return disks + [
        os.path.join(directory, name)
        for name in os.listdir(directory)
        if (name.startswith(stem) and name.endswith(VM_FILE_SUFFIXES))
        or (name.startswith("vmware") and name.endswith(".log"))
        or (name.endswith(".vmdk") and any(name.startswith(f"{base}-0") for base in bases))
    ]


def _forget(call: Call, state: HostState, path: str, vm: VmRecord) -> None:
    shutil.rmtree(call.home.guest_dir(vm.id), ignore_errors=True)
    state.vms.pop(vm_key(path), None)
