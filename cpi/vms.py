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
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from cpi import agent_env, macs, vm_settings, vmx_edit
from cpi.cloud import CreatedVm
from cpi.config import AgentOptions
from cpi.disks import Disks
from cpi.errors import CloudError, VmCreationFailed, VmNotFound, is_transient, step
from cpi.ids import DiskCid, StemcellCid, VmCid
from cpi.power import Power
from cpi.stemcells import Stemcells
from cpi.store import CREATING_MARKER, RESTART_MARKER, Store
from cpi.vm_properties import NicSpec, VmProperties, nic_specs
from toolkit import errors as tk
from toolkit.formats import vmdk
from toolkit.host.clock import Clock
from toolkit.vmware import devices
from toolkit.vmware.vmrun import CloneKind, HostType, Vmrun
from toolkit.vmware.vmx import Vmx, read_vmx, write_vmx

log = logging.getLogger(__name__)

EPHEMERAL_DISK = "ephemeral.vmdk"
METADATA = "metadata.json"
# Failures after which the same create_vm, retried unchanged, may well succeed.
_RETRYABLE = (tk.OperationCanceledError, tk.VmInUseError, tk.LockTimeout, tk.CommandTimeout, tk.WaitTimeout)


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
        cid = VmCid.new()
        try:
            with self.store.lock_for(cid):
                created = self._create(cid, agent_id, stemcell, props, nics, networks, env)
        except Exception as exc:
            clean = self._rollback(cid)
            retry = clean and (is_transient(exc) or _caused_by(exc, _RETRYABLE))
            raise VmCreationFailed(f"Creating VM for agent '{agent_id}'", ok_to_retry=retry) from exc
        log.info("create_vm agent=%s stemcell=%s -> %s", agent_id, stemcell, cid)
        return created

    def _create(
        self,
        cid: VmCid,
        agent_id: str,
        stemcell: StemcellCid,
        props: VmProperties,
        nics: list[NicSpec],
        networks: dict[str, Any],
        env: dict[str, Any],
    ) -> CreatedVm:
        vmx = self._clone(stemcell, cid)
        # Until create_vm answers, this VM is nobody's: a killed call leaves it to `vmtk store gc`.
        self.store.runner.write_bytes(self.store.vm_file(cid, CREATING_MARKER), b"")
        reserved = macs.allocate(self.store, cid, len(nics))
        filled = agent_env.with_macs(networks, {nic.network: mac for nic, mac in zip(nics, reserved, strict=True)})
        settings = agent_env.for_vm(
            agent_id=agent_id,
            vm_cid=str(cid),
            networks=filled,
            env=env,
            agent=self.agent,
            ephemeral=props.disk_mb > 0,
        )
        with step(f"Configuring '{vmx}'"):
            ephemeral = self._make_ephemeral(cid, props.disk_mb)
            vm_settings.save(self.store, cid, settings)
            config = read_vmx(self.store.runner, vmx)
            vmx_edit.configure_new_vm(
                config,
                props=props,
                nics=nics,
                macs=reserved,
                ephemeral=ephemeral,
                iso=vm_settings.iso_path(self.store, cid),
            )
            write_vmx(self.store.runner, vmx, config)
        with step(f"Starting '{vmx}'"):
            self.power.start_and_wait(vmx)
        if props.bootstrap is not None:
            from cpi.bootstrap import bootstrap

            bootstrap(self.vmrun, vmx, props.bootstrap, clock=self.clock)
        self.store.runner.remove(self.store.vm_file(cid, CREATING_MARKER))
        return CreatedVm(cid, filled)

    def _clone(self, stemcell: StemcellCid, cid: VmCid) -> str:
        vmx = self.store.vm_vmx(cid)
        with self.store.lock_for(stemcell):
            template = self.stemcells.template(stemcell)
            with step(f"Cloning stemcell '{stemcell}' to '{vmx}'"):
                linked = self._clone_files(template, vmx, cid)
            if linked:  # the clone's disk is a child of the template's: keep the template for it
                self.stemcells.record_clone(cid, stemcell)
        return vmx

    def _clone_files(self, template: str, vmx: str, cid: VmCid) -> bool:
        """Clone ``template``; ``True`` for a linked clone, ``False`` for a full copy (Player)."""
        if self.vmrun.host_type is not HostType.PLAYER:
            try:
                snapshot = _clone_snapshot(self.store, template)
                self.vmrun.clone(template, vmx, CloneKind.LINKED, snapshot=snapshot, name=cid.name)
                return True
            except tk.NotSupportedError:
                log.info("this host cannot clone (Player): copying the stemcell's files")
        self._copy_template(template, vmx, cid)
        return False

    def _copy_template(self, template: str, vmx: str, cid: VmCid) -> None:
        """A full copy for Player: the template's disks keep their names, the .vmx gets the VM's."""
        runner, source_dir = self.store.runner, self.store.runner.path.dirname(template)
        runner.mkdir(self.store.vm_dir(cid))
        for name in runner.list_dir(source_dir):
            if name.lower().endswith(".vmdk"):
                runner.copy_file(runner.path.join(source_dir, name), self.store.vm_file(cid, name))
        config = read_vmx(runner, template)
        devices.set_display_name(config, cid.name)
        write_vmx(runner, vmx, config)

    def _make_ephemeral(self, cid: VmCid, size_mb: int) -> str | None:
        if size_mb <= 0:
            return None
        vmdk.create_disk(self.store.runner, self.store.vm_file(cid, EPHEMERAL_DISK), size_mb)
        return EPHEMERAL_DISK  # relative: resolved next to the .vmx, and moves with the VM

    def _rollback(self, cid: VmCid) -> bool:
        """Remove every trace of a failed create; ``True`` when nothing is left."""
        try:
            if self.store.runner.exists(self.store.vm_vmx(cid)):
                self._unregister(cid, self.store.vm_vmx(cid))
            self.store.runner.remove_tree(self.store.vm_dir(cid))
            self.store.forget_lock(cid)
        except Exception:
            log.exception("cleaning up VM %s after a failed create_vm", cid)
        return not self.store.runner.exists(self.store.vm_dir(cid))

    # --- the rest of the lifecycle --------------------------------------------------------

    def exists(self, cid: VmCid) -> bool:
        return self.store.runner.exists(self.store.vm_vmx(cid))

    def delete(self, cid: VmCid) -> None:
        """Stop hard, free persistent disks (never deleting them), delete the VM and its directory."""
        stemcell = self.stemcells.stemcell_of(cid)
        with self.store.lock_for(cid):
            directory = self.store.vm_dir(cid)
            if not self.store.runner.exists(directory):
                raise VmNotFound(f"VM '{cid}' not found")
            vmx = self.store.vm_vmx(cid)
            with step(f"Deleting VM '{cid}'"):
                if self.store.runner.exists(vmx):
                    self._unregister(cid, vmx)
                self.store.runner.remove_tree(directory)
            if self.store.runner.exists(directory):
                raise CloudError(f"Deleting VM '{cid}': '{directory}' is still there")
        if stemcell is not None:
            self.stemcells.collect(stemcell)
        log.info("delete_vm %s", cid)

    def _unregister(self, cid: VmCid, vmx: str) -> None:
        self._stop_for_delete(vmx)
        self.release_disks(cid, vmx)
        try:
            self.vmrun.delete_vm(vmx)
        except (tk.VmNotFoundError, tk.VmxUnreadableError) as exc:
            # Nothing VMware can delete: the directory removal that follows does it.
            log.warning("vmrun could not delete %s (%s); removing its files", vmx, str(exc).splitlines()[0])

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

    def release_disks(self, cid: VmCid, vmx: str) -> None:
        """Take persistent disks out of a powered-off VM's .vmx so deleting it cannot touch them."""
        try:
            config = read_vmx(self.store.runner, vmx)
        except tk.VmxError:
            return  # unreadable: VMware cannot use it either; the disks live outside its directory
        attached = vmx_edit.persistent_attachments(config, self.store.join("disks"))
        for slot, _path in attached:
            devices.detach(config, slot)
        if attached:
            write_vmx(self.store.runner, vmx, config)
        for _slot, path in attached:
            disk = self.store.disk_cid_of(path)
            if disk is not None and self.disks.exists(disk):
                with self.store.lock_for(disk):
                    self.disks.set_attached(disk, None)

    def reboot(self, cid: VmCid) -> None:
        with self.store.lock_for(cid):
            vmx = self.require(cid)
            with step(f"Rebooting VM '{cid}'"), self.cold_edit(cid, vmx, start_after=True):
                pass
        log.info("reboot_vm %s", cid)

    @contextlib.contextmanager
    def cold_edit(self, cid: VmCid, vmx: str, *, start_after: bool = False) -> Iterator[None]:
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
        marker = self.store.vm_file(cid, RESTART_MARKER)
        self.store.runner.write_bytes(marker, b"")
        with self.power.stopped(vmx, start_after=start_after):
            yield
            self.apply_pending_name(cid, vmx)
        self.store.runner.remove(marker)

    def finish_restart(self, cid: VmCid, vmx: str) -> None:
        """Start the VM if an earlier cold edit stopped it and could not start it again (0 vmrun runs if not)."""
        marker = self.store.vm_file(cid, RESTART_MARKER)
        if not self.store.runner.exists(marker):
            return
        if not self.vmrun.is_running(vmx):
            log.warning("VM %s was left off by an interrupted change: starting it", cid)
            self.vmrun.start(vmx)
        self.store.runner.remove(marker)

    def set_metadata(self, cid: VmCid, metadata: dict[str, Any]) -> None:
        """Record metadata (0 vmrun calls); the display name follows at the next cold edit."""
        with self.store.lock_for(cid):
            self.require(cid)
            self.store.write_json(self.store.vm_file(cid, METADATA), metadata, mode=0o644)

    def require(self, cid: VmCid) -> str:
        vmx = self.store.vm_vmx(cid)
        if not self.store.runner.exists(vmx):
            raise VmNotFound(f"VM '{cid}' not found")
        return vmx

    def apply_pending_name(self, cid: VmCid, vmx: str) -> None:
        """While the VM is off: set ``displayName`` from the recorded metadata (if enabled)."""
        if not self.human_names:
            return
        name = vmx_edit.human_name(self.store.read_json_or_empty(self.store.vm_file(cid, METADATA)))
        config = read_vmx(self.store.runner, vmx)
        if name is not None and devices.display_name(config) != name:
            devices.set_display_name(config, name)
            write_vmx(self.store.runner, vmx, config)


def _clone_snapshot(store: Store, template: str) -> str | None:
    """The template's snapshot to clone from: vmrun's own "Clone" snapshot after the first clone.

    A linked clone without ``-snapshot`` makes vmrun snapshot the source; a second
    one then fails with "The state of the virtual machine has not changed since
    the last snapshot operation", so later clones name the existing snapshot.
    """
    vmsd = template[: -len(".vmx")] + ".vmsd"
    try:
        config = Vmx.parse(store.runner.read_bytes(vmsd), source=vmsd)
    except tk.HostFileNotFound:
        return None
    names = [
        value
        for key, value in config.items()
        if key.lower().endswith(".displayname") and key.lower().startswith("snapshot")
    ]
    return names[0] if names else None


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    from cpi.errors import chain

    return any(isinstance(link, kinds) for link in chain(exc))
