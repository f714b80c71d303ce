"""create_vm's cloud properties and networks as typed values; calculate_vm_cloud_properties.

VM cloud properties (as the reference and vSphere): ``cpu`` (default 1), ``ram``
in MiB (default 1024), ``disk`` in MiB (ephemeral disk, 0 = none) and an
optional ``bootstrap`` block. Each network's ``cloud_properties``: ``name`` (the
VMware virtual network, e.g. ``vmnet8`` or ``VMnet8``) and ``type``
(``nat``/``hostonly``/``bridged``/``custom``; ``custom`` when only a name is
given). Every problem is reported at once as one ``CpiError``. Pure: no host
access.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpi.errors import CpiError

if TYPE_CHECKING:
    from toolkit.vmware.bootstrap import BootstrapSpec

CONNECTION_TYPES = ("nat", "hostonly", "bridged", "custom")
BOOTSTRAP_TEXT_KEYS = (
    "script_content",
    "script_path",
    "interpreter_path",
    "username",
    "password",
    "ready_process_name",
)


@dataclass(frozen=True, slots=True)
class VmProperties:
    cpu: int = 1
    ram_mb: int = 1024
    disk_mb: int = 0
    bootstrap: BootstrapSpec | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> VmProperties:
        problems: list[str] = []
        cpu = _count(raw.get("cpu", 1), "cpu", 1, problems)
        ram = _count(raw.get("ram", 1024), "ram", 4, problems)
        disk = _count(raw.get("disk", 0), "disk", 0, problems)
        bootstrap = _bootstrap(raw.get("bootstrap"), problems)
        if problems:
            raise CpiError("Invalid VM cloud properties: " + "; ".join(problems))
        return cls(cpu, ram, disk, bootstrap)


@dataclass(frozen=True, slots=True)
class NicSpec:
    """The NIC one BOSH network gets."""

    network: str
    connection_type: str
    vnet: str | None


def nic_specs(networks: Mapping[str, Any]) -> list[NicSpec]:
    """One NIC per network, in request order; ``vip`` networks get none (no interface of their own)."""
    problems: list[str] = []
    specs = []
    for name, network in networks.items():
        if not isinstance(network, Mapping):
            problems.append(f"network '{name}' must be an object")
        elif network.get("type") != "vip":
            specs.append(_nic(name, network.get("cloud_properties") or {}, problems))
    if problems:
        raise CpiError("Invalid networks: " + "; ".join(problems))
    return specs


def _nic(name: str, props: object, problems: list[str]) -> NicSpec:
    if not isinstance(props, Mapping):
        problems.append(f"network '{name}': cloud_properties must be an object")
        return NicSpec(name, "nat", None)
    vnet = props.get("name") or None
    kind = props.get("type") or ("custom" if vnet else "nat")
    if kind not in CONNECTION_TYPES:
        problems.append(f"network '{name}': type must be one of {', '.join(CONNECTION_TYPES)}, got {kind!r}")
    if vnet is not None and not isinstance(vnet, str):
        problems.append(f"network '{name}': name must be a string")
        vnet = None
    if kind == "custom" and not vnet:
        problems.append(f"network '{name}': a custom network needs cloud_properties.name (e.g. vmnet8)")
    # nat/hostonly/bridged name VMware's own networks (vmnet8/vmnet1/vmnet0): a vnet is custom only.
    return NicSpec(name, kind, vnet if kind == "custom" else None)


def calculate(requirements: Mapping[str, Any]) -> dict[str, int]:
    """``{cpu, ram, ephemeral_disk_size}`` -> cloud properties create_vm accepts."""
    missing = [k for k in ("cpu", "ram", "ephemeral_disk_size") if k not in requirements]
    if missing:
        raise CpiError("Missing VM cloud properties: " + ", ".join(f"'{k}'" for k in missing))
    problems: list[str] = []
    result = {
        "cpu": _count(requirements["cpu"], "cpu", 1, problems),
        "ram": _count(requirements["ram"], "ram", 4, problems),
        "disk": _count(requirements["ephemeral_disk_size"], "ephemeral_disk_size", 0, problems),
    }
    if problems:
        raise CpiError("Invalid VM requirements: " + "; ".join(problems))
    return result


def _count(value: object, name: str, minimum: int, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        problems.append(f"'{name}' must be an integer, got {value!r}")
        return minimum
    if value < minimum:
        problems.append(f"'{name}' must be at least {minimum}, got {int(value)}")
    return int(value)


def _bootstrap(raw: object, problems: list[str]) -> BootstrapSpec | None:
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, Mapping):
        problems.append("'bootstrap' must be an object")
        return None
    missing = [k for k in BOOTSTRAP_TEXT_KEYS if not isinstance(raw.get(k), str) or not raw.get(k)]
    if missing:
        problems.append("'bootstrap' needs non-empty " + ", ".join(f"'bootstrap.{k}'" for k in missing))
        return None
    min_wait = _wait(raw, "min_wait_seconds", 0.0, problems)
    max_wait = _wait(raw, "max_wait_seconds", 600.0, problems)
    from toolkit.vmware.bootstrap import (
        BootstrapSpec,  # the guest driver: only when a bootstrap is asked for
    )

    return BootstrapSpec(
        script=raw["script_content"],
        script_path=raw["script_path"],
        interpreter=raw["interpreter_path"],
        user=raw["username"],
        password=raw["password"],
        ready_process=raw["ready_process_name"],
        min_wait=min_wait,
        max_wait=max_wait,
    )


def _wait(raw: Mapping[str, Any], key: str, default: float, problems: list[str]) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        problems.append(f"'bootstrap.{key}' must be a number of seconds, got {value!r}")
        return default
    return float(value)
