"""The reference's bootstrap: start, wait for a guest process, copy a script in, run it, stop (``cpi_test.go``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.reference.conftest import BOOT_DELAY, NETWORKS, ReferenceCpi
from vmtk_sim import Power, Product

# Whole seconds (the reference wants an int). It aborts on the first guest-op error, so it must wait out the boot.
MIN_WAIT = math.ceil(BOOT_DELAY) + 1


def _bootstrap(ready: str, *, min_wait: int = MIN_WAIT) -> dict[str, object]:
    return {
        "script_content": "touch /home/vcap/bootstrapped.txt",
        "script_path": "/home/vcap/bootstrap.sh",
        "interpreter_path": "/bin/bash",
        "ready_process_name": ready,
        "username": "vcap",
        "password": "c1oudc0w",
        "min_wait_seconds": min_wait,
        "max_wait_seconds": 30,
    }


@pytest.mark.parametrize("ready", ["bosh-agent", "vmtoolsd"])
def test_bootstrap_waits_for_the_ready_process_before_any_settings_cdrom(
    tmp_path: Path, stemcell_image: Path, ready: str
) -> None:
    reference = ReferenceCpi(tmp_path, Product.WORKSTATION)
    stemcell = reference.call("create_stemcell", str(stemcell_image), {})
    props = {"cpu": 1, "ram": 512, "disk": 1024, "bootstrap": _bootstrap(ready)}
    vm = reference.call("create_vm", "agent-b", stemcell, props, NETWORKS, [], {})
    view = reference.host.vm(str(reference.vmx(f"vm-{vm}")))
    assert (view.guest_root / "home" / "vcap" / "bootstrapped.txt").is_file()  # the script really ran
    assert view.power is Power.OFF  # bootstrap ends with a soft stop; names are human: set_vm_metadata starts it
    assert reference.call("delete_vm", vm) is None
