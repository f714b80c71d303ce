"""Many VMs from one stemcell: the reference's ``driver_test.go`` makes 20 linked clones of it on VMware."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.reference.conftest import NETWORKS, ReferenceCpi
from toolkit.vmware.vmx import Vmx
from vmtk_sim import Product

CLONES = 20
PROCESSES = 5


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("product", [Product.WORKSTATION, Product.PLAYER], ids=lambda p: p.value)
def test_twenty_vms_of_one_stemcell_from_several_processes_at_once(
    tmp_path: Path, product: Product, stemcell_image: Path
) -> None:
    reference = ReferenceCpi(tmp_path, product)
    stemcell = reference.call("create_stemcell", str(stemcell_image), {})
    with ThreadPoolExecutor(PROCESSES) as pool:  # each call is its own reference process
        answers = list(
            pool.map(lambda n: reference.run("create_vm", f"agent-{n}", stemcell, {}, NETWORKS, [], {}), range(CLONES))
        )
    vms = [answer.result for answer in answers]
    assert len(set(vms)) == CLONES
    for vm in vms:
        assert reference.vmx(f"vm-{vm}").is_file()
    if product is not Product.PLAYER:  # linked clones: one snapshot of the stemcell, 20 clones of it
        vmsd = Vmx.parse(reference.vmx(f"cs-{stemcell}").with_suffix(".vmsd").read_bytes())
        assert vmsd.get("snapshot.numSnapshots") == "1" and vmsd.get("snapshot0.numClones") == str(CLONES)
    with ThreadPoolExecutor(PROCESSES) as pool:
        assert all(a.result is None for a in pool.map(lambda vm: reference.run("delete_vm", vm), vms))


def test_two_vms_of_one_stemcell_one_after_the_other(tmp_path: Path, stemcell_image: Path) -> None:
    """``cpi_test.go``: the second ``vmrun clone ... linked`` of an unchanged stemcell succeeds too."""
    reference = ReferenceCpi(tmp_path, Product.WORKSTATION)
    stemcell = reference.call("create_stemcell", str(stemcell_image), {})
    for n in range(2):
        vm = reference.call("create_vm", f"agent-{n}", stemcell, {}, NETWORKS, [], {})
        assert (reference.store / f"vm-{vm}" / f"cs-{stemcell}-disk1-cl1.vmdk").is_file()
