"""The BOSH agent's settings, exactly as the agent inside a vSphere stemcell expects them.

The agent reads the file ``env`` on the first CD-ROM and decodes it into its Go
``Settings`` struct (contract §4.1): ``agent_id``, ``vm``, ``mbus``, ``ntp``,
``blobstore``, ``networks`` (each with the lower-case MAC of its NIC, which is
how the agent maps networks to interfaces), ``disks`` (``system`` MUST be a
string: ``"0"``; ephemeral ``"1"``; persistent ``{disk_cid: hint}``) and
``env`` (the create_vm environment, verbatim). Settings are plain dicts, built
and updated by pure functions that return new dicts; this module never writes
files or ISOs (``cpi.store`` does).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from cpi.config import AgentOptions

SYSTEM_HINT = "0"
EPHEMERAL_HINT = "1"

Settings = dict[str, Any]


def with_macs(networks: Mapping[str, Mapping[str, Any]], macs: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """A copy of the create_vm networks, each given its NIC's MAC (networks without a NIC, e.g. vip, get none)."""
    filled: dict[str, dict[str, Any]] = {}
    for name, network in networks.items():
        entry = copy.deepcopy(dict(network))
        if name in macs:
            entry["mac"] = macs[name].lower()
        entry.setdefault("preconfigured", False)
        filled[name] = entry
    return filled


def for_vm(
    *,
    agent_id: str,
    vm_cid: str,
    networks: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, Any],
    agent: AgentOptions,
    ephemeral: bool,
) -> Settings:
    """The settings a new VM boots with (``networks`` already carry their MACs)."""
    settings: Settings = {
        "agent_id": agent_id,
        "vm": {"name": vm_cid, "id": vm_cid},
        "mbus": agent.mbus,
        "ntp": list(agent.ntp),
    }
    if agent.blobstore is not None:
        settings["blobstore"] = copy.deepcopy(dict(agent.blobstore))
    settings["networks"] = copy.deepcopy(dict(networks))
    settings["disks"] = {
        "system": SYSTEM_HINT,
        "ephemeral": EPHEMERAL_HINT if ephemeral else None,
        "persistent": {},
    }
    settings["env"] = copy.deepcopy(dict(env))
    return settings


def persistent(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``{disk_cid: hint}`` of the persistent disks the settings announce."""
    disks = settings.get("disks") or {}
    return dict(disks.get("persistent") or {})


def attach_persistent(settings: Mapping[str, Any], disk_cid: str, hint: str) -> Settings:
    """New settings that also announce ``disk_cid`` at SCSI target ``hint``."""
    updated = copy.deepcopy(dict(settings))
    disks = updated.setdefault("disks", {"system": SYSTEM_HINT})
    disks["persistent"] = {**(disks.get("persistent") or {}), disk_cid: hint}
    return updated


def detach_persistent(settings: Mapping[str, Any], disk_cid: str) -> Settings:
    """New settings without ``disk_cid``."""
    updated = copy.deepcopy(dict(settings))
    disks = updated.setdefault("disks", {"system": SYSTEM_HINT})
    remaining = dict(disks.get("persistent") or {})
    remaining.pop(disk_cid, None)
    disks["persistent"] = remaining
    return updated
