"""The bosh-agent's mbus actions as the simulated agent performs them.

``SimAgent.handle(method, arguments)`` answers one ``POST /agent`` message with
the agent's envelope: ``{"value": ...}`` or ``{"exception": {"message": ...}}``.
Synchronous actions (ping, get_state, list_disk, start, get_task, sync_dns,
delete_arp_entries) answer in the response; every other action is a task (see ``tasks.py``). The agent's state
(applied spec, persistent-disk hints, mounted disks) lives in the guest under
``/var/vcap/bosh`` as the real agent keeps it, so a restarted agent finds it.
Packages are compiled and installed by ``packages.py``; job scripts and drain
run in ``scripts.py``.

Simulated, not real: ``start`` and ``stop`` switch the reported job state
without running monit (jobs' processes are not started). Persistent disks
follow the agent's rules in ``disks.py``; ``mount_disk`` checks that the disk's
hint names a disk the VM really has attached and formats nothing; an
unattached disk fails at once where the real agent would first wait for the
device to appear.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.host.clock import Clock
from vmtk_sim.mbus import packages, scripts
from vmtk_sim.mbus.blobs import BlobStore
from vmtk_sim.mbus.disks import UPDATED_SETTINGS, PersistentDisks
from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.mbus.guest import GuestFs
from vmtk_sim.mbus.packages import BlobRef
from vmtk_sim.mbus.scripts import JobScript
from vmtk_sim.mbus.tasks import Tasks

SPEC = "/var/vcap/bosh/spec.json"
INSTANCE = "/var/vcap/instance"  # id, az, name and deployment of the applied spec, for jobs to read
SYNCHRONOUS = frozenset({"ping", "get_task", "get_state", "list_disk", "start", "sync_dns", "delete_arp_entries"})
SPEC_KEYS = (
    "deployment",
    "name",
    "job",
    "index",
    "id",
    "az",
    "networks",
    "resource_pool",
    "packages",
    "persistent_disk",
    "configuration_hash",
    "rendered_templates_archive",
)


@dataclass(frozen=True, slots=True)
class VmFacts:
    """What the agent can learn about its own VM: disks the guest sees (SCSI unit -> the
    directory of the disk's data) and its DHCP address."""

    disk_data: Mapping[str, Path]
    address: str


class SimAgent:
    """One VM's agent: its settings, guest and blobstore, and the actions over them."""

    def __init__(
        self, guest: GuestFs, blobs: BlobStore, settings: Mapping[str, Any], facts: Callable[[], VmFacts], clock: Clock
    ):
        self.guest, self.blobs, self.settings, self.facts, self.clock = guest, blobs, settings, facts, clock
        self.job_state = "running"  # no jobs yet: monit reports running
        self.spec: dict[str, Any] = guest.read_json(SPEC, {})
        self.disks = PersistentDisks(guest, settings, lambda: self.facts().disk_data)
        self.tasks = Tasks()
        self._actions: dict[str, Callable[..., Any]] = {
            "ping": lambda: "pong",
            "get_task": self.tasks.outcome,
            "get_state": self.get_state,
            "list_disk": self.disks.list,
            "start": self.start,
            "stop": self.stop,
            "apply": self.apply,
            "run_script": self.run_script,
            "drain": self.drain,
            "compile_package": self.compile_package,
            "add_persistent_disk": self.disks.add,
            "remove_persistent_disk": self.disks.remove,
            "mount_disk": self.disks.mount,
            "unmount_disk": self.disks.unmount,
            "migrate_disk": self.disks.migrate,
            "update_settings": self.update_settings,
            "delete_arp_entries": lambda *_: {},
            "sync_dns": lambda *_: "synced",
        }

    def handle(self, method: object, arguments: object) -> dict[str, Any]:
        """The agent's answer to one message."""
        action = self._actions.get(method) if isinstance(method, str) else None
        if action is None:
            return _exception(f"unknown message {method}")
        args = arguments if isinstance(arguments, list) else []
        try:
            inspect.signature(action).bind(*args)
        except TypeError:
            return _exception(f"Action Failed {method}: wrong number of arguments ({len(args)})")
        if method not in SYNCHRONOUS:
            return {"value": self.tasks.submit(lambda: action(*args))}
        try:
            return {"value": action(*args)}
        except ToolkitError as exc:
            return _exception(str(exc))

    def get_state(self, *_filters: Any) -> dict[str, Any]:
        """The applied spec with the agent's own fields (no ``processes``: nothing runs under monit)."""
        state = {key: self.spec[key] for key in SPEC_KEYS if key in self.spec}
        return {
            "packages": {},
            "resource_pool": {},
            "networks": {},
            **state,
            "agent_id": self.settings.get("agent_id"),
            "job_state": self.job_state,
            "vm": self.settings.get("vm"),
        }

    def _with_dhcp_addresses(self, networks: Any) -> dict[str, Any]:
        """``networks`` with each dynamic one given the address DHCP leased (the agent's PopulateDHCPNetworks)."""
        if not isinstance(networks, Mapping):
            return {}
        address = self.facts().address
        return {
            name: {**net, "ip": address} if isinstance(net, Mapping) and net.get("type") == "dynamic" else net
            for name, net in networks.items()
        }

    def _scripts(self, name: str) -> list[JobScript]:
        """``bin/<name>`` of each applied job that has one."""
        found = [JobScript(job, f"/var/vcap/jobs/{job}/bin/{name}") for job, _version in _jobs(self.spec)]
        return [script for script in found if self.guest.host(script.path).is_file()]

    def start(self) -> str:
        self.job_state = "running"
        return "started"

    def stop(self) -> str:
        self.job_state = "stopped"
        return "stopped"

    def apply(self, spec: Any) -> str:
        """Store ``spec``; with a configuration hash, install its packages and jobs first (as the agent)."""
        if not isinstance(spec, Mapping):
            raise AgentActionError("Applying: the apply spec is not a map")
        resolved = {**spec, "networks": self._with_dhcp_addresses(spec.get("networks"))}
        if spec.get("configuration_hash"):
            self._install(spec)
        self.spec = resolved
        self.guest.write_json(SPEC, self.spec)
        for field in ("id", "az", "name", "deployment"):
            value = spec.get(field)
            self.guest.write_text(f"{INSTANCE}/{field}", value if isinstance(value, str) else "")
        return "applied"

    def _install(self, spec: Mapping[str, Any]) -> None:
        packages.remove_packages(self.guest)  # the agent keeps only the spec's packages
        for name, ref in (spec.get("packages") or {}).items():
            packages.install_package(self.guest, self.blobs, BlobRef.from_json(ref, f"package {name}"))
        jobs = _jobs(spec)
        if jobs:
            packages.install_jobs(self.guest, self.blobs, spec.get("rendered_templates_archive") or {}, jobs)

    def run_script(self, name: Any, options: Any) -> dict[str, Any]:
        """Run ``bin/<name>`` of every applied job that has one (``scripts.py``)."""
        script = packages.component(str(name), "run_script")
        scripts.run_scripts(self.guest, self._scripts(script), script, scripts.script_env(options))
        return {}

    def drain(self, drain_type: Any, *new_specs: Any) -> int:
        """Run every applied job's ``bin/drain`` until done; 0 (``scripts.py``)."""
        arguments, env = scripts.drain_params(drain_type, self.spec, new_specs)
        return scripts.drain(self.guest, self._scripts("drain"), arguments, env, self.clock)

    def compile_package(self, blob_id: Any, sha1: Any, name: Any, version: Any, deps: Any) -> dict[str, Any]:
        source = BlobRef.from_json(
            {"name": name, "version": version, "sha1": sha1, "blobstore_id": blob_id}, "compile_package"
        )
        refs = {key: BlobRef.from_json(dep, f"dependency {key}") for key, dep in (deps or {}).items()}
        return packages.compile_package(self.guest, self.blobs, source, refs)

    def update_settings(self, settings: Any) -> str:
        self.guest.write_json(UPDATED_SETTINGS, settings)
        return "ok"


def _jobs(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, version)`` of each job template an apply spec names."""
    return [_job(template) for template in (spec.get("job") or {}).get("templates") or []]


def _job(template: Any) -> tuple[str, str]:
    if not isinstance(template, Mapping):
        raise AgentActionError("Applying: job templates must be maps with name and version")
    name, version = template.get("name"), template.get("version")
    if not (isinstance(name, str) and isinstance(version, str)):
        raise AgentActionError("Applying: job templates must be maps with name and version")
    return packages.component(name, "job"), packages.component(version, "job version")


def _exception(message: str) -> dict[str, Any]:
    return {"exception": {"message": message}}
