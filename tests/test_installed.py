"""The built wheel, installed (not editable) into a fresh venv, used from outside the checkout.

The rest of the suite imports from the source tree; this test meets what a
``pip install`` user meets: the wheel's packages, package data and entry points.
It builds the wheel once, installs it with its ``ssh`` and ``sim`` extras and
pytest into a new venv (from the package index, as a user would), and runs from
a directory that is not the checkout, with no ``PYTHONPATH``: ``vmtk demo``,
``vmrun-sim`` and ``ovftool-sim``, ``vmtk sim up --mbus-agent`` with a VM whose
agent answers over HTTPS, and the pytest plugin's example file.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import zipfile
from pathlib import Path

import pytest

from tests.support import mbus_cert
from tests.support.agent_client import AgentClient, AgentRequestError, Mbus
from tests.support.installed import Installed
from vmtk_sim.sandbox import unavailable

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.real_process, pytest.mark.slow]
needs_sandbox = pytest.mark.skipif(unavailable() is not None, reason=f"no sandbox: {unavailable()}")


def test_the_wheel_carries_every_package_and_the_sample_image(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    source_packages = {
        str(init.parent.relative_to(ROOT)).replace(os.sep, "/")
        for root in ("toolkit", "cpi", "vmtk_sim", "vmtk_harness", "vmtk_cli")
        for init in (ROOT / root).rglob("__init__.py")
    }
    assert {p for p in source_packages if f"{p}/__init__.py" not in names} == set()
    assert {"vmtk_sim/sample_files/image", "toolkit/guest_scripts/run-captured.sh"} <= names
    assert not any(n.startswith(("tests/", "fixtures/", "release/", "benchmarks/")) for n in names)


@needs_sandbox
def test_vmtk_demo_runs_from_outside_the_checkout(installed: Installed) -> None:
    done = installed.run("vmtk", "demo", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "store is empty" in done.stdout


def test_the_simulator_commands_answer_as_vmrun_and_ovftool(installed: Installed) -> None:
    sim = {"VMRUN_SIM_HOME": str(installed.home / "sim-cmds")}
    listed = installed.run("vmrun-sim", "list", **sim)
    assert (listed.returncode, listed.stdout) == (0, "Total running VMs: 0\n"), listed.stderr
    version = installed.run("ovftool-sim", "--version", **sim)
    assert version.returncode == 0 and version.stdout.startswith("VMware ovftool"), version.stdout + version.stderr


AGENT_VM = """\
import json, os, sys
from toolkit import SystemClock
from toolkit.formats.iso import settings_iso
from vmtk_sim import SimHost

home, settings = sys.argv[1], sys.argv[2]
with open("env.iso", "wb") as iso:
    iso.write(settings_iso(json.loads(open(settings).read())))
host = SimHost(home, clock=SystemClock())
print(host.make_vm(os.path.abspath("vms/a/a.vmx"), cdrom_iso=os.path.abspath("env.iso")))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(port: int, cert: mbus_cert.MbusCert, password: str) -> dict[str, object]:
    return {
        "agent_id": "agent-1",
        "vm": {"name": "vm-1"},
        "mbus": f"https://mbus:{password}@0.0.0.0:{port}",
        "disks": {"system": "0", "persistent": {}},
        "env": {"bosh": {"mbus": {"cert": cert.env_cert()}}},
        "networks": {"default": {"type": "dynamic", "default": ["dns", "gateway"]}},
    }


def _ping_until_answered(agent: AgentClient, *, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return agent.ping()
        except (AgentRequestError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@needs_sandbox
def test_sim_up_with_the_mbus_agent_gives_a_vm_an_agent_that_answers(installed: Installed) -> None:
    sim = {"VMRUN_SIM_HOME": str(installed.home / "sim-agent")}
    up = installed.run("vmtk", "sim", "up", "--mbus-agent", "--boot-delay", "0", **sim)
    assert up.returncode == 0, up.stderr
    cert, password, port = mbus_cert.generate(), "pw-installed", _free_port()
    (installed.home / "settings.json").write_text(json.dumps(_settings(port, cert, password)))
    (installed.home / "make_vm.py").write_text(AGENT_VM)
    made = installed.run(str(installed.bin / "python"), "make_vm.py", sim["VMRUN_SIM_HOME"], "settings.json", **sim)
    assert made.returncode == 0, made.stderr
    vmx = made.stdout.strip()
    started = installed.run("vmrun-sim", "-T", "ws", "start", vmx, **sim)
    assert started.returncode == 0, started.stdout + started.stderr
    agent = AgentClient(Mbus.from_url(f"https://mbus:{password}@127.0.0.1:{port}", ca=cert.ca), "director-1")
    try:
        assert _ping_until_answered(agent, seconds=60) == "pong"
    finally:
        stopped = installed.run("vmrun-sim", "-T", "ws", "stop", vmx, "hard", **sim)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr


@needs_sandbox
def test_the_pytest_plugin_example_runs_with_the_command_its_docstring_gives(installed: Installed) -> None:
    example = ROOT / "docs" / "examples" / "test_guest_example.py"
    shutil.copy(example, installed.home / example.name)
    # The docstring's command, as a user types it in the folder that holds the file.
    done = installed.run("pytest", example.name, "-n", "2", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
