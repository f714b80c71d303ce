"""The CPI as BOSH drives it, through its JSON layer: requests, answers, the store's paths.

``Cpi`` works on any host object with a ``runner()``: the simulator's ``SimHost``
(which also has the simulator-only powers: ``calls``, ``configure``, ``make_vm``,
``vm``), ``tests.cpi.hosts.SshSimHost`` (the same, reached over SSH) or
``tests.cpi.hosts.RealHost``. Each request gets a runner of its own, closed
after it, as each request is a process of its own under BOSH (over SSH: one
connection per request). A ``Cpi`` with ``send`` set does not dispatch in
process: each request goes to a ``bosh-vmrun-cpi`` process of its own
(``tests/cpi/exe.py``), and ``host`` is then only the test's own view of the
host. It makes no host itself; the fixtures in ``tests/cpi/conftest.py`` do.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpi.config import CpiConfig
from cpi.dispatch import dispatch
from cpi.protocol import Request
from toolkit.formats.iso import read_settings_iso
from toolkit.vmware.vmrun import HostType, Vmrun
from toolkit.vmware.vmx import Vmx
from vmtk_sim.host import AgentStatus

MBUS_SECRET = "mbus-Secret-9d1c"
MBUS = f"https://mbus:{MBUS_SECRET}@0.0.0.0:6868"
REQUEST_ID = "cpi-100001"
MANUAL = {
    "default": {
        "type": "manual",
        "ip": "10.0.0.5",
        "netmask": "255.255.255.0",
        "gateway": "10.0.0.1",
        "dns": ["8.8.8.8"],
        "default": ["dns", "gateway"],
        "cloud_properties": {"name": "vmnet8"},
    }
}
ENV = {"bosh": {"password": "$6$salted", "group": "g"}}

# The stemcell builder's template: SATA CD-ROM, empty, not connected at power-on.
STEMCELL_CDROM = (
    'sata0.present = "TRUE"\n'
    'sata0:0.present = "TRUE"\n'
    'sata0:0.deviceType = "atapi-cdrom"\n'
    'sata0:0.fileName = "auto detect"\n'
    'sata0:0.startConnected = "FALSE"\n'
)


@dataclass
class Cpi:
    """Send requests as BOSH does and see what comes back."""

    host: Any  # SimHost (with send: the test's view of the home), tests.cpi.hosts.SshSimHost or RealHost
    clock: Any  # FakeClock on the simulator, SystemClock on a real host
    store: Path
    config: CpiConfig
    network: str = "vmnet8"  # the vnet of MANUAL's custom network
    stemcell_image: str | None = None  # set: new_stemcell imports it with create_stemcell
    stemcell_props: dict[str, Any] | None = None
    send: Callable[[bytes], dict[str, Any]] | None = None  # set: the request goes out of process, to an executable

    def raw(
        self, method: str, *arguments: Any, api_version: int | None = 2, stemcell_api: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "method": method,
            "arguments": list(arguments),
            "context": {"director_uuid": "d-1", "request_id": REQUEST_ID},
        }
        if stemcell_api is not None:  # context.vm.stemcell.api_version, as the bosh CLI and director send it
            body["context"]["vm"] = {"stemcell": {"api_version": stemcell_api}}
        if api_version is not None:
            body["api_version"] = api_version
        request = json.dumps(body).encode()
        if self.send is not None:
            response = self.send(request)
        else:
            with self.connection() as runner:
                response = dispatch(request, lambda parsed: self.build(parsed, runner)).to_dict()
        assert set(response) == {"result", "error", "log"} and isinstance(response["log"], str)
        return response

    def __call__(
        self, method: str, *arguments: Any, api_version: int | None = 2, stemcell_api: int | None = None
    ) -> Any:
        response = self.raw(method, *arguments, api_version=api_version, stemcell_api=stemcell_api)
        assert response["error"] is None, response["error"]
        result = response["result"]
        if method in _CHANGES_SETTINGS:
            self.check_agent(_CHANGES_SETTINGS[method](arguments, result))
        return result

    def check_agent(self, vm: str) -> None:
        """On a simulated host: the VM's agent accepted its settings CD-ROM (readable, MACs matching)."""
        if getattr(self.host, "simulated", True):
            agent = self.host.vm(str(self.vmx(vm))).agent
            assert agent.status is not AgentStatus.FAILED, f"agent of {vm} rejected its settings: {agent.reason}"

    def error(self, method: str, *arguments: Any, api_version: int | None = 2) -> dict[str, Any]:
        response = self.raw(method, *arguments, api_version=api_version)
        assert response["error"] is not None and response["result"] is None, response
        return response["error"]

    def build(self, request: Request, runner: Any = None):  # type: ignore[no-untyped-def]
        from cpi.factory import build_cloud

        runner = runner if runner is not None else self.host.runner()
        return build_cloud(self.config, request, runner=runner, clock=self.clock)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """The host's runner for one request, closed after it (an SshRunner holds a connection)."""
        runner = self.host.runner()
        try:
            yield runner
        finally:
            close = getattr(runner, "close", None)  # local runners hold nothing
            if close is not None:
                close()

    def calls(self) -> int:
        return len(self.host.calls())

    def next_call(self, verb: str) -> int:
        """The 1-based number the next ``verb`` run will have (faults are keyed on it)."""
        return 1 + sum(1 for call in self.host.calls() if verb in call["argv"])

    def fail_next(self, verb: str, output: str = "", **fault: Any) -> None:
        self.host.configure(faults=[{"verb": verb, "nth": self.next_call(verb), "output": output, **fault}])

    def vm_dir(self, cid: str) -> Path:
        return self.store / f"vm-{cid}"

    def vmx(self, cid: str) -> Path:
        return self.vm_dir(cid) / f"vm-{cid}.vmx"

    def vmrun(self, runner: Any = None) -> Vmrun:
        """vmrun as the CPI under test is configured to run it (on ``runner``: one from ``connection()``)."""
        host_type = HostType(self.config.host_type) if self.config.host_type else None
        runner = runner if runner is not None else self.host.runner()
        return Vmrun(runner, binary=self.config.vmrun_bin_path, host_type=host_type, clock=self.clock)

    def is_running(self, vm: str) -> bool:
        """Whether ``vmrun list`` shows the VM: the same question on every host."""
        with self.connection() as runner:
            return self.vmrun(runner).is_running(str(self.vmx(vm)))

    def manual(self) -> dict[str, Any]:
        """MANUAL on this host's custom network."""
        return {"default": {**MANUAL["default"], "cloud_properties": {"name": self.network}}}

    def new_stemcell(self) -> str:
        """A template VM as create_stemcell leaves it (imported for real on a real host)."""
        if self.stemcell_image is not None:
            return str(self("create_stemcell", self.stemcell_image, self.stemcell_props or {}))
        cid = str(uuid.uuid4())
        vmx = self.host.make_vm(str(self.store / f"cs-{cid}" / f"cs-{cid}.vmx"))
        with open(vmx, "a", encoding="utf-8") as handle:
            handle.write(STEMCELL_CDROM)
        return cid

    def create_vm(
        self,
        stemcell: str,
        *,
        networks: dict | None = None,
        props: dict | None = None,
        agent: str = "agent-1",
        api_version: int = 2,
    ) -> Any:
        return self(
            "create_vm",
            agent,
            stemcell,
            props if props is not None else {"cpu": 2, "ram": 2048, "disk": 1024},
            networks if networks is not None else self.manual(),
            [],
            ENV,
            api_version=api_version,
        )


# Calls after which a VM boots with new settings: the VM's CID from (arguments, result).
_CHANGES_SETTINGS: dict[str, Callable[[tuple[Any, ...], Any], str]] = {
    "create_vm": lambda args, result: result[0] if isinstance(result, list) else result,
    "attach_disk": lambda args, result: args[0],
    "detach_disk": lambda args, result: args[0],
    "reboot_vm": lambda args, result: args[0],
}


def make_config(store: Path, **vmrun: Any) -> CpiConfig:
    return CpiConfig.from_mapping(config_mapping(store, **vmrun))


def config_mapping(store: Path, **vmrun: Any) -> dict[str, Any]:
    """The CPI's config as the job template renders it (``make_config`` parses it; the exe variant writes it)."""
    return {
        "cloud": {
            "properties": {
                "agent": {
                    "mbus": MBUS,
                    "ntp": ["0.pool.ntp.org"],
                    "blobstore": {
                        "provider": "local",
                        "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"},
                    },
                },
                "vmrun": {
                    "vm_store_path": str(store),
                    "vmrun_bin_path": "vmrun-sim",
                    "vm_soft_shutdown_max_wait_seconds": 30,
                    **vmrun,
                },
            }
        }
    }


def vmx_of(cpi: Cpi, vm: str) -> Vmx:
    """The VM's .vmx as the CPI left it."""
    return Vmx.parse(cpi.vmx(vm).read_bytes())


def iso_settings(cpi: Cpi, vm: str) -> dict[str, Any]:
    """The agent settings on the VM's settings CD-ROM."""
    return read_settings_iso((cpi.vm_dir(vm) / "env.iso").read_bytes())
