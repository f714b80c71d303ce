"""The simulated agent's persistent disks, by the bosh-agent's rules.

The agent knows a disk when its settings (the CD-ROM) announce it or
``add_persistent_disk`` recorded it (``persistent_disk_hints.json``, removed by
``remove_persistent_disk``): settings/service.go ``GetAllPersistentDiskSettings``.
At start-up it refuses to run when it knows more than one disk and more than
its ``update_settings`` disk associations (agent/bootstrap.go
``comparePersistentDisk``). ``mount_disk`` mounts at ``/var/vcap/store``, or at
``/var/vcap/store_migration_target`` when the store is taken; ``migrate_disk``
copies the store to the new disk, unmounts the old one and remounts the new one
on the store (the Linux platform's ``MigratePersistentDisk``); ``list_disk``
lists the known disks that are mounted.

What a disk holds lives outside the guest, in a directory per disk file that
the simulator keeps (``disk_data``): mounting copies it into the mount
point, unmounting and the agent's end (the VM powers off) copy the mount point
back. So data written under ``/var/vcap/store`` follows the disk to the next
VM it is attached to, as it does on a real disk.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.mbus.guest import GuestFs

HINTS = "/var/vcap/bosh/persistent_disk_hints.json"
MOUNTS = "/var/vcap/bosh/mounted_disks.json"
UPDATED_SETTINGS = "/var/vcap/bosh/update_settings.json"
STORE = "/var/vcap/store"
MIGRATION_TARGET = "/var/vcap/store_migration_target"


class PersistentDisks:
    """One agent's view of its persistent disks, kept in the guest as the agent keeps it."""

    def __init__(
        self, guest: GuestFs, settings: Mapping[str, Any], disk_data: Callable[[], Mapping[str, Path]]
    ) -> None:
        """``disk_data``: the disks the guest sees now, SCSI unit -> the directory of that disk's data."""
        self.guest, self.settings, self.disk_data = guest, settings, disk_data
        self.hints: dict[str, Any] = guest.read_json(HINTS, {})
        recorded = guest.read_json(MOUNTS, [])
        self.mounts: dict[str, str] = {m["cid"]: m["dir"] for m in recorded if isinstance(m, dict)}

    def known(self) -> dict[str, Any]:
        """Every disk the agent knows, with its hint (recorded hints win over the settings')."""
        announced = (self.settings.get("disks") or {}).get("persistent") or {}
        return {**announced, **self.hints}

    def startup_problem(self) -> str | None:
        """Why the agent refuses to start (``comparePersistentDisk``), or ``None``."""
        update = self.guest.read_json(UPDATED_SETTINGS, {})
        associations = update.get("disk_associations") or [] if isinstance(update, Mapping) else []
        known = self.known()
        for association in associations:
            cid = association.get("cid") if isinstance(association, Mapping) else None
            if cid not in known:
                return f"Running bootstrap: Comparing persistent disks: Disk {cid} is not attached"
        if len(known) > 1 and len(known) > len(associations):
            return "Running bootstrap: Comparing persistent disks: Unexpected disk attached"
        return None

    def list(self) -> list[str]:
        return [cid for cid in self.known() if cid in self.mounts]

    def add(self, cid: Any, hint: Any) -> dict[str, Any]:
        self.hints[str(cid)] = hint
        self.guest.write_json(HINTS, self.hints)
        return {}

    def remove(self, cid: Any) -> dict[str, Any]:
        self.hints.pop(str(cid), None)
        self.guest.write_json(HINTS, self.hints)
        return {}

    def mount(self, cid: Any) -> dict[str, Any]:
        try:
            unit = self._unit(str(cid))
        except AgentActionError as exc:
            raise AgentActionError(f"Reading persistent disk settings: {exc}") from exc
        data = self.disk_data().get(unit)
        if data is None:
            raise AgentActionError(
                f"Mounting persistent disk: Getting real device path: Timed out getting real device path for '{unit}'"
            )
        if str(cid) not in self.mounts:
            taken = STORE in self.mounts.values()
            target = MIGRATION_TARGET if taken else STORE
            _copy_into(data, self.guest.fresh_dir(target))
            self._record({**self.mounts, str(cid): target})
        return {}

    def unmount(self, cid: Any) -> dict[str, str]:
        self._unit(str(cid))  # a disk the agent never heard of is an error, not "not mounted"
        if str(cid) not in self.mounts:
            return {"message": f"Partition of {cid} is not mounted"}
        self._flush(str(cid))
        self.guest.fresh_dir(self.mounts[str(cid)])
        self._record({k: v for k, v in self.mounts.items() if k != str(cid)})
        return {"message": f"Unmounted partition of {cid}"}

    def migrate(self) -> dict[str, Any]:
        """Copy the store onto the disk at the migration target, which then replaces the old one on the store."""
        by_dir = {where: cid for cid, where in self.mounts.items()}
        old, new = by_dir.get(STORE), by_dir.get(MIGRATION_TARGET)
        if old is None or new is None:
            return {}
        _copy_into(self.guest.host(STORE), self.guest.host(MIGRATION_TARGET))
        self._flush(old)
        _copy_into(self.guest.host(MIGRATION_TARGET), self.guest.fresh_dir(STORE))
        self.guest.fresh_dir(MIGRATION_TARGET)
        self._record({new: STORE})
        return {}

    def flush_all(self) -> None:
        """Write every mounted directory back to its disk (the VM is powering off)."""
        for cid in list(self.mounts):
            self._flush(cid)

    def _flush(self, cid: str) -> None:
        try:
            data = self.disk_data().get(self._unit(cid))
        except AgentActionError:
            return  # forgotten meanwhile: nothing tells where its data goes
        if data is not None:
            _copy_into(self.guest.host(self.mounts[cid]), data)

    def _unit(self, cid: str) -> str:
        hint = self.known().get(cid)
        if hint is None:
            raise AgentActionError(f"Persistent disk with volume id '{cid}' could not be found")
        unit = hint.get("volume_id") if isinstance(hint, Mapping) else hint
        return str(unit)

    def _record(self, mounts: dict[str, str]) -> None:
        self.mounts = mounts
        self.guest.write_json(MOUNTS, [{"cid": cid, "dir": where} for cid, where in mounts.items()])


def _copy_into(source: Path, target: Path) -> None:
    """Make ``target`` hold exactly what ``source`` holds (symlinks copied as links)."""
    if target.exists():
        shutil.rmtree(target)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        target.mkdir(parents=True)
