"""Example: testing what happens inside a VM with the vmtk pytest plugin.

The plugin comes with the installed distribution (``pip install 'vmrun-toolkit[sim]'``
and pytest-xdist): pytest loads it by itself, so no ``-p`` option is needed. Run it
against the simulator (no VMware needed)::

    pytest test_guest_example.py -n 2

or against a real Workstation/Fusion host::

    VMTK_GUEST_PASSWORD=... pytest test_guest_example.py \\
        --vmtk-vmrun /usr/bin/vmrun --vmtk-template ~/vms/stemcell/stemcell.vmx
"""

from __future__ import annotations

from pathlib import Path

import pytest

BOOTSTRAP = """#!/bin/sh
set -e
mkdir -p /var/vcap/data/app
echo "configured by bootstrap" > /var/vcap/data/app/state
echo "bootstrap: done"
"""


def test_a_command_runs_with_its_output_and_exit_code(vm):
    result = vm.guest.sh("echo hello from the guest; echo oops >&2; exit 3")

    assert result.exit_code == 3
    assert result.stdout == "hello from the guest\n"
    assert result.stderr == "oops\n"


def test_a_bootstrap_script_configures_the_guest(vm, tmp_path: Path):
    script = tmp_path / "bootstrap.sh"
    script.write_text(BOOTSTRAP)

    vm.guest.put(script, "/tmp/bootstrap.sh")
    result = vm.guest.run("/bin/sh", "/tmp/bootstrap.sh").check()  # raises with the output on failure

    assert "bootstrap: done" in result.stdout
    assert vm.guest.get("/var/vcap/data/app/state") == b"configured by bootstrap\n"


def test_a_service_started_in_the_background_shows_up_as_a_process(vm):
    vm.guest.put(b"#!/bin/sh\nexec sleep 300\n", "/tmp/my-service")
    vm.guest.sh("chmod +x /tmp/my-service").check()
    vm.guest.start("/tmp/my-service")  # returns at once; the program keeps running

    found = vm.guest.wait_for_process("my-service", timeout=30)

    assert found.pid in {process.pid for process in vm.guest.processes()}


@pytest.mark.parametrize("vm", [{"memory": 1024, "cpus": 2}], indirect=True)
def test_a_vm_with_more_memory(vm):
    assert 'memsize = "1024"' in Path(vm.vmx).read_text()


def test_two_vms_in_one_test(vm_factory):
    first, second = vm_factory(), vm_factory()

    first.guest.put(b"only here\n", "/tmp/marker")

    assert first.guest.exists("/tmp/marker")
    assert not second.guest.exists("/tmp/marker")
