"""The real ``bosh-vmrun-cpi`` driving vmrun-sim on a "remote" host through a real OpenSSH server."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from tests.cpi.conftest import ENV, MANUAL, STEMCELL_CDROM
from tests.ssh.conftest import MBUS_SECRET, ObservedSshd, RemoteCpi, make_remote
from tests.support.sshd import secret_part
from vmtk_sim import AgentStatus

pytestmark = [pytest.mark.real_process, pytest.mark.slow]

BOOTSTRAP = {
    "disk": 256,
    "bootstrap": {
        "script_content": "echo prepared-$((6*7))\n",
        "script_path": "/tmp/bootstrap.sh",
        "interpreter_path": "/bin/sh",
        "username": "vcap",
        "password": "c1oudc0w",
        "ready_process_name": "bosh-agent",
        "min_wait_seconds": 0,
        "max_wait_seconds": 60,
    },
}


def make_template(remote: RemoteCpi) -> str:
    """A stemcell as create_stemcell leaves it, made directly on the "remote" host."""
    cid = str(uuid.uuid4())
    vmx = remote.host.make_vm(str(remote.store / f"cs-{cid}" / f"cs-{cid}.vmx"))
    with open(vmx, "a", encoding="utf-8") as handle:
        handle.write(STEMCELL_CDROM)
    return cid


class Counted:
    """Calls through ``remote`` that each must open exactly one SSH connection."""

    def __init__(self, remote: RemoteCpi) -> None:
        self.remote = remote
        self.logs: list[str] = []

    def __call__(self, method: str, *arguments: object) -> object:
        before = self.remote.sshd.accepted()
        response, stderr = self.remote.raw(method, *arguments)
        assert response["error"] is None, (response["error"], stderr[-3000:])
        assert self.remote.sshd.accepted() - before == 1, f"{method} did not open exactly one SSH connection"
        self.logs += [stderr, json.dumps(response)]
        return response["result"]


def test_lifecycle_over_ssh_one_connection_per_call(remote: RemoteCpi) -> None:
    call = Counted(remote)
    stemcell = make_template(remote)
    vm, networks = call("create_vm", "agent-ssh", stemcell, BOOTSTRAP, MANUAL, [], ENV)
    vmx = remote.vmx(vm)
    assert remote.host.vm(str(vmx)).agent.status is AgentStatus.RUNNING
    assert str(vmx) in remote.running() and networks["default"]["mac"]
    assert "prepared-42" in call.logs[-1]  # the bootstrap's output reached the response log
    assert call("has_vm", vm) is True and call("has_vm", str(uuid.uuid4())) is False
    call("set_vm_metadata", vm, {"director": "d", "deployment": "dep", "name": "web/0"})
    assert json.loads((vmx.parent / "metadata.json").read_text())["name"] == "web/0"
    disk = call("create_disk", 512, {}, vm)
    assert (remote.store / "disks" / f"disk-{disk}.vmdk").stat().st_size > 0
    assert call("has_disk", disk) is True
    call("attach_disk", vm, disk)
    assert call("get_disks", vm) == [disk]
    assert f"disk-{disk}.vmdk" in vmx.read_text()
    call("reboot_vm", vm)
    assert remote.host.vm(str(vmx)).agent.status is AgentStatus.RUNNING
    call("detach_disk", vm, disk)
    assert call("get_disks", vm) == [] and f"disk-{disk}.vmdk" not in vmx.read_text()
    call("delete_vm", vm)
    assert not vmx.parent.exists() and remote.running() == []
    call("delete_disk", disk)
    assert call("has_disk", disk) is False
    call("delete_stemcell", stemcell)
    assert sorted(p.name for p in remote.store.iterdir() if not p.name.startswith(".")) == ["disks"]
    assert_no_secrets(remote, call.logs)


def assert_no_secrets(remote: RemoteCpi, logs: list[str]) -> None:
    secret = secret_part(str(remote.tunnel["private_key"]))  # this key's own, not every key's header
    for text in logs:
        assert secret not in text and MBUS_SECRET not in text


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)  # polling another process's progress; not library code


def test_connection_dropped_in_create_vm_is_cleaned_up_and_a_retry_succeeds(remote: RemoteCpi) -> None:
    stemcell = make_template(remote)
    remote.host.configure(latency={"start": 5})  # vmrun start has powered the VM on, then lingers
    process = remote.start("create_vm", "agent-drop", stemcell, {"disk": 64}, MANUAL, [], ENV)
    wait_for(lambda: bool(remote.running()))
    assert remote.sshd.drop_connections() >= 1
    response, stderr = remote.finish(process)
    error = response["error"]
    assert error["type"] == "Bosh::Clouds::VMCreationFailed", (error, stderr[-3000:])
    assert error["ok_to_retry"] is True and "connection" in error["message"]
    # The same call cleaned up over a fresh connection: no VM running, no directory, no lock.
    assert remote.running() == []
    assert not [p.name for p in remote.store.iterdir() if p.name.startswith("vm-")]
    remote.host.configure(latency={})
    vm, _ = remote("create_vm", "agent-drop", stemcell, {"disk": 64}, MANUAL, [], ENV)
    assert remote.running() == [str(remote.vmx(vm))]


def other_key(folder: Path) -> tuple[str, str]:
    """A freshly generated Ed25519 key pair nobody trusts: (private key text, public key line)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "other")], check=True)
    return (folder / "other").read_text(), " ".join((folder / "other.pub").read_text().split()[:2])


@pytest.mark.parametrize(
    ("tunnel", "says"),
    [
        ({"host_public_key": "PUBLIC"}, ["changed: expected", "pin the new key in host_public_key"]),
        ({"host_public_key": None}, ["is unknown", "pin it by setting host_public_key to 'ssh-ed25519 "]),
        ({"private_key": "PRIVATE"}, ["refused the private key for user"]),
        ({"port": "CLOSED"}, ["cannot connect to"]),
    ],
    ids=["wrong-host-key", "unpinned-host-key", "auth-failure", "refused-connection"],
)
def test_ssh_failures_are_cloud_errors_saying_what_to_do(
    sshd: ObservedSshd, tmp_path: Path, tunnel: dict[str, object], says: list[str]
) -> None:
    private, public = other_key(tmp_path)
    values = {"PUBLIC": public, "PRIVATE": private, "CLOSED": str(_closed_port())}
    remote = make_remote(sshd, tmp_path / "remote", **{k: values.get(str(v), v) for k, v in tunnel.items()})
    response, stderr = remote.raw("has_vm", str(uuid.uuid4()))
    assert response["error"]["type"] == "Bosh::Clouds::CloudError" and response["result"] is None
    for text in says:
        assert text in response["error"]["message"], response["error"]
    assert_no_secrets(remote, [stderr, json.dumps(response)])
    assert secret_part(private) not in stderr + json.dumps(response)


def test_bad_ssh_settings_are_a_cpi_error_listing_every_problem(sshd: ObservedSshd, tmp_path: Path) -> None:
    remote = make_remote(sshd, tmp_path / "remote", port="ssh", platform="beos", username="")
    error = remote.error("has_vm", str(uuid.uuid4()))
    assert error["type"] == "Bosh::Clouds::CpiError"
    for key in ("ssh_tunnel.port", "ssh_tunnel.platform", "ssh_tunnel.username"):
        assert key in error["message"]


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
STEMCELL_PROPS = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "0.0.1"}


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A stemcell ``image``: the OVF package VMware wrote (descriptor + streamOptimized disk)."""
    pytest.importorskip("toolkit.formats.stemcell")
    path = tmp_path / "image"
    with tarfile.open(path, "w") as tar:
        for name in ("image.ovf", "image.vmdk"):
            tar.add(REFERENCE / name, arcname=name)
    return path


def test_an_image_reaches_the_host_once_per_content_hash(remote: RemoteCpi, image: Path) -> None:
    images = remote.store / ".images"
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    first = remote("create_stemcell", str(image), STEMCELL_PROPS)
    uploaded = remote.sshd.written(str(images))
    assert uploaded > 0 and sorted(p.name for p in images.iterdir()) == [digest]
    assert (images / digest / "image.vmx").exists()
    second = remote("create_stemcell", str(image), STEMCELL_PROPS)
    assert remote.sshd.written(str(images)) == uploaded  # the second import sent no image bytes
    assert remote.sshd.written(str(remote.store / f"cs-{second}")) < 1024  # its records only
    for stemcell in (first, second):
        assert (remote.store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx").exists()
    vm, _ = remote("create_vm", "agent-img", second, {"disk": 64}, MANUAL, [], ENV)
    assert remote.host.vm(str(remote.vmx(vm))).agent.status is AgentStatus.RUNNING
    remote("delete_vm", vm)
    remote("delete_stemcell", first)
    assert (images / digest).exists()  # still the source of the second stemcell
    remote("delete_stemcell", second)
    assert list(images.iterdir()) == []


def test_an_import_cut_off_by_a_dropped_connection_never_counts_and_is_redone(remote: RemoteCpi, image: Path) -> None:
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    leftover = remote.store / ".images" / f"{digest}.tmp-0dead000"  # what a cut-off import leaves
    leftover.mkdir(parents=True)
    (leftover / "image-disk1.vmdk.tmp-1234abcd").write_bytes(b"KDMV" + b"\0" * 1000)
    stemcell = remote("create_stemcell", str(image), STEMCELL_PROPS)
    assert sorted(p.name for p in (remote.store / ".images").iterdir()) == [digest]
    assert (remote.store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx").exists()


def test_the_private_key_is_never_on_a_command_line_in_a_log_or_in_a_file(remote: RemoteCpi, tmp_path: Path) -> None:
    started = time.time()
    secret = secret_part(str(remote.tunnel["private_key"]))
    # Temp files of the CPI (its TMPDIR) and of the "remote" host (temp_dir) land in this
    # test's own directories, which are all that is scanned: other tests' keys are not ours.
    (tmp_path / "host-tmp").mkdir()
    remote.tunnel["temp_dir"] = str(tmp_path / "host-tmp")
    process = remote.start(
        "create_vm", "agent-key", make_template(remote), {"disk": 64}, MANUAL, [], ENV, tmpdir=tmp_path / "cpi-tmp"
    )
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    wait_for(lambda: b"cpi.json" in cmdline.read_bytes())  # exec'd (interpreter, script, config)
    argv = cmdline.read_bytes().split(b"\0")[:-1]
    assert argv[-1] == str(remote.folder / "cpi.json").encode() and argv[-2].endswith(b"bosh-vmrun-cpi")
    assert not any(secret.encode() in arg for arg in argv)
    response, stderr = remote.finish(process)
    assert response["error"] is None, stderr[-3000:]
    assert_no_secrets(remote, [stderr, json.dumps(response)])
    assert (remote.folder / "cpi.json").stat().st_mode & 0o077 == 0
    folders = (tmp_path, remote.sshd.log.parent)  # the store, the sim home, both temp dirs; sshd's logs
    holding = _files_holding(secret.encode(), folders, since=started, skip=(remote.folder / "cpi.json",))
    assert [str(p) for p in holding] == []


def _files_holding(needle: bytes, folders: Iterable[Path], *, since: float, skip: tuple[Path, ...]) -> list[Path]:
    """Files under ``folders`` changed since ``since`` that contain ``needle`` (symbolic links, such as
    the simulated guest's, are not followed: what they point to is scanned where it is, if ours)."""
    found = []
    for top in folders:
        for folder, _dirs, names in os.walk(top):
            for path in (Path(folder, name) for name in names if not Path(folder, name).is_symlink()):
                if path not in skip and path.stat().st_mtime >= since and needle in path.read_bytes():
                    found.append(path)
    return found
