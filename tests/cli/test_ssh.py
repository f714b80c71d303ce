"""``vmtk --ssh``: every command against a real OpenSSH server driving ``vmrun-sim``.

The "remote" host is this machine reached through sshd on 127.0.0.1; its vmrun
is a wrapper that points ``vmrun-sim`` at the test's simulator state (an SSH
session does not inherit the test's environment).
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.cli.expect import assert_error, assert_ok
from tests.support.sshd import Sshd, secret_part
from vmtk_cli.app import App
from vmtk_cli.main import cli
from vmtk_sim import SimHost

pytestmark = pytest.mark.real_process
GUEST = {"VMTK_GUEST_USER": "vcap", "VMTK_GUEST_PASSWORD": "c1oudc0w"}


@pytest.fixture
def sim(tmp_path: Path) -> SimHost:
    host = SimHost(tmp_path / "sim-home")
    host.configure(boot_delay=0.0)
    return host


@pytest.fixture
def remote(sshd: Sshd, sim: SimHost, tmp_path: Path) -> list[str]:
    """The global options reaching the simulated host over SSH."""
    wrapper = tmp_path / "vmrun"
    wrapper.write_text(
        f"#!/bin/sh\nexport VMRUN_SIM_HOME='{sim.home.root}'\n"
        f"exec '{Path(sys.executable).with_name('vmrun-sim')}' \"$@\"\n"
    )
    wrapper.chmod(0o755)
    key = tmp_path / "id_ed25519"
    key.write_text(sshd.private_key)
    key.chmod(0o600)
    return [
        "--ssh",
        f"{sshd.username}@{sshd.host}:{sshd.port}",
        "--ssh-key",
        str(key),
        "--ssh-host-key",
        sshd.host_public_key,
        "--vmrun",
        str(wrapper),
    ]


def vmtk(*args: str, env: dict[str, str] | None = None) -> Result:
    env = {**GUEST, **(env or {})}
    return CliRunner().invoke(cli, list(args), obj=App(environ=env), env=env)


@pytest.mark.slow
def test_vm_and_guest_commands_run_on_the_ssh_host(remote: list[str], sim: SimHost, tmp_path: Path) -> None:
    vmx = sim.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    assert_ok(vmtk(*remote, "vm", "start", vmx))
    assert json.loads(assert_ok(vmtk(*remote, "vm", "list", "--json")).stdout) == [vmx]
    assert_ok(vmtk(*remote, "guest", "wait", vmx, "--timeout", "30"))
    done = vmtk(*remote, "guest", "run", vmx, "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    assert (done.exit_code, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert sim.vm(vmx).power.value == "running"


def test_host_files_are_the_ssh_hosts(remote: list[str], sim: SimHost, tmp_path: Path) -> None:
    vmx = sim.make_vm(str(tmp_path / "vms" / "b" / "b.vmx"))
    assert_ok(vmtk(*remote, "vmx", "set", vmx, "annotation", "over ssh"))
    assert assert_ok(vmtk(*remote, "vmx", "get", vmx, "annotation")).stdout == "over ssh\n"
    assert 'annotation = "over ssh"' in Path(vmx).read_text()
    disk = tmp_path / "d.vmdk"
    assert_ok(vmtk(*remote, "disk", "create", str(disk), "--size-mb", "8"))
    assert json.loads(assert_ok(vmtk(*remote, "disk", "info", str(disk), "--json")).stdout)["capacity_mb"] == 8


def test_the_private_key_is_never_on_argv_nor_in_logs(
    remote: list[str], sshd: Sshd, sim: SimHost, tmp_path: Path
) -> None:
    vmx = sim.make_vm(str(tmp_path / "vms" / "c" / "c.vmx"))
    result = assert_ok(vmtk("-vv", *remote, "vm", "start", vmx))
    secret = secret_part(sshd.private_key)  # this key's own characters, not every key's header
    assert sim.calls() and all(secret not in " ".join(call["argv"]) for call in sim.calls())
    assert secret not in result.stderr + result.stdout


def test_options_come_from_vmtk_ssh_variables(remote: list[str], sim: SimHost, tmp_path: Path) -> None:
    options = dict(zip(remote[::2], remote[1::2], strict=True))
    env = {
        "VMTK_SSH": options["--ssh"],
        "VMTK_SSH_KEY": options["--ssh-key"],
        "VMTK_SSH_HOST_KEY": options["--ssh-host-key"],
        "VMTK_VMRUN": options["--vmrun"],
    }
    vmx = sim.make_vm(str(tmp_path / "vms" / "e" / "e.vmx"))
    assert_ok(vmtk("vm", "start", vmx, env=env))
    assert sim.vm(vmx).power.value == "running"


def test_an_unknown_host_key_is_refused_with_how_to_pin_it(remote: list[str], sshd: Sshd) -> None:
    at = remote.index("--ssh-host-key")
    line = assert_error(vmtk(*remote[:at], *remote[at + 2 :], "vm", "list"), "--ssh-host-key")
    assert sshd.host_public_key in line and "unknown" in line


def test_a_changed_host_key_is_refused(remote: list[str]) -> None:
    at = remote.index("--ssh-host-key") + 1
    wrong = remote[:at] + ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm0RpLzCaMgqLu2Uo2t5eMRvWm0ZbT4qHZ4kZqFw3Xy"]
    assert_error(vmtk(*wrong, *remote[at + 1 :], "vm", "list"), "changed", "--ssh-host-key")


def test_skipping_the_host_key_check_must_be_explicit(remote: list[str]) -> None:
    at = remote.index("--ssh-host-key")
    unpinned = [*remote[:at], *remote[at + 2 :], "--ssh-insecure-skip-host-key-check"]
    assert json.loads(assert_ok(vmtk(*unpinned, "vm", "list", "--json")).stdout) == []


def test_a_refused_connection_is_one_error_line(remote: list[str], tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
        at = remote.index("--ssh") + 1
        options = [*remote[:at], f"root@127.0.0.1:{closed}", *remote[at + 1 :]]
        assert_error(vmtk(*options, "vm", "list"), "cannot connect", f"127.0.0.1:{closed}")


def test_a_key_the_host_does_not_accept_is_one_error_line(remote: list[str], tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    __import__("subprocess").run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    at = remote.index("--ssh-key") + 1
    assert_error(vmtk(*remote[:at], str(other), *remote[at + 1 :], "vm", "list"), "refused the private key")


def test_stemcell_import_reads_here_and_writes_on_the_ssh_host(remote: list[str], tmp_path: Path) -> None:
    image = Path(__file__).resolve().parents[2] / "fixtures" / "stemcell" / "image"
    result = assert_ok(vmtk(*remote, "stemcell", "import", str(image), str(tmp_path / "tmpl")))
    assert result.stdout == f"{tmp_path / 'tmpl' / 'tmpl.vmx'}\n"
    assert (tmp_path / "tmpl" / "tmpl-disk1.vmdk").stat().st_size > 0
