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

The .vmx edits are the ``Vm`` handle's and the disk's record the ``Disk``'s;
this module only orders them. It never builds a path or reads a file itself.
"""

from __future__ import annotations

import logging

from cpi import agent_env, vm_settings
from cpi.disk import Disk
from cpi.disks import Disks
from cpi.errors import CloudError, DiskNotAttached, step
from cpi.ids import DiskCid, VmCid
from cpi.power import Power
from cpi.store import Store
from cpi.vm import Vm
from cpi.vms import Vms

log = logging.getLogger(__name__)


class Attachments:
    def __init__(self, store: Store, vms: Vms, disks: Disks, power: Power) -> None:
        self.store, self.vms, self.disks, self.power = store, vms, disks, power

    def attach(self, vm_cid: VmCid, disk_cid: DiskCid, *, on_settings: bool = True) -> str:
        """Attach (cold) and return the hint; an already attached disk returns its hint, no restart.

        ``on_settings`` False: the disk is not announced on the settings CD-ROM (the caller
        gives the hint to the agent itself); a stale announcement of it is removed.
        """
        doing = f"Attaching disk '{disk_cid}' to VM '{vm_cid}'"
        with self.store.lock_for(vm_cid):
            vm = self.vms.require(vm_cid)
            with step(doing):
                self.vms.finish_restart(vm)
            with self.store.lock_for(disk_cid):
                disk = self.disks.require(disk_cid)
                self._refuse_other_owner(vm, disk)
                slot = vm.slot_of(disk.vmdk)
                if slot is not None:
                    hint = str(slot.unit)
                    self._record(vm, disk, hint if on_settings else None)
                    return hint
                with step(doing), self.vms.cold_edit(vm):
                    hint = vm.attach_disk(disk.vmdk)
                    self._record(vm, disk, hint if on_settings else None)
        log.info("attach_disk %s to %s -> hint %s", disk_cid, vm_cid, hint)
        return hint

    def detach(self, vm_cid: VmCid, disk_cid: DiskCid) -> None:
        """Remove the disk from the .vmx AND the settings; DiskNotAttached when it is in neither."""
        doing = f"Detaching disk '{disk_cid}' from VM '{vm_cid}'"
        with self.store.lock_for(vm_cid):
            vm = self.vms.require(vm_cid)
            with step(doing):
                self.vms.finish_restart(vm)
            with self.store.lock_for(disk_cid):
                disk = self.store.disk(disk_cid)
                slot = vm.slot_of(disk.vmdk)
                announced = str(disk_cid) in agent_env.persistent(vm_settings.load(vm))
                if slot is None and not announced:
                    raise DiskNotAttached(f"Disk '{disk_cid}' is not attached to VM '{vm_cid}'")
                if slot is not None:
                    with step(doing), self.vms.cold_edit(vm):
                        vm.detach_disk(slot)
                        self._forget(vm, disk)
                else:
                    self._forget(vm, disk)
        log.info("detach_disk %s from %s", disk_cid, vm_cid)

    def disks_of(self, vm_cid: VmCid) -> list[DiskCid]:
        """Persistent disks attached to the VM, from its .vmx (0 vmrun calls)."""
        vm = self.vms.require(vm_cid)
        found = (self.store.disk_cid_of(path) for path in vm.persistent_disks(self.store.disks_dir))
        return [d for d in found if d is not None]

    def _record(self, vm: Vm, disk: Disk, hint: str | None) -> None:
        """The disk's owner, and its hint on the settings (``None``: not on the settings)."""
        settings = vm_settings.load(vm)
        announced = agent_env.persistent(settings).get(str(disk.cid))
        if hint is not None and announced != hint:
            vm_settings.save(vm, agent_env.attach_persistent(settings, str(disk.cid), hint))
        elif hint is None and announced is not None:
            vm_settings.save(vm, agent_env.detach_persistent(settings, str(disk.cid)))
        disk.set_attached(vm.cid)

    def _forget(self, vm: Vm, disk: Disk) -> None:
        settings = vm_settings.load(vm)
        vm_settings.save(vm, agent_env.detach_persistent(settings, str(disk.cid)))
        if disk.exists():
            disk.set_attached(None)

    def _refuse_other_owner(self, vm: Vm, disk: Disk) -> None:
        owner = self.disks.attached_to(disk)
        if owner is not None and owner != vm.cid:
            raise CloudError(f"Disk '{disk.cid}' is already attached to VM '{owner}'")
