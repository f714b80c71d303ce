"""Would the BOSH agent inside the guest start? The checks it makes on its settings.

A vSphere stemcell's agent reads the file ``env`` from the first CD-ROM drive
(the guest enumerates IDE, then SATA, then SCSI) and refuses to run when the JSON
is unusable. ``check`` returns ``None`` when the agent would run, else the reason;
``settings_of`` is what it read. Both read the ISO and the .vmx and change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from toolkit.vmware.devices import cdroms
from toolkit.vmware.vmx import Vmx
from vmtk_sim.context import disk_path
from vmtk_sim.isofs import CdromError, read_root_files
from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.vmfiles import present_nics

SETTINGS_FILE = "env"  # agent.json: {"Type": "CDROM", "FileName": "env"}
AGENT_PROGRAM = "/var/vcap/bosh/bin/bosh-agent"
AGENT_COMMAND = f"{AGENT_PROGRAM} -P ubuntu -C /var/vcap/bosh/agent.json"


def check(vmx_path: str, vmx: Vmx) -> str | None:
    """Why the agent would not start (``None``: it starts once the guest has booted)."""
    try:
        settings = settings_of(vmx_path, vmx)
    except AgentActionError as exc:
        return str(exc)
    return settings_problem(settings, nic_macs(vmx))


def settings_of(vmx_path: str, vmx: Vmx) -> dict[str, object]:
    """The settings the agent reads from the first CD-ROM, or ``AgentActionError`` saying why it finds none."""
    drives = cdroms(vmx)
    if not drives:
        raise AgentActionError("no CD-ROM drive: the agent finds no settings")
    first = drives[0]
    if not first.file_name or "image" not in first.device_type.lower():
        raise AgentActionError(f"first CD-ROM {first.slot} holds no image: the agent finds no settings")
    iso_path = disk_path(vmx_path, first.file_name)
    try:
        with open(iso_path, "rb") as handle:
            files = read_root_files(handle.read())
    except OSError as exc:
        raise AgentActionError(f"cannot read {iso_path}: {exc.strerror or exc}") from exc
    except CdromError as exc:
        raise AgentActionError(f"cannot mount {iso_path}: {exc}") from exc
    return _parsed(iso_path, files)


def _parsed(iso_path: str, files: dict[str, bytes]) -> dict[str, object]:
    """The agent's ``json.Unmarshal`` of ``env`` into its settings struct."""
    if SETTINGS_FILE not in files:
        raise AgentActionError(f"no {SETTINGS_FILE!r} on {iso_path} (files: {', '.join(sorted(files)) or 'none'})")
    try:
        settings = json.loads(files[SETTINGS_FILE].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise AgentActionError(f"unreadable settings on {iso_path}: {exc}") from exc
    if not isinstance(settings, dict):
        raise AgentActionError(f"unreadable settings on {iso_path}: not a JSON object")
    return settings


def settings_problem(settings: Mapping[str, object], macs: set[str]) -> str | None:
    """The first reason the agent would reject ``settings`` (``None``: acceptable)."""
    if not isinstance(settings.get("agent_id"), str):
        return "agent_id missing or not a string"
    for problem in (_network_problem(settings.get("networks"), macs), _disks_problem(settings.get("disks"))):
        if problem:
            return problem
    return None


def _network_problem(networks: object, macs: set[str]) -> str | None:
    if networks is None:
        return None
    if not isinstance(networks, Mapping):
        return "networks is not a map"
    for name, network in networks.items():
        mac = network.get("mac") if isinstance(network, Mapping) else None
        if mac is not None and (not isinstance(mac, str) or mac.lower() not in macs):
            return f"network {name!r}: no NIC has MAC {mac!r} (NICs: {', '.join(sorted(macs)) or 'none'})"
    return None


def _disks_problem(disks: object) -> str | None:
    if not isinstance(disks, Mapping):
        return "disks missing or not a map"
    if not isinstance(disks.get("system"), str):
        return "disks.system missing or not a string"
    ephemeral = disks.get("ephemeral")
    if ephemeral is not None and not _hint(ephemeral):
        return "disks.ephemeral is neither a string nor a map of strings"
    persistent = disks.get("persistent") or {}
    if not isinstance(persistent, Mapping) or not all(_hint(v) for v in persistent.values()):
        return "disks.persistent is not a map of disk hints"
    return None


def _hint(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())


def nic_macs(vmx: Vmx) -> set[str]:
    """Every MAC the VM's NICs carry (static or generated), lower-case."""
    macs = set()
    for index in present_nics(vmx):
        for key in (f"ethernet{index}.address", f"ethernet{index}.generatedAddress"):
            value = vmx.get(key)
            if value:
                macs.add(value.lower())
    return macs
