"""Throwaway clones of a template VM, each with a marker naming the process that owns it.

Clones live in ``<root>/<name>/<name>.vmx``; next to each directory a marker
``<name>.owner.json`` records the owning process (host name and pid). The marker
is written *before* the clone is made and removed *after* it is destroyed, so a
test process killed at any moment leaves a marker that ``sweep`` (run when the
next session starts) can act on: clones whose owner is dead are destroyed.
Clones without a marker (kept for inspection) are never touched. Host files are
reached only through the ``Runner``; vmrun only through ``Vmrun``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import socket
import sys
from dataclasses import asdict, dataclass

from toolkit.errors import (
    VmNotFoundError,
    VmNotRunningError,
    VmxUnreadableError,
)
from toolkit.host.clock import Clock, retry
from toolkit.host.runner import Runner
from toolkit.vmware.devices import set_display_name
from toolkit.vmware.vmrun import CloneKind, StopMode, Vmrun
from toolkit.vmware.vmx import Vmx, read_vmx, write_vmx

log = logging.getLogger(__name__)
MARKER_SUFFIX = ".owner.json"
CLONE_LOCK = "clone.lock"
LOCK_TIMEOUT = 600.0
# Files of a powered-off VM that a copy must not take along (locks, logs, suspended state).
SKIPPED_SUFFIXES = (".lck", ".log", ".vmsd", ".vmem", ".vmss", ".scoreboard", MARKER_SUFFIX)
# Keys VMware generates per VM: dropped so the copy gets its own identity.
IDENTITY_KEYS = ("uuid.bios", "uuid.location", "vc.uuid")
GENERATED_MAC_KEYS = (".generatedaddress", ".generatedaddressoffset")


@dataclass(frozen=True, slots=True)
class Owner:
    """The process that owns a clone."""

    host: str
    pid: int
    created: float

    @classmethod
    def current(cls, clock: Clock) -> Owner:
        return cls(socket.gethostname(), os.getpid(), clock.time())

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Owner:
        fields = json.loads(data)
        return cls(str(fields["host"]), int(fields["pid"]), float(fields["created"]))

    def is_gone(self) -> bool:
        """True only when the owner ran on this machine and has exited."""
        return self.host == socket.gethostname() and not pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is someone else's
    return True


def _windows_pid_alive(pid: int) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows: ask the kernel instead.
    import ctypes

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    code = ctypes.c_ulong()
    kernel.GetExitCodeProcess(handle, ctypes.byref(code))
    kernel.CloseHandle(handle)
    return code.value == 259  # STILL_ACTIVE


def clone_name(worker: str, label: str) -> str:
    """``vmtk-<worker>-<label>-<random>``: unique across workers, sessions and machines."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:32].strip("-") or "vm"
    return f"vmtk-{re.sub(r'[^a-z0-9]+', '', worker.lower()) or 'main'}-{slug}-{secrets.token_hex(4)}"


class CloneStore:
    """Creates, destroys and sweeps the clones under ``root`` (see module docstring)."""

    def __init__(self, runner: Runner, vmrun: Vmrun, root: str, *, clock: Clock) -> None:
        self._runner = runner
        self._vmrun = vmrun
        self._clock = clock
        self.root = root

    def vmx_of(self, name: str) -> str:
        return str(self._runner.path.join(self.root, name, f"{name}.vmx"))

    def create(self, template: str, name: str, *, snapshot: str | None) -> str:
        """Clone ``template`` (linked from ``snapshot``; a full copy without one) as ``name``."""
        self._runner.mkdir(self.root)
        self._runner.write_bytes(self._marker(name), Owner.current(self._clock).to_json())
        vmx = self.vmx_of(name)
        # Clones of one source rewrite its .vmsd: one at a time, across processes.
        with self._runner.lock(self._runner.path.join(self.root, CLONE_LOCK), timeout=LOCK_TIMEOUT):
            if snapshot is None:
                self._copy(template, vmx, name)
            else:
                self._vmrun.clone(template, vmx, CloneKind.LINKED, snapshot=snapshot, name=name)
        log.info("cloned %s as %s", template, vmx)
        return vmx

    def destroy(self, name: str) -> None:
        """Power off and delete the clone and its directory, then its marker."""
        vmx = self.vmx_of(name)
        with contextlib.suppress(VmNotRunningError, VmNotFoundError, VmxUnreadableError):
            self._vmrun.stop(vmx, StopMode.HARD)
        with contextlib.suppress(VmNotFoundError, VmxUnreadableError):
            # Right after a power-off the lock files linger: "This VM is in use." is transient.
            retry(lambda: self._vmrun.delete_vm(vmx), clock=self._clock)
        self._runner.remove_tree(self._runner.path.join(self.root, name))
        self._runner.remove(self._marker(name))
        log.info("destroyed %s", vmx)

    def release(self, name: str) -> None:
        """Drop the marker: the clone is kept and no sweep will ever remove it."""
        self._runner.remove(self._marker(name))

    def owned(self) -> dict[str, Owner | None]:
        """Every marked clone and its owner (``None``: the marker is unreadable)."""
        if not self._runner.is_dir(self.root):
            return {}
        found: dict[str, Owner | None] = {}
        for entry in self._runner.list_dir(self.root):
            if entry.endswith(MARKER_SUFFIX):
                found[entry[: -len(MARKER_SUFFIX)]] = self._owner(entry)
        return found

    def sweep(self) -> list[str]:
        """Destroy the clones whose owner process is gone; returns their names."""
        stale = [name for name, owner in self.owned().items() if owner is None or owner.is_gone()]
        for name in stale:
            log.warning("removing %s, left behind by a test process that is gone", name)
            self.destroy(name)
        return stale

    def _owner(self, entry: str) -> Owner | None:
        try:
            return Owner.from_json(self._runner.read_bytes(self._runner.path.join(self.root, entry)))
        except (ValueError, KeyError, TypeError):
            # Markers are written atomically: an unreadable one was damaged, not half-written.
            return None

    def _marker(self, name: str) -> str:
        return str(self._runner.path.join(self.root, name + MARKER_SUFFIX))

    def _copy(self, template: str, vmx: str, name: str) -> None:
        """A full copy by files: VMware Player cannot clone (``The operation is not supported``)."""
        path = self._runner.path
        source_dir, target_dir = path.dirname(template), path.dirname(vmx)
        self._runner.mkdir(target_dir)
        for entry in self._runner.list_dir(source_dir):
            source = path.join(source_dir, entry)
            if entry.endswith(SKIPPED_SUFFIXES) or source == template or self._runner.is_dir(source):
                continue
            self._runner.copy_file(source, path.join(target_dir, entry))
        config = read_vmx(self._runner, template)
        _fresh_identity(config, name)
        write_vmx(self._runner, vmx, config)


def _fresh_identity(config: Vmx, name: str) -> None:
    """Forget the template's UUIDs and MACs; "I copied it" makes VMware generate new ones."""
    keys = config.keys()  # a copy: the loop removes some
    for key in keys:
        if key.lower() in IDENTITY_KEYS or key.lower().endswith(GENERATED_MAC_KEYS):
            config.unset(key)
    config.set("uuid.action", "create")
    set_display_name(config, name)
