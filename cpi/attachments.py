"""Persistent disks on VMs: attach, detach, list. Cold edits under the VM's lock.

vmrun cannot hot-add a disk, and VMware discards .vmx edits made while a VM
runs, so attach and detach stop the VM (soft when Tools run, hard after the
soft-shutdown wait), edit the .vmx, update ``env.json``/``env.iso``, and start
it again: three vmrun runs. The disk goes on the next free scsi0 unit (>= 2,
never 7) and its unit is the hint the agent gets ("2", "3", ...). The .vmx is
the truth about what is attached; ``env.json`` and the disk's record follow it,
written after it, so a retried call repairs a half-done one. Locks: the VM's,
then the disk's (always in that order).

A restart after the edit can fail (or the CPI be killed before it) once the
edit is done: the retry then takes the "already attached"/"only announced"
path and would answer success with the VM off. So every attach and detach
first completes a restart an earlier call left pending (``Vms.finish_restart``:
a marker file written before the stop, checked without any vmrun run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from cpi import agent_env, vm_settings, vmx_edit
from cpi.disks import Disks
from cpi.errors import CloudError, DiskNotAttached, DiskNotFound, step
from cpi.ids import DiskCid, VmCid
from cpi.power import Power
from cpi.store import DISKS, Store
from cpi.vms import Vms
from toolkit.vmware import devices
from toolkit.vmware.vmx import Vmx, read_vmx, write_vmx

log = logging.getLogger(__name__)
T = TypeVar("T")


class Attachments:
    def __init__(self, store: Store, vms: Vms, disks: Disks, power: Power) -> None:
        self.store, self.vms, self.disks, self.power = store, vms, disks, power

    def attach(self, vm: VmCid, disk: DiskCid, *, on_settings: bool = True) -> str:
        """Attach (cold) and return the hint; an already attached disk returns its hint, no restart.

        ``on_settings`` False: the disk is not announced on the settings CD-ROM (the caller
        gives the hint to the agent itself); a stale announcement of it is removed.
        """
        doing = f"Attaching disk '{disk}' to VM '{vm}'"
        with self.store.lock_for(vm):
            vmx = self.vms.require(vm)
            with step(doing):
                self.vms.finish_restart(vm, vmx)
            with self.store.lock_for(disk):
                self._require_disk(disk)
                self._refuse_other_owner(vm, disk)
                path = self.store.disk_vmdk(disk)
                slot = vmx_edit.slot_of(read_vmx(self.store.runner, vmx), path)
                if slot is not None:
                    hint = str(slot.unit)
                    self._record(vm, disk, hint if on_settings else None)
                    return hint
                with step(doing), self.vms.cold_edit(vm, vmx):
                    hint = self._edit(vmx, lambda config: vmx_edit.attach_persistent(config, path))
                    self._record(vm, disk, hint if on_settings else None)
        log.info("attach_disk %s to %s -> hint %s", disk, vm, hint)
        return hint

    def detach(self, vm: VmCid, disk: DiskCid) -> None:
        """Remove the disk from the .vmx AND the settings; DiskNotAttached when it is in neither."""
        doing = f"Detaching disk '{disk}' from VM '{vm}'"
        with self.store.lock_for(vm):
            vmx = self.vms.require(vm)
            with step(doing):
                self.vms.finish_restart(vm, vmx)
            with self.store.lock_for(disk):
                path = self.store.disk_vmdk(disk)
                slot = vmx_edit.slot_of(read_vmx(self.store.runner, vmx), path)
                announced = str(disk) in agent_env.persistent(vm_settings.load(self.store, vm))
                if slot is None and not announced:
                    raise DiskNotAttached(f"Disk '{disk}' is not attached to VM '{vm}'")
                if slot is not None:
                    with step(doing), self.vms.cold_edit(vm, vmx):
                        self._edit(vmx, lambda config: devices.detach(config, slot))
                        self._forget(vm, disk)
                else:
                    self._forget(vm, disk)
        log.info("detach_disk %s from %s", disk, vm)

    def disks_of(self, vm: VmCid) -> list[DiskCid]:
        """Persistent disks attached to ``vm``, from its .vmx (0 vmrun calls)."""
        vmx = self.vms.require(vm)
        config = read_vmx(self.store.runner, vmx)
        found = (self.store.disk_cid_of(p) for _s, p in vmx_edit.persistent_attachments(config, self.store.join(DISKS)))
        return [d for d in found if d is not None]

    def _edit(self, vmx: str, change: Callable[[Vmx], T]) -> T:
        # Re-read after the stop: VMware rewrote the file when the VM powered off.
        config = read_vmx(self.store.runner, vmx)
        result = change(config)
        write_vmx(self.store.runner, vmx, config)
        return result

    def _record(self, vm: VmCid, disk: DiskCid, hint: str | None) -> None:
        """The disk's owner, and its hint on the settings (``None``: not on the settings)."""
        settings = vm_settings.load(self.store, vm)
        announced = agent_env.persistent(settings).get(str(disk))
        if hint is not None and announced != hint:
            vm_settings.save(self.store, vm, agent_env.attach_persistent(settings, str(disk), hint))
        elif hint is None and announced is not None:
            vm_settings.save(self.store, vm, agent_env.detach_persistent(settings, str(disk)))
        self.disks.set_attached(disk, vm)

    def _forget(self, vm: VmCid, disk: DiskCid) -> None:
        settings = vm_settings.load(self.store, vm)
        vm_settings.save(self.store, vm, agent_env.detach_persistent(settings, str(disk)))
        if self.disks.exists(disk):
            self.disks.set_attached(disk, None)

    def _require_disk(self, disk: DiskCid) -> None:
        if not self.disks.exists(disk):
            raise DiskNotFound(f"Could not find disk with id '{disk}'")

    def _refuse_other_owner(self, vm: VmCid, disk: DiskCid) -> None:
        owner = self.disks.attached_to(disk)
        if owner is not None and owner != vm:
            raise CloudError(f"Disk '{disk}' is already attached to VM '{owner}'")
