"""One director, two VMware workstations: the cpi-config's properties in each request's context choose the host.

Two simulated workstations (``tests.support.workstations``), each behind its own
OpenSSH server on 127.0.0.1 with its own vmrun-sim home and store; the
``bosh-vmrun-cpi`` executable run as the director runs it (bare environment,
director-shaped context). The rendered config names no usable host, so every
call that works went where its context said.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cpi.config import CpiConfig
from cpi.context import for_request
from cpi.factory import host_runner
from cpi.store import Store
from tests.cpi.client import ENV, MANUAL
from tests.support.sshd import secret_part
from tests.support.workstations import (
    EXECUTABLE,
    MBUS_SECRET,
    Director,
    Workstation,
    own_mounts_allowed,
    rendered_config,
    workstations,
)
from toolkit.errors import LockTimeout
from toolkit.host.clock import SystemClock
from vmtk_harness import cpiprocess

pytestmark = pytest.mark.real_process

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
READ_ONLY_VERBS = {"list", "checkToolsState", "-v"}  # vmrun verbs that change nothing on a host
# vmrun's answer while the product's host service cannot be reached (vmware-outputs/vmrun/host-transient.txt).
HOST_DOWN = "Unable to connect to host.\nError: The operation is not supported for the specified parameters\n"


@pytest.fixture
def stations(tmp_path: Path) -> Iterator[dict[str, Workstation]]:
    if not EXECUTABLE.exists():
        pytest.skip("bosh-vmrun-cpi is not installed in this environment")
    with workstations(tmp_path, "ws-a", "ws-b") as started:
        yield started


@pytest.fixture
def director(stations: dict[str, Workstation], tmp_path: Path) -> Director:
    tmpdir = tmp_path / "director-tmp"
    tmpdir.mkdir()
    cpis = {name: station.properties() for name, station in stations.items()}
    return Director(rendered_config(tmp_path), tmpdir, cpis)


@pytest.fixture
def image(tmp_path: Path) -> str:
    path = tmp_path / "stemcell-image"
    path.write_bytes(cpiprocess.reference_image(REFERENCE))
    return str(path)


def create_vm(director: Director, cpi: str, stemcell: str, agent: str = "agent-1") -> str:
    vm, _networks = director(cpi, "create_vm", agent, stemcell, {"disk": 64}, MANUAL, [], ENV)
    return str(vm)


def test_each_stemcell_vm_and_disk_lands_on_the_host_its_context_names(
    director: Director, stations: dict[str, Workstation], image: str
) -> None:
    a, b = stations["ws-a"], stations["ws-b"]
    stemcell_a = director("ws-a", "create_stemcell", image, {"name": "s", "version": "1"})
    stemcell_b = director("ws-b", "create_stemcell", image, {"name": "s", "version": "1"})
    assert (a.store / f"cs-{stemcell_a}").is_dir() and not (b.store / f"cs-{stemcell_a}").exists()
    assert (b.store / f"cs-{stemcell_b}").is_dir() and not (a.store / f"cs-{stemcell_b}").exists()
    assert len(list((a.store / ".images").iterdir())) == 1 and len(list((b.store / ".images").iterdir())) == 1

    vm = create_vm(director, "ws-b", stemcell_b)
    assert b.vm_names() == [f"vm-{vm}"] and a.vm_names() == []
    assert b.running() == [str(b.store / f"vm-{vm}" / f"vm-{vm}.vmx")] and a.running() == []
    disk = director("ws-a", "create_disk", 128, {}, None)
    assert (a.store / "disks" / f"disk-{disk}.vmdk").exists() and not (b.store / "disks").exists()
    assert not (director.tmpdir / "unused-store").exists() and not (director.config.parent / "unused-store").exists()


def test_has_and_delete_on_one_host_never_touch_the_other(director: Director, stations: dict[str, Workstation]) -> None:
    a, b = stations["ws-a"], stations["ws-b"]
    stemcell = b.make_stemcell()
    vm = create_vm(director, "ws-b", stemcell)
    disk = director("ws-b", "create_disk", 128, {}, vm)
    assert director("ws-a", "has_vm", vm) is False and director("ws-b", "has_vm", vm) is True
    assert director("ws-a", "has_disk", disk) is False and director("ws-b", "has_disk", disk) is True
    # On the wrong host, deletes find nothing and change nothing (the director takes VMNotFound as deleted).
    assert director.error("ws-a", "delete_vm", vm)["type"] == "Bosh::Clouds::VMNotFound"
    assert director.error("ws-a", "delete_disk", disk)["type"] == "Bosh::Clouds::DiskNotFound"
    director("ws-a", "delete_stemcell", stemcell)
    assert b.vm_names() == [f"vm-{vm}"] and len(b.running()) == 1
    assert (b.store / "disks" / f"disk-{disk}.vmdk").exists() and (b.store / f"cs-{stemcell}").is_dir()
    assert {c["argv"][2] for c in a.sim.calls()} <= READ_ONLY_VERBS, a.sim.calls()  # host A was only asked
    director("ws-b", "delete_vm", vm)
    assert b.vm_names() == [] and b.running() == []


def test_two_hosts_with_the_same_store_path_keep_their_own_files_images_and_vms(tmp_path: Path, image: str) -> None:
    """Each host's SSH server sees its own store at the same path: nothing of one host ever shows on the other."""
    if not own_mounts_allowed():
        pytest.skip("mount namespaces are not allowed here (unshare --mount): one path cannot show two stores")
    same = tmp_path / "vms"
    same.mkdir()
    with workstations(tmp_path, "ws-a", "ws-b", store_at=same) as stations:
        a, b = stations["ws-a"], stations["ws-b"]
        director = Director(rendered_config(tmp_path), tmp_path, {n: s.properties() for n, s in stations.items()})
        uploads = [director.start(name, "create_stemcell", image, {"name": "s", "version": "1"}) for name in stations]
        stemcell_a, stemcell_b = (call.response()["result"] for call in uploads)  # the same image on both at once
        for station, stemcell in ((a, stemcell_a), (b, stemcell_b)):
            assert sorted(p.name for p in station.store.glob("cs-*")) == [f"cs-{stemcell}"]
            assert len(list((station.store / ".images").iterdir())) == 1  # each host imported its own copy
        vm_a = create_vm(director, "ws-a", stemcell_a, "agent-a")
        vm_b = create_vm(director, "ws-b", stemcell_b, "agent-b")
        assert a.vm_names() == [f"vm-{vm_a}"] and b.vm_names() == [f"vm-{vm_b}"]
        assert director("ws-a", "has_vm", vm_b) is False and director("ws-b", "has_vm", vm_a) is False
        director("ws-a", "delete_vm", vm_a)
        director("ws-a", "delete_stemcell", stemcell_a)
        assert a.vm_names() == [] and not list(a.store.glob("cs-*")) and not list((a.store / ".images").iterdir())
        assert b.vm_names() == [f"vm-{vm_b}"] and b.running() == [f"{same}/vm-{vm_b}/vm-{vm_b}.vmx"]
        assert len(list((b.store / ".images").iterdir())) == 1
    assert list(same.iterdir()) == []  # the director's own machine has nothing at that path


def test_concurrent_calls_to_both_hosts_overlap(director: Director, stations: dict[str, Workstation]) -> None:
    """Each host's clone is slow (latency knob); the two clones' time spans, as each simulator logged them, overlap."""
    stemcells = {name: station.make_stemcell() for name, station in stations.items()}
    for station in stations.values():
        station.sim.configure(latency={"clone": 5.0})
    calls = [
        director.start(name, "create_vm", f"agent-{name}", stemcells[name], {}, MANUAL, [], ENV) for name in stations
    ]
    for call in calls:
        assert call.response()["error"] is None, director.logs[-2][-3000:]
    spans = {name: _span(station, "clone") for name, station in stations.items()}
    (start_a, end_a), (start_b, end_b) = spans["ws-a"], spans["ws-b"]
    assert start_a < end_b and start_b < end_a, spans  # the two clones ran at the same time


def test_a_host_whose_ssh_server_is_down_fails_only_its_own_calls(
    director: Director, stations: dict[str, Workstation]
) -> None:
    a, b = stations["ws-a"], stations["ws-b"]
    stemcells = {name: station.make_stemcell() for name, station in stations.items()}
    a.stop()
    errors: list[dict[str, Any]] = []
    failing = threading.Thread(
        target=lambda: errors.append(
            director.error("ws-a", "create_vm", "agent-a", stemcells["ws-a"], {}, MANUAL, [], ENV)
        )
    )
    failing.start()
    vm_b = create_vm(director, "ws-b", stemcells["ws-b"], "agent-b")  # meanwhile, host B works
    failing.join()
    assert b.vm_names() == [f"vm-{vm_b}"] and a.vm_names() == []
    # Nothing was created on A: VMCreationFailed with ok_to_retry, which the director's own create_vm retries honour.
    assert errors[0]["type"] == "Bosh::Clouds::VMCreationFailed" and errors[0]["ok_to_retry"] is True, errors
    assert f"VMware host 127.0.0.1:{a.server.port}" in errors[0]["message"], errors
    for method, arguments in (("has_vm", [vm_b]), ("delete_vm", [vm_b]), ("create_disk", [64, {}, None])):
        error = director.error("ws-a", method, *arguments)
        assert error["type"] == "Bosh::Clouds::CloudError" and error["ok_to_retry"] is True, (method, error)
        assert "Connection refused" in error["message"] or "connect" in error["message"], error
    assert director("ws-b", "has_vm", vm_b) is True
    a.start()  # the workstation is back: the same call now succeeds
    vm_a = create_vm(director, "ws-a", stemcells["ws-a"], "agent-a")
    assert a.vm_names() == [f"vm-{vm_a}"] and b.vm_names() == [f"vm-{vm_b}"]


def test_a_host_whose_vmrun_fails_fails_only_its_own_calls(
    director: Director, stations: dict[str, Workstation]
) -> None:
    a, b = stations["ws-a"], stations["ws-b"]
    stemcells = {name: station.make_stemcell() for name, station in stations.items()}
    vm_a = create_vm(director, "ws-a", stemcells["ws-a"], "agent-a0")
    verbs = ("clone", "start", "stop", "list", "deleteVM", "checkToolsState")
    a.sim.configure(faults=[{"verb": verb, "nth": n, "output": HOST_DOWN} for verb in verbs for n in range(1, 40)])
    error = director.error("ws-a", "create_vm", "agent-a", stemcells["ws-a"], {}, MANUAL, [], ENV)
    assert error["type"] == "Bosh::Clouds::VMCreationFailed" and error["ok_to_retry"] is True, error
    assert a.vm_names() == [f"vm-{vm_a}"]  # nothing half-made is left on A
    error = director.error("ws-a", "delete_vm", vm_a)
    assert error["type"] == "Bosh::Clouds::CloudError" and error["ok_to_retry"] is True, error
    assert "Unable to connect to host" in error["message"] and a.vm_names() == [f"vm-{vm_a}"]
    vm_b = create_vm(director, "ws-b", stemcells["ws-b"], "agent-b")  # host B goes on meanwhile
    assert b.vm_names() == [f"vm-{vm_b}"] and all(c["exit_code"] == 0 for c in b.sim.calls())
    a.sim.configure(faults=[])  # A's VMware is back: the same call now succeeds
    director("ws-a", "delete_vm", vm_a)
    assert a.vm_names() == [] and b.vm_names() == [f"vm-{vm_b}"]


def test_the_job_config_host_is_overridden_by_the_context(tmp_path: Path, stations: dict[str, Workstation]) -> None:
    """The rendered config names host A in full; a cpi-config entry for host B wins, key by key."""
    a, b = stations["ws-a"], stations["ws-b"]
    config = rendered_config(
        tmp_path / "job", vm_store_path=str(a.store), vmrun_bin_path=str(a.vmrun), ssh_tunnel=a.server.ssh_tunnel()
    )
    (tmp_path / "tmp").mkdir()
    director = Director(config, tmp_path / "tmp", {"default": {}, "ws-b": b.properties()})
    stemcell_a, stemcell_b = a.make_stemcell(), b.make_stemcell()
    vm_a = create_vm(director, "default", stemcell_a, "agent-a")
    vm_b = create_vm(director, "ws-b", stemcell_b, "agent-b")
    assert a.vm_names() == [f"vm-{vm_a}"] and b.vm_names() == [f"vm-{vm_b}"]


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"vmrun": {"vm_store_path": "relative/store"}}, "context.vmrun.vm_store_path must be an absolute path"),
        ({"vmrun": {"vm_stor_path": "/x"}}, "context.vmrun.vm_stor_path is not a property of this CPI"),
        ({"vm_store_path": "/x"}, "context.vm_store_path is not read at the top level: put it under 'vmrun'"),
        (
            {"vmrun": {"ssh_tunnel": {"host": "h", "username": "u", "private_key": "k", "port": "x"}}},
            "context.vmrun.ssh_tunnel.port must be a number",
        ),
        ({"agent": {"ntp": "pool.ntp.org"}}, "context.agent.ntp must be a list of strings"),
    ],
)
def test_wrong_cpi_config_properties_are_one_cpi_error_naming_the_key(
    director: Director, stations: dict[str, Workstation], properties: dict[str, Any], named: str
) -> None:
    director.cpis = {"bad": properties}
    error = director.error("bad", "has_vm", str(uuid.uuid4()))
    assert error["type"] == "Bosh::Clouds::CpiError" and named in error["message"], error


def test_the_context_secrets_are_never_logged(director: Director, stations: dict[str, Workstation]) -> None:
    a = stations["ws-a"]
    stemcell = a.make_stemcell()
    vm = create_vm(director, "ws-a", stemcell)
    director("ws-a", "delete_vm", vm)
    a.stop()
    director.error("ws-a", "has_vm", vm)
    secret = secret_part(a.server.private_key)
    for text in director.logs:
        assert secret not in text and MBUS_SECRET not in text


def _span(station: Workstation, verb: str) -> tuple[float, float]:
    """When ``verb`` ran on ``station``: (start, end) from the simulator's call log."""
    (call,) = [c for c in station.sim.calls() if c["argv"][2] == verb]
    return float(call["time"]) - float(call["duration"]), float(call["time"])


def test_two_hosts_with_the_same_store_path_never_share_a_lock(tmp_path: Path) -> None:
    """The locks of SSH hosts are held on the director, keyed by host: the same store path on two hosts is two locks."""
    job = CpiConfig.from_mapping(json.loads(rendered_config(tmp_path).read_text()))
    tunnel = {"host": "127.0.0.1", "username": "vcap", "private_key": "not used: locks need no connection"}

    def store(port: int) -> Store:
        context = {"vmrun": {"vm_store_path": "/srv/vms", "ssh_tunnel": {**tunnel, "port": port}}}
        return Store(host_runner(for_request(job, context), SystemClock()), "/srv/vms", lock_timeout=0.3)

    with store(2201).lock("image-0123abcd"):
        with store(2202).lock("image-0123abcd"):  # another host: its own lock, free
            pass
        with pytest.raises(LockTimeout), store(2201).lock("image-0123abcd"):  # the same host: held
            pass
