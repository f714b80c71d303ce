"""The simulated agent's mbus, through real HTTPS as the bosh CLI reaches it.

Each test powers a simulated VM on with the ``mbus_agent`` knob, so a real agent
process serves its port; the assertions are on the wire answers and on the
guest file system the actions changed.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.make_stemcell import tgz
from tests.support import mbus_cert
from tests.support.agent_client import AgentClient, AgentError, AgentRequestError, BlobRef, DavBlobstore, Mbus
from toolkit.errors import ConfigError
from toolkit.formats.iso import settings_iso
from toolkit.host.clock import SystemClock
from toolkit.vmware.vmx import Vmx
from vmtk_sim import Power, SimHost, guestfs
from vmtk_sim.sandbox import unavailable

pytestmark = pytest.mark.real_process

CERT = mbus_cert.generate()
PASSWORD = "mbus-pw-7d1c"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings(port: int, *, cert: bool = True) -> dict[str, Any]:
    env = {"bosh": {"mbus": {"cert": CERT.env_cert()}}} if cert else {"bosh": {}}
    return {
        "agent_id": "agent-1",
        "vm": {"name": "vm-1"},
        "mbus": f"https://mbus:{PASSWORD}@0.0.0.0:{port}",
        "disks": {"system": "0", "persistent": {}},
        "env": env,
        "networks": {"default": {"type": "dynamic", "default": ["dns", "gateway"]}},
    }


class Vm:
    """A simulated VM with a settings CD-ROM, powered through vmrun-sim's Runner."""

    def __init__(self, host: SimHost, root: Path, settings: dict[str, Any]) -> None:
        iso = root / "env.iso"
        iso.write_bytes(settings_iso(settings))
        self.host, self.vmx = host, host.make_vm(str(root / "vms" / "a" / "a.vmx"), cdrom_iso=str(iso))
        self.mbus = Mbus.from_url(settings["mbus"].replace("0.0.0.0", "127.0.0.1"), ca=CERT.ca)
        self.agent = AgentClient(self.mbus, "director-1", get_task_delay=0.05)

    def vmrun(self, *args: str) -> None:
        answer = self.host.runner().run(["vmrun-sim", "-T", "ws", *args], timeout=60)
        assert answer.exit_code == 0, answer

    def guest(self, path: str) -> Path:
        """The host file behind a guest path (guest symlinks resolved inside the guest root)."""
        return guestfs.resolve(Path(self.host.vm(self.vmx).guest_root), path)

    def attach_scsi_disk(self, unit: int) -> None:
        shutil.copyfile(Path(self.vmx).with_name("a-disk1.vmdk"), Path(self.vmx).with_name("data.vmdk"))
        config = Vmx.parse(Path(self.vmx).read_bytes())
        for key, value in (("present", "TRUE"), ("fileName", "data.vmdk"), ("mode", "persistent")):
            config.set(f"scsi0:{unit}.{key}", value)
        config.set("scsi0.present", "TRUE")
        Path(self.vmx).write_bytes(config.dumps())


@pytest.fixture
def host(tmp_path: Path) -> Iterator[SimHost]:
    sim = SimHost(tmp_path / "sim-home", clock=SystemClock())
    sim.configure(boot_delay=0.2, mbus_agent=True)
    yield sim
    power_off_all(sim)


def power_off_all(sim: SimHost) -> None:
    """A failed test must not leave an agent serving."""
    if sim.home.state_file.exists():
        for key, record in sim.home.snapshot().vms.items():
            if record.power is not Power.OFF:
                sim.runner().run(["vmrun-sim", "-T", "ws", "stop", key, "hard"], timeout=60)


@pytest.fixture
def vm(host: SimHost, tmp_path: Path) -> Vm:
    machine = Vm(host, tmp_path, settings(free_port()))
    machine.vmrun("start", machine.vmx)
    machine.agent.wait_until_ready(timeout=30, delay=0.1)
    return machine


def refused(mbus: Mbus) -> bool:
    try:
        mbus.request("POST", "/agent", b"{}")
    except AgentRequestError:
        return True
    return False


def test_ping_and_state_need_the_mbus_password(vm: Vm) -> None:
    assert vm.agent.ping() == "pong"
    state = vm.agent.get_state()
    assert state["agent_id"] == "agent-1" and state["job_state"] == "running"
    # Before any apply, as the agent: empty maps, no processes, no protocol field.
    assert state["networks"] == {} and state["packages"] == {} and state["resource_pool"] == {}
    assert "processes" not in state and "bosh_protocol" not in state
    assert vm.agent.send("sync_dns", ["blob", "sha1", 1]) == "synced"  # synchronous, as in the agent
    assert vm.agent.send("delete_arp_entries", [{"ips": ["10.0.0.9"]}]) == {}
    wrong = Mbus(vm.mbus.host, vm.mbus.port, "mbus", "not-the-password", CERT.ca)
    assert wrong.request("POST", "/agent", b'{"method":"ping"}')[0] == 401
    assert vm.mbus.request("GET", "/nowhere")[0] == 404
    assert vm.mbus.request("GET", "/agent")[0] == 404  # /agent takes POST only


def test_unknown_methods_tasks_and_arity_are_agent_exceptions(vm: Vm) -> None:
    with pytest.raises(AgentError, match="unknown message frobnicate"):
        vm.agent.send("frobnicate", [])
    with pytest.raises(AgentError, match="Task with id nope could not be found"):
        vm.agent.send("get_task", ["nope"])
    with pytest.raises(AgentError, match="wrong number of arguments"):
        vm.agent.send("mount_disk", [])


def test_stop_and_start_switch_the_job_state(vm: Vm) -> None:
    vm.agent.stop()
    assert vm.agent.get_state()["job_state"] == "stopped"
    vm.agent.start()
    assert vm.agent.get_state()["job_state"] == "running"


@pytest.mark.skipif(unavailable() is not None, reason=f"guest programs cannot run here: {unavailable()}")
def test_compile_package_runs_packaging_in_the_guest_and_returns_a_checked_blob(vm: Vm) -> None:
    blobs = DavBlobstore(vm.mbus)
    source = tgz({"packaging": b'set -e\necho "built $BOSH_PACKAGE_NAME" > $BOSH_INSTALL_TARGET/out.txt\n'})
    blob_id = str(hashlib.sha1(source).hexdigest())
    blobs.put(blob_id, source)
    compiled = vm.agent.compile_package(
        BlobRef("hello", "v1", "sha256:" + hashlib.sha256(source).hexdigest(), blob_id), []
    )
    archive = blobs.get(compiled.blobstore_id)
    assert hashlib.sha1(archive).hexdigest() == compiled.sha1
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.extractfile("./out.txt").read() == b"built hello\n"  # type: ignore[union-attr]
    # As the agent: nothing stays installed, the sources are gone, bash's trace is in the log.
    assert not vm.guest("/var/vcap/packages").exists() and not vm.guest("/var/vcap/data/compile/hello").exists()
    assert "+ echo 'built hello'" in vm.guest("/var/vcap/sys/log/compilation/packaging.stderr.log").read_text()


@pytest.mark.skipif(unavailable() is not None, reason=f"guest programs cannot run here: {unavailable()}")
def test_a_failing_packaging_script_fails_the_task_with_its_output(vm: Vm) -> None:
    blobs = DavBlobstore(vm.mbus)
    source = tgz({"packaging": b"echo compiler-says-no >&2\nexit 3\n"})
    blobs.put("src-1", source)
    with pytest.raises(
        AgentError,
        match=r": Compiling package bad: Running packaging script: "
        r"Command exited with 3; Stdout: , Stderr: compiler-says-no\n\+ exit 3",
    ):
        vm.agent.compile_package(BlobRef("bad", "v1", hashlib.sha1(source).hexdigest(), "src-1"), [])


def test_a_blob_that_does_not_match_its_digest_is_refused(vm: Vm) -> None:
    DavBlobstore(vm.mbus).put("src-2", tgz({"packaging": b"true\n"}))
    with pytest.raises(AgentError, match="Checking blob: expected sha1 0000"):
        vm.agent.compile_package(BlobRef("p", "v1", "0" * 40, "src-2"), [])


def test_a_source_archive_escaping_its_directory_is_refused(vm: Vm) -> None:
    hostile = tgz({"../../../../escaped": b"x"})
    DavBlobstore(vm.mbus).put("src-3", hostile)
    with pytest.raises(AgentError, match="Decompressing"):
        vm.agent.compile_package(BlobRef("p", "v1", hashlib.sha1(hostile).hexdigest(), "src-3"), [])
    assert not list(vm.host.home.root.rglob("escaped"))


def test_blob_ids_cannot_name_files_outside_the_store(vm: Vm) -> None:
    status, _ = vm.mbus.request("PUT", "/blobs/aa/..", b"x")
    assert status == 500
    assert vm.mbus.request("GET", "/blobs/aa/missing")[0] == 404


def test_mount_disk_needs_a_known_hint_that_names_an_attached_disk(vm: Vm) -> None:
    with pytest.raises(
        AgentError, match="Reading persistent disk settings: Persistent disk with volume id 'disk-1' could not be found"
    ):
        vm.agent.mount_disk("disk-1")
    with pytest.raises(AgentError, match=": Persistent disk with volume id 'disk-1' could not be found$"):
        vm.agent.unmount_disk("disk-1")
    vm.agent.add_persistent_disk("disk-1", "2")
    with pytest.raises(AgentError, match="Timed out getting real device path for '2'"):
        vm.agent.mount_disk("disk-1")  # the agent sees no disk at SCSI unit 2
    assert vm.agent.list_disk() == []


def test_a_mounted_disk_is_listed_until_unmounted(host: SimHost, tmp_path: Path) -> None:
    machine = Vm(host, tmp_path, settings(free_port()))
    machine.attach_scsi_disk(2)
    machine.vmrun("start", machine.vmx)
    machine.agent.wait_until_ready(timeout=30, delay=0.1)
    machine.agent.add_persistent_disk("disk-1", "2")
    machine.agent.mount_disk("disk-1")
    assert machine.agent.list_disk() == ["disk-1"] and machine.guest("/var/vcap/store").is_dir()
    machine.agent.unmount_disk("disk-1")
    assert machine.agent.list_disk() == []


def test_the_agent_ends_with_its_vm_and_a_reset_boots_a_new_one(vm: Vm) -> None:
    vm.agent.stop()
    vm.vmrun("reset", vm.vmx, "hard")
    vm.agent.wait_until_ready(timeout=30, delay=0.1)
    assert vm.agent.get_state()["job_state"] == "running"  # a fresh agent after the reboot
    vm.vmrun("stop", vm.vmx, "hard")
    assert refused(vm.mbus)


def test_without_an_mbus_certificate_the_agent_never_listens(host: SimHost, tmp_path: Path) -> None:
    machine = Vm(host, tmp_path, settings(free_port(), cert=False))
    machine.vmrun("start", machine.vmx)
    assert "Loading configured tls certificate" in agent_log(machine, "agent not started")
    assert refused(machine.mbus)


def test_an_agent_whose_saved_state_is_not_json_does_not_start(vm: Vm) -> None:
    vm.vmrun("stop", vm.vmx, "hard")
    vm.guest("/var/vcap/bosh/spec.json").write_text("{not json")
    vm.vmrun("start", vm.vmx)
    assert "/var/vcap/bosh/spec.json is not valid JSON" in agent_log(vm, "agent not started")
    assert refused(vm.mbus)


def agent_log(machine: Vm, awaited: str) -> str:
    """The agent's log in the guest once it holds ``awaited`` (30 s at most)."""
    log = machine.guest("/var/vcap/bosh/log/current")
    deadline = time.monotonic() + 30
    while not (log.exists() and awaited in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return log.read_text()


def test_an_agent_whose_simulator_state_is_removed_goes_away(host: SimHost, tmp_path: Path) -> None:
    machine = Vm(host, tmp_path, settings(free_port()))
    machine.vmrun("start", machine.vmx)
    machine.agent.wait_until_ready(timeout=30, delay=0.1)
    host.home.state_file.unlink()  # as when a test's temporary simulator home is deleted
    deadline = time.monotonic() + 30
    while not refused(machine.mbus) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert refused(machine.mbus)


def test_the_knob_takes_only_true_or_false(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mbus_agent: expected true or false"):
        SimHost(tmp_path / "h").configure(mbus_agent="yes")


def apply_jobs(vm: Vm, files: dict[str, bytes], templates: list[str]) -> None:
    """Apply a spec whose jobs (version 1) come from a rendered-templates archive of ``files``."""
    rendered = tgz(files)
    blob_id = f"rendered-{hashlib.sha1(rendered).hexdigest()}"
    DavBlobstore(vm.mbus).put(blob_id, rendered)
    vm.agent.apply(
        {
            "deployment": "d",
            "job": {"name": "g", "templates": [{"name": t, "version": "1"} for t in templates]},
            "packages": {},
            "networks": {},
            "persistent_disk": 1024,
            "configuration_hash": "h1",
            "rendered_templates_archive": {"blobstore_id": blob_id, "sha1": hashlib.sha1(rendered).hexdigest()},
        }
    )


def test_apply_resolves_dynamic_networks_and_installs_only_with_a_configuration_hash(vm: Vm) -> None:
    networks = {
        "default": {"type": "dynamic", "default": ["dns", "gateway"]},
        "other": {"type": "manual", "ip": "10.0.0.5"},
    }
    spec = {
        "deployment": "d",
        "name": "web",
        "id": "uuid-1",
        "az": "z1",
        "networks": networks,
        "packages": {"p": {"name": "p", "version": "1", "sha1": "0" * 40, "blobstore_id": "missing"}},
    }
    vm.agent.apply(spec)  # no configuration_hash: stored, nothing installed (the missing blob is never read)
    state = vm.agent.get_state()
    assert (
        state["networks"]["default"]["ip"].startswith("192.168.80.") and state["networks"]["other"]["ip"] == "10.0.0.5"
    )
    assert state["name"] == "web" and not vm.guest("/var/vcap/packages").exists()
    assert [vm.guest(f"/var/vcap/instance/{f}").read_text() for f in ("id", "az", "name", "deployment")] == [
        "uuid-1",
        "z1",
        "web",
        "d",
    ]
    with pytest.raises(AgentError, match="blob 'missing' not found"):
        vm.agent.apply({**spec, "configuration_hash": "h1"})


@pytest.mark.skipif(unavailable() is not None, reason=f"guest programs cannot run here: {unavailable()}")
def test_applied_jobs_run_their_scripts_with_the_options_env(vm: Vm) -> None:
    apply_jobs(
        vm,
        {
            "web/bin/pre-start": b'#!/bin/bash\necho "pre-start says $GREETING"\n',
            "bad/bin/pre-start": b"#!/bin/bash\necho broken >&2\nexit 1\n",
        },
        ["web", "bad"],
    )
    assert vm.agent.get_state()["deployment"] == "d"
    with pytest.raises(
        AgentError, match=r": 1 of 2 pre-start scripts failed\. Failed Jobs: bad\. Successful Jobs: web\.$"
    ):
        vm.agent.run_script("pre-start", {"env": {"GREETING": "hello"}})
    assert vm.guest("/var/vcap/sys/log/web/pre-start.stdout.log").read_text() == "pre-start says hello\n"
    assert vm.guest("/var/vcap/sys/log/bad/pre-start.stderr.log").read_text() == "broken\n"
    vm.agent.run_script("post-stop", {})  # no job has one: nothing runs, nothing fails


@pytest.mark.skipif(unavailable() is not None, reason=f"guest programs cannot run here: {unavailable()}")
def test_a_dynamic_drain_is_asked_again_until_done_and_answers_0(vm: Vm) -> None:
    apply_jobs(
        vm,
        {
            "web/bin/drain": (
                b"#!/bin/bash\n"
                b'echo "$* state=$BOSH_JOB_STATE next=${BOSH_JOB_NEXT_STATE-unset}" >> /var/vcap/data/drained\n'
                b'if [ "$1" = job_check_status ]; then echo 0; else echo -1; fi\n'
            )
        },
        ["web"],
    )
    assert vm.agent.run_task("drain", ["shutdown", {}]) == 0
    assert vm.guest("/var/vcap/data/drained").read_text().splitlines() == [
        'job_shutdown hash_unchanged state={"persistent_disk":1024} next={"persistent_disk":0}',
        'job_check_status hash_unchanged state={"persistent_disk":1024} next=unset',
    ]


@pytest.mark.skipif(unavailable() is not None, reason=f"guest programs cannot run here: {unavailable()}")
def test_drain_refuses_status_and_fails_a_script_that_prints_no_integer(vm: Vm) -> None:
    apply_jobs(vm, {"web/bin/drain": b"#!/bin/bash\necho draining\n"}, ["web"])
    with pytest.raises(AgentError, match=": Unexpected call with drain type 'status'$"):
        vm.agent.run_task("drain", ["status"])
    with pytest.raises(AgentError, match=": Drain update requires new spec$"):
        vm.agent.run_task("drain", ["update"])
    with pytest.raises(AgentError, match=r": 1 of 1 drain scripts failed\. Failed Jobs: web\.$"):
        vm.agent.drain("shutdown")
