"""The reference's own bugs (README beside it; reference-cpi-inventory §10), shown on the simulator as what they are.

These assert the reference's behaviour, not the simulator's choice: if one
starts failing, either the executable changed or the simulator stopped being
faithful to what the reference does on VMware.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reference.conftest import NETWORKS, ReferenceCpi
from tests.reference.test_bootstrap import _bootstrap
from toolkit.vmware.vmx import Vmx
from vmtk_sim import Product


@pytest.fixture
def reference(tmp_path: Path) -> ReferenceCpi:
    return ReferenceCpi(tmp_path, Product.WORKSTATION, human_names=False)


@pytest.mark.parametrize("method", ["has_disk", "get_disks", "reboot_vm"])
def test_unimplemented_methods_panic_with_exit_2_and_no_answer(reference: ReferenceCpi, method: str) -> None:
    answer = reference.run(method, "some-cid")
    assert answer.code == 2 and answer.response is None and "panic" in answer.stderr


def test_detach_leaves_the_disk_in_the_vmx_and_delete_vm_leaves_the_iso(
    reference: ReferenceCpi, stemcell_image: Path
) -> None:
    stemcell = reference.call("create_stemcell", str(stemcell_image), {})
    vm = reference.call("create_vm", "agent-1", stemcell, {"disk": 0}, NETWORKS, [], {})
    disk = reference.call("create_disk", 512, {}, vm)
    reference.call("attach_disk", vm, disk)
    reference.call("detach_disk", vm, disk)
    config = Vmx.parse(reference.vmx(f"vm-{vm}").read_bytes())
    assert any(value.endswith(f"disk-{disk}.vmdk") for _, value in config.items())
    reference.call("delete_vm", vm)
    assert (reference.store / "env-isos" / f"vm-{vm}.iso").is_file()
    assert reference.call("delete_disk", disk) is None
    missing = reference.run("delete_disk", disk)  # not idempotent
    assert missing.response is not None and missing.response["error"]["type"] == "Bosh::Clouds::CloudError"


def test_bootstrap_gives_up_on_the_first_guest_error_while_tools_start(
    reference: ReferenceCpi, stemcell_image: Path
) -> None:
    reference.host.configure(boot_delay=60)  # VMware Tools start long after the first poll
    stemcell = reference.call("create_stemcell", str(stemcell_image), {})
    props = {"disk": 0, "bootstrap": _bootstrap("bosh-agent", min_wait=0)}
    answer = reference.run("create_vm", "agent-b", stemcell, props, NETWORKS, [], {})
    assert answer.response is not None and "The VMware Tools are not running" in answer.response["error"]["message"]
    assert len(list(reference.store.glob("vm-*/vm-*.vmx"))) == 1  # and leaves its half-made VM behind
