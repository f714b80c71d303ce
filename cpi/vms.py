"""VMs: create (clone, configure, settings, start, bootstrap), delete, has, reboot, metadata.

create_vm: a linked clone of the stemcell (serialized on the stemcell's lock only
for ``vmrun clone``; Player cannot clone, so the template's files are copied),
then, while it is still off, CPU/memory, one NIC per network with a static MAC,
the ephemeral disk on scsi0:1, the settings ISO in the first CD-ROM; then start,
wait for Tools, and the optional bootstrap. Any failure removes everything it
created (stop hard, delete the VM directory, which frees its MACs) and reports
``VMCreationFailed``. Cost on a host: clone, start, one Tools check when the
guest is quick.

VMware rewrites a .vmx at power-off and drops edits made while it runs, so a
running VM's .vmx is never edited here: set_vm_metadata only records
``metadata.json`` (no vmrun call), and the human-readable ``displayName`` is
applied at the next cold edit (attach/detach/reboot) or by ``vmtk``.

A VM's files and .vmx edits are its ``Vm`` handle's (``cpi.vm``, from
``Store.vm``); this module composes them with vmrun into the BOSH operations
and owns the cold edit (stop, edit, restart). It never builds a path itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cpi import agent_env, macs, vm_settings, vmx_edit
from cpi.config import AgentOptions
from cpi.disks import Disks
from cpi.errors import CloudError, VmCreationFailed, VmNotFound, is_transient, step
from cpi.ids import DiskCid, StemcellCid, VmCid
from cpi.power import Power
from cpi.stemcell import Stemcell
from cpi.stemcells import Stemcells
from cpi.store import Store
from cpi.vm import Vm
from cpi.vm_properties import NicSpec, VmProperties, nic_specs
from toolkit import errors as tk
from toolkit.host.clock import Clock
from toolkit.vmware.vmrun import CloneKind, HostType, Vmrun

log = logging.getLogger(__name__)

# Failures after which the same create_vm, retried unchanged, may well succeed.
_RETRYABLE = (tk.OperationCanceledError, tk.VmInUseError, tk.LockTimeout, tk.CommandTimeout, tk.WaitTimeout)


@dataclass(frozen=True, slots=True)
class CreatedVm:
    """create_vm's answer: the CID and the networks with their MACs filled in."""

    cid: VmCid
    networks: dict[str, Any]


class Vms:
    def __init__(
        self,
        store: Store,
        stemcells: Stemcells,
        disks: Disks,
        vmrun: Vmrun,
        power: Power,
        agent: AgentOptions,
        *,
        clock: Clock,
        human_names: bool = False,
    ) -> None:
        self.store, self.stemcells, self.disks = store, stemcells, disks
        self.vmrun, self.power, self.agent = vmrun, power, agent
        self.clock = clock
        self.human_names = human_names

    # --- create ------------------------------------------------------------------------

    def create(
        self,
        *,
        agent_id: str,
        stemcell: StemcellCid,
        cloud_properties: dict[str, Any],
        networks: dict[str, Any],
        disk_cids: list[DiskCid],
        env: dict[str, Any],
    ) -> CreatedVm:
        props, nics = VmProperties.parse(cloud_properties), nic_specs(networks)  # bad requests: CpiError
        vm = self.store.vm(VmCid.new())
        try:
            with self.store.lock_for(vm.cid):
                created = self._create(vm, agent_id, stemcell, props, nics, networks, env)
        except Exception as exc:
            clean = self._rollback(vm)
            retry = clean and (is_transient(exc) or _caused_by(exc, _RETRYABLE))
            raise VmCreationFailed(f"Creating VM for agent '{agent_id}'", ok_to_retry=retry) from exc
        log.info("create_vm agent=%s stemcell=%s -> %s", agent_id, stemcell, vm.cid)
        return created

    def _create(
        self,
        vm: Vm,
        agent_id: str,
        stemcell: StemcellCid,
        props: VmProperties,
        nics: list[NicSpec],
        networks: dict[str, Any],
        env: dict[str, Any],
    ) -> CreatedVm:
        self._clone(stemcell, vm)
        vm.mark_creating()  # until create_vm answers this VM is nobody's: a killed call leaves it to `store gc`
        reserved = macs.allocate(self.store, vm.cid, len(nics))
        filled = agent_env.with_macs(networks, {nic.network: mac for nic, mac in zip(nics, reserved, strict=True)})
        settings = agent_env.for_vm(
            agent_id=agent_id,
            vm_cid=str(vm.cid),
            networks=filled,
            env=env,
            agent=self.agent,
            ephemeral=props.disk_mb > 0,
        )
        with step(f"Configuring '{vm.vmx}'"):
            ephemeral = vm.create_ephemeral(props.disk_mb)
            vm_settings.save(vm, settings)
            vm.configure(props=props, nics=nics, macs=reserved, ephemeral=ephemeral, iso=vm_settings.iso_path(vm))
        with step(f"Starting '{vm.vmx}'"):
            self.power.start_and_wait(vm.vmx)
        if props.bootstrap is not None:
            from cpi.bootstrap import bootstrap

            bootstrap(self.vmrun, vm.vmx, props.bootstrap, clock=self.clock)
        vm.clear_creating()
        return CreatedVm(vm.cid, filled)

    def _clone(self, stemcell: StemcellCid, vm: Vm) -> None:
        with self.store.lock_for(stemcell):
            template = self.stemcells.template(stemcell)
            with step(f"Cloning stemcell '{stemcell}' to '{vm.vmx}'"):
                linked = self._clone_files(template, vm)
            if linked:  # the clone's disk is a child of the template's: keep the template for it
                vm.record_stemcell(stemcell)

    def _clone_files(self, template: Stemcell, vm: Vm) -> bool:
        """Clone ``template``; ``True`` for a linked clone, ``False`` for a full copy (Player)."""
        if self.vmrun.host_type is not HostType.PLAYER:
            try:
                snapshot = template.clone_snapshot()
                self.vmrun.clone(template.vmx, vm.vmx, CloneKind.LINKED, snapshot=snapshot, name=vm.cid.name)
                return True
            except tk.NotSupportedError:
                log.info("this host cannot clone (Player): copying the stemcell's files")
        vm.copy_from(template.vmx)
        return False

    def _rollback(self, vm: Vm) -> bool:
        """Remove every trace of a failed create; ``True`` when nothing is left."""
        try:
            if vm.exists():
                self._unregister(vm)
            vm.remove()
            self.store.forget_lock(vm.cid)
        except Exception:
            log.exception("cleaning up VM %s after a failed create_vm", vm.cid)
        return not vm.anything_left()

    # --- the rest of the lifecycle --------------------------------------------------------

    def exists(self, cid: VmCid) -> bool:
        return self.store.vm(cid).exists()

    def delete(self, cid: VmCid) -> None:
        """Stop hard, free persistent disks (never deleting them), delete the VM and its directory."""
        vm = self.store.vm(cid)
        stemcell = vm.stemcell()
        with self.store.lock_for(cid):
            if not vm.anything_left():
                raise VmNotFound(f"VM '{cid}' not found")
            with step(f"Deleting VM '{cid}'"):
                if vm.exists():
                    self._unregister(vm)
                vm.remove()
            if vm.anything_left():
                raise CloudError(f"Deleting VM '{cid}': '{vm.directory}' is still there")
        if stemcell is not None:
            self.stemcells.collect(stemcell)
        log.info("delete_vm %s", cid)

    def _unregister(self, vm: Vm) -> None:
        self._stop_for_delete(vm.vmx)
        self.release_disks(vm)
        try:
            self.vmrun.delete_vm(vm.vmx)
        except (tk.VmNotFoundError, tk.VmxUnreadableError) as exc:
            # Nothing VMware can delete: the directory removal that follows does it.
            log.warning("vmrun could not delete %s (%s); removing its files", vm.vmx, str(exc).splitlines()[0])

    def _stop_for_delete(self, vmx: str) -> None:
        """Power off hard; a .vmx VMware cannot read is fine as long as the VM is not running.

        vmrun answers "Cannot read the virtual machine configuration file" to every
        verb on an unparsable .vmx, the hard stop included, so without this such a
        VM could never be deleted. VMware could not have started it from that file,
        but ``vmrun list`` (which does not read the .vmx) confirms it before the
        directory goes.
        """
        try:
            self.power.stop_hard(vmx)
        except tk.VmxUnreadableError as exc:
            if self.vmrun.is_running(vmx):
                raise
            log.warning("vmrun cannot read %s and it is not running (%s)", vmx, str(exc).splitlines()[0])

    def release_disks(self, vm: Vm) -> None:
        """Take persistent disks out of a powered-off VM's .vmx so deleting it cannot touch them."""
        for path in vm.detach_disks_in(self.store.disks_dir):
            disk = self.store.disk_cid_of(path)
            if disk is not None and self.disks.exists(disk):
                with self.store.lock_for(disk):
                    self.store.disk(disk).set_attached(None)

    def reboot(self, cid: VmCid) -> None:
        with self.store.lock_for(cid):
            vm = self.require(cid)
            with step(f"Rebooting VM '{cid}'"), self.cold_edit(vm, start_after=True):
                pass
        log.info("reboot_vm %s", cid)

    @contextlib.contextmanager
    def cold_edit(self, vm: Vm, *, start_after: bool = False) -> Iterator[None]:
        """Hold the VM off for a .vmx edit (``Power.stopped``), behind a "restart pending" marker.

        The marker is written before the stop and removed only once the VM was
        started again (or was found off and is left so). A restart that fails, or
        a CPI killed between stop and start, leaves it, and the next attach, detach
        or reboot of the VM completes the restart even when its own edit is already
        done (``finish_restart``). The alternative, asking ``vmrun list`` on every
        "already done" path, costs a vmrun run each time and misses a kill between
        the stop and the edit (the retry then finds the VM off and leaves it so).
        Calls that must stay free of vmrun runs (has_vm, get_disks) ignore it.
        """
        vm.mark_restart_pending()
        with self.power.stopped(vm.vmx, start_after=start_after):
            yield
            self.apply_pending_name(vm)
        vm.clear_restart_pending()

    def finish_restart(self, vm: Vm) -> None:
        """Start the VM if an earlier cold edit stopped it and could not start it again (0 vmrun runs if not)."""
        if not vm.restart_pending():
            return
        if not self.vmrun.is_running(vm.vmx):
            log.warning("VM %s was left off by an interrupted change: starting it", vm.cid)
            self.vmrun.start(vm.vmx)
        vm.clear_restart_pending()

    def set_metadata(self, cid: VmCid, metadata: dict[str, Any]) -> None:
        """Record metadata (0 vmrun calls); the display name follows at the next cold edit."""
        with self.store.lock_for(cid):
            self.require(cid).set_metadata(metadata)

    def require(self, cid: VmCid) -> Vm:
        vm = self.store.vm(cid)
        if not vm.exists():
            raise VmNotFound(f"VM '{cid}' not found")
        return vm

    def apply_pending_name(self, vm: Vm) -> None:
        """While the VM is off: set ``displayName`` from the recorded metadata (if enabled)."""
        if not self.human_names:
            return
        name = vmx_edit.human_name(vm.metadata())
        if name is not None:
            vm.set_display_name(name)


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    from cpi.errors import chain

    return any(isinstance(link, kinds) for link in chain(exc))
