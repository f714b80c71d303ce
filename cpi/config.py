"""The CPI's configuration: the JSON the reference's job template renders.

Shape: ``{"cloud": {"plugin": ..., "properties": {"agent": {...}, "vmrun": {...}}}}``
(``fixtures/reference/cpi_config.json`` loads as it is). Unknown keys are
ignored, so old configs keep working; every problem found is collected into
ONE ``ConfigError`` (reported to BOSH as ``Bosh::Clouds::CpiError``). Derived
paths are properties. The same validation serves a request's cpi-config
properties merged over the file's (``cpi.context``, ``from_properties``): keys are
named by a function, so each message says which of the two a wrong key came
from. This module only validates values: it never touches the VMware host and
never opens connections (the SSH settings are parsed here but used by
``cpi.factory``).
"""

from __future__ import annotations

import ntpath
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit.errors import ConfigError
from toolkit.formats import strictjson

if TYPE_CHECKING:
    from toolkit.host.ssh.target import SshTarget

DEFAULT_START_WAIT = 600.0
DEFAULT_SOFT_STOP_WAIT = 30.0
DEFAULT_VMRUN_TIMEOUT = 300.0
DEFAULT_LOCK_WAIT = 600.0


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """What every VM's agent is told besides its own settings (mbus, NTP, blobstore)."""

    mbus: str = field(repr=False)
    ntp: tuple[str, ...] = ()
    blobstore: Mapping[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CpiConfig:
    vm_store_path: str
    vmrun_bin_path: str
    agent: AgentOptions
    ovftool_bin_path: str | None = None
    vdiskmanager_bin_path: str | None = None
    stemcell_store_path: str | None = None
    vm_start_max_wait_seconds: float = DEFAULT_START_WAIT
    vm_soft_shutdown_max_wait_seconds: float = DEFAULT_SOFT_STOP_WAIT
    vmrun_timeout_seconds: float = DEFAULT_VMRUN_TIMEOUT
    lock_timeout_seconds: float = DEFAULT_LOCK_WAIT
    enable_human_readable_name: bool = False
    host_type: str | None = None  # "ws" | "fusion" | "player"; None: detect
    ssh_tunnel: SshTarget | None = field(default=None, repr=False)
    # ``cloud.properties`` as read, so that a request's cpi-config properties can override it (cpi.context).
    properties: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> CpiConfig:
        try:
            raw = strictjson.loads(text)
        except ValueError as exc:
            raise ConfigError([f"not valid JSON: {exc}"], subject="CPI configuration") from None
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: object) -> CpiConfig:
        problems: list[str] = []
        props = _section(_section(raw, "cloud", "", problems), "properties", "cloud.", problems)
        return cls._parse(props, problems, _config_name, "CPI configuration")

    @classmethod
    def from_properties(cls, props: Mapping[str, Any], *, name: Callable[[str], str], subject: str) -> CpiConfig:
        """The config from ``cloud.properties``; ``name`` says how messages name a key (``"vmrun.host_type"``)."""
        return cls._parse(props, [], name, subject)

    @classmethod
    def _parse(
        cls,
        props: Mapping[str, Any],
        problems: list[str],
        name: Callable[[str], str],
        subject: str,
    ) -> CpiConfig:
        vmrun = _section(props, "vmrun", "cloud.properties.", problems)
        agent = _agent(_section(props, "agent", "cloud.properties.", problems), problems, name)
        values = _vmrun_values(vmrun, problems, name)
        values["ssh_tunnel"] = _ssh(vmrun.get("ssh_tunnel"), problems, name)
        _require_absolute(values, problems, name)
        if problems:
            raise ConfigError(problems, subject=subject)
        return cls(agent=agent, properties=props, **values)


def _config_name(key: str) -> str:
    return "cloud.properties." + key


_PATHS = ("vm_store_path", "vmrun_bin_path")
_OPTIONAL_PATHS = ("ovftool_bin_path", "vdiskmanager_bin_path", "stemcell_store_path")
_SECONDS = {
    "vm_start_max_wait_seconds": DEFAULT_START_WAIT,
    "vm_soft_shutdown_max_wait_seconds": DEFAULT_SOFT_STOP_WAIT,
    "vmrun_timeout_seconds": DEFAULT_VMRUN_TIMEOUT,
    "lock_timeout_seconds": DEFAULT_LOCK_WAIT,
}
_HOST_TYPES = ("ws", "fusion", "player")
# Every key the CPI reads, by section: what a cpi-config's properties may set (cpi.context).
VMRUN_KEYS = frozenset({*_PATHS, *_OPTIONAL_PATHS, *_SECONDS, "enable_human_readable_name", "host_type", "ssh_tunnel"})
AGENT_KEYS = frozenset({"mbus", "ntp", "blobstore"})


def _vmrun_values(vmrun: Mapping[str, Any], problems: list[str], name: Callable[[str], str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in _PATHS:
        values[key] = _string(vmrun.get(key), name("vmrun." + key), problems, required=True)
    for key in _OPTIONAL_PATHS:
        values[key] = _string(vmrun.get(key), name("vmrun." + key), problems, required=False)
    for key, default in _SECONDS.items():
        values[key] = _seconds(vmrun.get(key, default), name("vmrun." + key), problems)
    flag = "vmrun.enable_human_readable_name"
    values["enable_human_readable_name"] = _flag(vmrun.get("enable_human_readable_name"), name(flag), problems)
    host_type = vmrun.get("host_type")
    if host_type is not None and host_type not in _HOST_TYPES:
        problems.append(f"{name('vmrun.host_type')} must be one of {', '.join(_HOST_TYPES)}, got {host_type!r}")
    values["host_type"] = host_type if host_type in _HOST_TYPES else None
    return values


def _require_absolute(values: Mapping[str, Any], problems: list[str], name: Callable[[str], str]) -> None:
    """Store paths are vmx paths to vmrun, which needs them absolute, in the host's flavour."""
    ssh = values.get("ssh_tunnel")
    windows = ssh.platform.value == "windows" if ssh is not None else os.name == "nt"
    for key in ("vm_store_path", "stemcell_store_path"):
        path = values.get(key)
        if isinstance(path, str) and not _is_absolute(path, windows=windows):
            problems.append(f"{name('vmrun.' + key)} must be an absolute path on the VMware host, got {path!r}")


def _is_absolute(path: str, *, windows: bool) -> bool:
    # On Windows a rooted path without a drive (\\vms) depends on the current drive: not absolute.
    if windows:
        return bool(ntpath.splitdrive(path)[0]) and ntpath.isabs(path)
    return posixpath.isabs(path)


def _section(raw: object, key: str, where: str, problems: list[str]) -> Mapping[str, Any]:
    value = raw.get(key) if isinstance(raw, Mapping) else None
    if isinstance(value, Mapping):
        return value
    if isinstance(raw, Mapping):  # only report the outermost missing level
        problems.append(f"{where}{key} must be an object")
    return {}


def _string(value: object, name: str, problems: list[str], *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            problems.append(f"{name} is required")
        return None
    if not isinstance(value, str):
        problems.append(f"{name} must be a string, got {type(value).__name__}")
        return None
    return value


def _seconds(value: object, name: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        problems.append(f"{name} must be a positive number of seconds, got {value!r}")
        return 1.0
    return float(value)


def _flag(value: object, name: str, problems: list[str]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    problems.append(f"{name} must be true or false, got {value!r}")
    return False


def _agent(agent: Mapping[str, Any], problems: list[str], name: Callable[[str], str]) -> AgentOptions:
    mbus = _string(agent.get("mbus"), name("agent.mbus"), problems, required=True) or ""
    ntp = agent.get("ntp") or []
    if not isinstance(ntp, list) or not all(isinstance(n, str) for n in ntp):
        problems.append(f"{name('agent.ntp')} must be a list of strings")
        ntp = []
    blobstore = agent.get("blobstore")
    if blobstore is not None and not isinstance(blobstore, Mapping):
        problems.append(f"{name('agent.blobstore')} must be an object")
        blobstore = None
    return AgentOptions(mbus, tuple(ntp), blobstore)


def _ssh(raw: object, problems: list[str], name: Callable[[str], str]) -> SshTarget | None:
    if raw is None or raw == {}:
        return None
    where = name("vmrun.ssh_tunnel")
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be an object")
        return None
    if not raw.get("host"):  # the job template renders an empty tunnel when unused
        return None
    from toolkit.host.ssh.target import SshTarget  # paramiko: only when a tunnel is configured

    try:
        return SshTarget.from_mapping(raw)
    except ConfigError as exc:
        # SshTarget names its keys "ssh_tunnel.<key>": say where that tunnel came from.
        problems.extend(where + p.removeprefix("ssh_tunnel") for p in exc.problems)
        return None
