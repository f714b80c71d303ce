"""vmtk: a VIX/vmrun guest-operations toolkit.

The primitives, in three floors (bottom to top): ``toolkit.host`` (the Runner
boundary: local and SSH, the clock), ``toolkit.vmware`` (.vmx files, devices,
the vmrun, ovftool and vdiskmanager drivers, guest operations, the bootstrap
procedure) and ``toolkit.formats`` (ISO 9660, VMDK, OVF, archives, stemcells),
with ``toolkit.errors`` under all of them. This module is their public face:
``from toolkit import Vmrun, Guest, LocalRunner`` and the whole error tree.
Names load on first use, so ``import toolkit`` stays cheap. The toolkit never
imports ``cpi``, the simulator (``vmtk_sim``), the harness (``vmtk_harness``),
the CLI (``vmtk_cli``) or ``click``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_ERRORS = (
    "ToolkitError",
    "RunnerError",
    "SpawnError",
    "CommandTimeout",
    "HostFileError",
    "HostFileNotFound",
    "LockTimeout",
    "SshError",
    "SshConnectionLost",
    "SshUnreachable",
    "VmrunError",
    "HostConnectionError",
    "PlayerOnlyHostError",
    "NotSupportedError",
    "VmNotFoundError",
    "VmxUnreadableError",
    "VmPasswordError",
    "VmNotRunningError",
    "VmRunningError",
    "VmPausedError",
    "VmInUseError",
    "OperationCanceledError",
    "ToolsNotRunningError",
    "GuestAuthError",
    "GuestPermissionError",
    "GuestFileNotFoundError",
    "GuestIpUnavailableError",
    "SnapshotExistsError",
    "SnapshotNotFoundError",
    "SnapshotUnchangedError",
    "TransientVmrunError",
    "GuestCommandError",
    "GuestProgramNotFoundError",
    "VmxError",
    "VmxSyntaxError",
    "DuplicateKeyError",
    "IsoError",
    "DiskError",
    "StemcellError",
    "UnsafeArchiveError",
    "OvfError",
    "OvftoolError",
    "WaitTimeout",
    "ConfigError",
)

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(_ERRORS, "toolkit.errors"),
    "Completed": "toolkit.host.runner",
    "LocalRunner": "toolkit.host.runner",
    "Runner": "toolkit.host.runner",
    "Clock": "toolkit.host.clock",
    "FakeClock": "toolkit.host.clock",
    "SystemClock": "toolkit.host.clock",
    "retry": "toolkit.host.clock",
    "wait_until": "toolkit.host.clock",
    "SshRunner": "toolkit.host.ssh.runner",
    "HostPlatform": "toolkit.host.ssh.target",
    "SshTarget": "toolkit.host.ssh.target",
    "Vmx": "toolkit.vmware.vmx",
    "read_vmx": "toolkit.vmware.vmx",
    "write_vmx": "toolkit.vmware.vmx",
    "Attachment": "toolkit.vmware.devices",
    "Bus": "toolkit.vmware.devices",
    "Slot": "toolkit.vmware.devices",
    "ConnectionType": "toolkit.vmware.nics",
    "Nic": "toolkit.vmware.nics",
    "GuestProcess": "toolkit.vmware.vmrun_output",
    "HostType": "toolkit.vmware.vmrun_output",
    "Snapshot": "toolkit.vmware.vmrun_output",
    "ToolsState": "toolkit.vmware.vmrun_output",
    "CloneKind": "toolkit.vmware.vmrun",
    "GuestCredentials": "toolkit.vmware.vmrun",
    "StopMode": "toolkit.vmware.vmrun",
    "Vmrun": "toolkit.vmware.vmrun",
    "Guest": "toolkit.vmware.guest",
    "GuestResult": "toolkit.vmware.guest",
    "GuestOs": "toolkit.vmware.guest_wrapper",
    "BootstrapSpec": "toolkit.vmware.bootstrap",
    "run_bootstrap": "toolkit.vmware.bootstrap",
    "Ovftool": "toolkit.vmware.ovftool",
    "VDiskManager": "toolkit.vmware.vdiskmanager",
    "build_iso": "toolkit.formats.iso",
    "read_iso": "toolkit.formats.iso",
    "settings_iso": "toolkit.formats.iso",
    "create_disk": "toolkit.formats.vmdk",
    "grow_disk": "toolkit.formats.vmdk",
    "convert_stream_optimized": "toolkit.formats.streamvmdk",
    "OvfSpec": "toolkit.formats.ovf",
    "parse_ovf": "toolkit.formats.ovf",
    "import_image": "toolkit.formats.stemcell",
}

if TYPE_CHECKING:
    from toolkit.errors import (
        CommandTimeout,
        ConfigError,
        DiskError,
        DuplicateKeyError,
        GuestAuthError,
        GuestCommandError,
        GuestFileNotFoundError,
        GuestIpUnavailableError,
        GuestPermissionError,
        HostConnectionError,
        HostFileError,
        HostFileNotFound,
        IsoError,
        LockTimeout,
        NotSupportedError,
        OperationCanceledError,
        OvfError,
        OvftoolError,
        PlayerOnlyHostError,
        RunnerError,
        SnapshotExistsError,
        SnapshotNotFoundError,
        SnapshotUnchangedError,
        SpawnError,
        SshConnectionLost,
        SshError,
        SshUnreachable,
        StemcellError,
        ToolkitError,
        ToolsNotRunningError,
        TransientVmrunError,
        UnsafeArchiveError,
        VmInUseError,
        VmNotFoundError,
        VmNotRunningError,
        VmPasswordError,
        VmPausedError,
        VmrunError,
        VmRunningError,
        VmxError,
        VmxSyntaxError,
        VmxUnreadableError,
        WaitTimeout,
    )
    from toolkit.formats.iso import build_iso, read_iso, settings_iso
    from toolkit.formats.ovf import OvfSpec, parse_ovf
    from toolkit.formats.stemcell import import_image
    from toolkit.formats.streamvmdk import convert_stream_optimized
    from toolkit.formats.vmdk import create_disk, grow_disk
    from toolkit.host.clock import Clock, FakeClock, SystemClock, retry, wait_until
    from toolkit.host.runner import Completed, LocalRunner, Runner
    from toolkit.host.ssh.runner import SshRunner
    from toolkit.host.ssh.target import HostPlatform, SshTarget
    from toolkit.vmware.bootstrap import BootstrapSpec, run_bootstrap
    from toolkit.vmware.devices import Attachment, Bus, Slot
    from toolkit.vmware.guest import Guest, GuestResult
    from toolkit.vmware.guest_wrapper import GuestOs
    from toolkit.vmware.nics import ConnectionType, Nic
    from toolkit.vmware.ovftool import Ovftool
    from toolkit.vmware.vdiskmanager import VDiskManager
    from toolkit.vmware.vmrun import CloneKind, GuestCredentials, StopMode, Vmrun
    from toolkit.vmware.vmrun_output import GuestProcess, HostType, Snapshot, ToolsState
    from toolkit.vmware.vmx import Vmx, read_vmx, write_vmx


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "__version__",
    "Attachment",
    "BootstrapSpec",
    "Bus",
    "Clock",
    "CloneKind",
    "CommandTimeout",
    "Completed",
    "ConfigError",
    "ConnectionType",
    "DiskError",
    "DuplicateKeyError",
    "FakeClock",
    "Guest",
    "GuestAuthError",
    "GuestCommandError",
    "GuestCredentials",
    "GuestFileNotFoundError",
    "GuestIpUnavailableError",
    "GuestOs",
    "GuestPermissionError",
    "GuestProcess",
    "GuestResult",
    "HostConnectionError",
    "HostFileError",
    "HostFileNotFound",
    "HostPlatform",
    "HostType",
    "IsoError",
    "LocalRunner",
    "LockTimeout",
    "Nic",
    "NotSupportedError",
    "OperationCanceledError",
    "OvfError",
    "OvfSpec",
    "Ovftool",
    "OvftoolError",
    "PlayerOnlyHostError",
    "Runner",
    "RunnerError",
    "Slot",
    "Snapshot",
    "SnapshotExistsError",
    "SnapshotNotFoundError",
    "SnapshotUnchangedError",
    "SpawnError",
    "SshConnectionLost",
    "SshError",
    "SshRunner",
    "SshTarget",
    "SshUnreachable",
    "StemcellError",
    "StopMode",
    "SystemClock",
    "ToolkitError",
    "ToolsNotRunningError",
    "ToolsState",
    "TransientVmrunError",
    "UnsafeArchiveError",
    "VDiskManager",
    "VmInUseError",
    "VmNotFoundError",
    "VmNotRunningError",
    "VmPasswordError",
    "VmPausedError",
    "VmRunningError",
    "Vmrun",
    "VmrunError",
    "Vmx",
    "VmxError",
    "VmxSyntaxError",
    "VmxUnreadableError",
    "WaitTimeout",
    "build_iso",
    "convert_stream_optimized",
    "create_disk",
    "grow_disk",
    "import_image",
    "parse_ovf",
    "read_iso",
    "read_vmx",
    "retry",
    "run_bootstrap",
    "settings_iso",
    "wait_until",
    "write_vmx",
]
