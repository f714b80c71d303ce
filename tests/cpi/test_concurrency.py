"""Parallel CPI calls, as the Director makes them: 8 create_vm from one stemcell, metadata races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.cpi.conftest import MANUAL
from toolkit.host.clock import SystemClock
from toolkit.vmware import devices
from toolkit.vmware.vmx import Vmx
from vmtk_sim import AgentStatus


def test_eight_parallel_create_vm_from_one_stemcell(make_cpi) -> None:  # type: ignore[no-untyped-def]
    # Real time: threads really wait on each other's file locks (the clone and MAC locks).
    cpi = make_cpi(clock=SystemClock())
    stemcell = cpi.new_stemcell()

    def create(n: int) -> list:
        return cpi("create_vm", f"agent-{n}", stemcell, {"disk": 256}, MANUAL, [], {})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))
    cids = [cid for cid, _ in results]
    assert len(set(cids)) == 8
    macs = [networks["default"]["mac"] for _, networks in results]
    assert len(set(macs)) == 8
    for cid, mac in zip(cids, macs, strict=True):
        vmx = Vmx.parse(cpi.vmx(cid).read_bytes())
        assert devices.nics(vmx)[0].mac.lower() == mac
        assert cpi.host.vm(str(cpi.vmx(cid))).agent.status is AgentStatus.RUNNING
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda cid: cpi("delete_vm", cid), cids))
    assert not [p for p in cpi.store.iterdir() if p.name.startswith("vm-")]


def test_parallel_set_vm_metadata_on_one_vm(make_cpi) -> None:  # type: ignore[no-untyped-def]
    cpi = make_cpi(clock=SystemClock())
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    metadata = {"deployment": "d", "job": "j", "index": "0"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: cpi("set_vm_metadata", vm, metadata), range(16)))
    assert (cpi.vm_dir(vm) / "metadata.json").exists()
