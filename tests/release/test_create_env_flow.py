"""``bosh create-env`` and ``delete-env`` played call for call against bin/cpi and the simulator's mbus agent.

The CLI's order (bosh-cli ``cmd/deploy_cmd_test.go`` "executes the cloud & agent
client calls in the expected order", ``deployment/instance/instance.go``,
``deployment/vm/vm.go``, ``deployment/instance/state/builder.go``): CreateStemcell,
CreateVM, SetVMMetadata, Ping, CreateDisk, AttachDisk, SetDiskMetadata, Ping,
AddPersistentDisk, MountDisk, then UpdateJobs: Apply (networks only), GetState,
render and upload the jobs, upload and compile each package, Stop, Apply (full
spec), RunScript pre-start, Start, GetState until running, RunScript post-start.
Every CPI call is preceded by ``info``, as the CLI's cpi_cmd_runner does.
delete-env: HasVM, Ping, RunScript pre-stop, Drain, Stop, RunScript post-stop,
ListDisk, UnmountDisk each, DeleteVM, then the disks and the stemcell. The release is tiny
and built here: one package whose
``packaging`` really runs in the guest, one job with ERB-rendered scripts.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from release.build import ROOT, Built
from tests.release.conftest import call, install_job
from tests.support.agent_client import AgentClient, AgentRequestError, BlobRef, DavBlobstore, Mbus
from tests.support.mbus_cert import MbusCert, generate
from tests.support.sim_manifest import SimManifest
from tests.support.tiny_release import GREETING, JOB, PACKAGE, TinyRelease, build_release
from vmtk_sim import SimHost
from vmtk_sim.state import Power, SimHome, vm_key

pytestmark = [pytest.mark.real_process, pytest.mark.slow]

VMRUN_SIM = ROOT / ".venv" / "bin" / "vmrun-sim"
DEPLOYMENT = "tiny"


@dataclass(frozen=True)
class Bench:
    """bin/cpi against vmrun-sim with the mbus agent on, the documented manifest, the CLI's view of the agent."""

    cpi: Path
    root: Path
    store: Path
    home: Path
    manifest: SimManifest
    mbus: Mbus
    cert: MbusCert

    def __call__(self, method: str, *args: Any) -> Any:
        env = {"VMRUN_SIM_HOME": str(self.home)}
        call(self.cpi, self.root, "info", env=env)  # the CLI asks before every call
        return call(self.cpi, self.root, method, *args, env=env)

    def agent(self) -> AgentClient:
        return AgentClient(self.mbus, director_id="d", get_task_delay=0.1)


def manifest_values(cert: MbusCert, port: int, password: str) -> dict[str, Any]:
    """What ``-v`` and the vars store give the documented manifest's variables."""
    return {
        "vmtk_root": str(ROOT),
        "release_sha1": "0" * 40,
        "mbus_port": port,
        "mbus_bootstrap_password": password,
        "mbus_bootstrap_ssl": {"ca": cert.ca, "certificate": cert.certificate, "private_key": cert.private_key},
    }


@pytest.fixture
def bench(installation: Path, tmp_path: Path) -> Iterator[Bench]:
    if not VMRUN_SIM.exists():
        pytest.skip("vmrun-sim is not installed in .venv")
    home, store, cert = tmp_path / "sim", tmp_path / "store", generate()
    SimHost(home).configure(mbus_agent=True, boot_delay=0)  # vmtk sim up --mbus-agent
    password = f"mbus-Secret-{uuid.uuid4().hex[:12]}"  # call() checks this never leaks
    manifest = SimManifest.load(manifest_values(cert, _free_port(), password))
    properties = manifest.cpi_properties()
    properties["vmrun"] = {**properties["vmrun"], "vm_store_path": str(store)}  # one store per test
    cpi = install_job(installation, properties, tmp_path)
    yield Bench(cpi, installation, store, home, manifest, Mbus.from_url(manifest.mbus_url(), cert.ca), cert)
    _stop_strays(home)


def test_the_documented_manifest_names_files_that_exist(built: Built, bench: Bench) -> None:
    assert bench.manifest.release_tarball().name == built.path.name  # what make release writes
    assert bench.manifest.stemcell_tarball().is_file()
    for tool in ("vmrun_bin_path", "ovftool_bin_path"):
        assert Path(bench.manifest.cpi_properties()["vmrun"][tool]).is_file()


def test_create_env_then_delete_env_against_the_simulated_agent(bench: Bench, tmp_path: Path) -> None:
    release = build_release(tmp_path)
    stemcell, vm = create_vm(bench, tmp_path, bench.manifest.vm_env())
    agent = bench.agent()
    agent.wait_until_ready(timeout=60, delay=0.2)
    disk = create_and_mount_disk(bench, agent, vm)
    compiled = update_jobs(agent, DavBlobstore(bench.mbus), release, bench.manifest.networks())
    assert _processes_mentioning(bench.home)  # the agent process, which assert_nothing_left expects gone

    guest = guest_root(bench, vm)
    assert _read(guest, f"/var/vcap/packages/{PACKAGE}/greeting.txt") == "greetings, compiled in the guest\n"
    assert _read(guest, f"/var/vcap/packages/{PACKAGE}/compiled.txt") == f"compiled {PACKAGE}\n"
    assert _read(guest, "/var/vcap/data/greeter/pre-start.marker") == f"{GREETING}\ngreetings, compiled in the guest\n"
    assert _read(guest, "/var/vcap/data/greeter/post-start.marker") == "post-start\n"
    assert _read(guest, f"/var/vcap/jobs/{JOB}/bin/pre-start").startswith("#!/bin/bash")
    assert agent.list_disk() == [disk]
    blob = DavBlobstore(bench.mbus).get(compiled.blobstore_id)
    assert hashlib.sha1(blob).hexdigest() == compiled.sha1
    assert sorted(_names(blob)) == [".", "./compiled.txt", "./greeting.txt"]  # the install target's files
    with pytest.raises(AgentRequestError) as missing:
        DavBlobstore(bench.mbus).get(str(uuid.uuid4()))
    assert missing.value.status == 404

    delete_env(bench, agent, vm, disk, stemcell)
    assert_nothing_left(bench)


def test_a_wrong_mbus_password_gets_401(bench: Bench, tmp_path: Path) -> None:
    stemcell, vm = create_vm(bench, tmp_path, bench.manifest.vm_env())
    bench.agent().wait_until_ready(timeout=60, delay=0.2)
    wrong = Mbus(bench.mbus.host, bench.mbus.port, bench.mbus.username, "not-the-password", bench.cert.ca)
    with pytest.raises(AgentRequestError) as refused:
        AgentClient(wrong, director_id="d").ping()
    assert refused.value.status == 401
    with pytest.raises(AgentRequestError) as blob:
        DavBlobstore(wrong).put(str(uuid.uuid4()), b"x")
    assert blob.value.status == 401
    bench("delete_vm", vm)
    bench("delete_stemcell", stemcell)
    assert_nothing_left(bench)


def test_an_agent_without_mbus_cert_never_listens(bench: Bench, tmp_path: Path) -> None:
    env = {"bosh": {key: value for key, value in bench.manifest.vm_env()["bosh"].items() if key != "mbus"}}
    stemcell, vm = create_vm(bench, tmp_path, env)
    view = SimHost(bench.home).vm(str(_vmx(bench, vm)))
    assert view.agent.status.value == "running"  # booted: the agent process runs, its mbus does not
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # the real agent would have listened well within this
        assert _refused(bench.mbus.port)
        time.sleep(0.1)
    assert "Loading configured tls certificate" in (guest_root(bench, vm) / "var/vcap/bosh/log/current").read_text()
    bench("delete_vm", vm)
    bench("delete_stemcell", stemcell)
    assert_nothing_left(bench)


def create_vm(bench: Bench, tmp_path: Path, env: dict[str, Any]) -> tuple[str, str]:
    """create_stemcell from the manifest's stemcell tarball as the CLI unpacks it, then create_vm."""
    with tarfile.open(bench.manifest.stemcell_tarball()) as tar:
        tar.extractall(tmp_path / "stemcell", filter="data")
    manifest = yaml.safe_load((tmp_path / "stemcell" / "stemcell.MF").read_text())
    stemcell = bench("create_stemcell", str(tmp_path / "stemcell" / "image"), manifest["cloud_properties"])
    vm, _networks = bench(
        "create_vm",
        str(uuid.uuid4()),
        stemcell,
        bench.manifest.vm_cloud_properties(),
        bench.manifest.networks(),
        [],
        env,
    )
    bench(
        "set_vm_metadata",
        vm,
        {
            "deployment": DEPLOYMENT,
            "director": "bosh-init",
            "instance_group": JOB,
            "job": JOB,
            "index": "0",
            "name": f"{JOB}/0",
            "created_at": _now(),
        },
    )
    return stemcell, vm


def create_and_mount_disk(bench: Bench, agent: AgentClient, vm: str) -> str:
    """disk_deployer.go then vm.AttachDisk: the CPI attaches, the agent is told the hint and mounts."""
    disk = bench("create_disk", bench.manifest.disk_size(), {}, vm)
    hint = bench("attach_disk", vm, disk)
    bench(
        "set_disk_metadata",
        disk,
        {
            "deployment": DEPLOYMENT,
            "director": "bosh-init",
            "instance_group": JOB,
            "instance_index": "0",
            "name": f"{JOB}/0",
            "attached_at": _now(),
        },
    )
    agent.wait_until_ready(timeout=60, delay=0.2)  # the CPI may have rebooted the VM to attach
    assert hint is not None
    agent.add_persistent_disk(disk, hint)
    agent.mount_disk(disk)
    return str(disk)


def update_jobs(agent: AgentClient, blobs: DavBlobstore, release: TinyRelease, networks: dict[str, Any]) -> BlobRef:
    """instance.UpdateJobs; returns the compiled package's blob."""
    initial = apply_spec(networks, packages={}, jobs=[], archive={"blobstore_id": "", "sha1": ""})
    agent.apply(initial)  # makes the agent load its networking details
    assert "networks" in agent.get_state()
    archive_id = blobs.add(release.rendered_jobs)  # state builder: render first ...
    source_id = blobs.add(release.package)  # ... then compile each package
    source = BlobRef(PACKAGE, release.package_version, _sha1(release.package), source_id)
    compiled = agent.compile_package(source, [])
    full = apply_spec(
        networks,
        packages={PACKAGE: compiled.to_json()},
        jobs=[{"name": JOB, "version": release.job_version, "sha1": "", "blobstore_id": ""}],
        archive={"blobstore_id": archive_id, "sha1": _sha1(release.rendered_jobs)},
    )
    agent.stop()
    agent.apply(full)
    agent.run_script("pre-start", {})
    agent.start()
    assert agent.wait_to_be_running(max_attempts=30, delay=0.2)["job_state"] == "running"
    agent.run_script("post-start", {})
    return compiled


def apply_spec(
    networks: dict[str, Any], packages: dict[str, Any], jobs: list[dict[str, str]], archive: dict[str, str]
) -> dict[str, Any]:
    """state.ToApplySpec: what the CLI applies (applyspec.ApplySpec's JSON)."""
    return {
        "deployment": DEPLOYMENT,
        "name": JOB,
        "index": 0,
        "id": "0",
        "az": "unknown",
        "packages": packages,
        "networks": networks,
        "job": {"name": JOB, "templates": jobs},
        "rendered_templates_archive": archive,
        "configuration_hash": "unused-configuration-hash",
    }


def delete_env(bench: Bench, agent: AgentClient, vm: str, disk: str, stemcell: str) -> None:
    """deployment.Delete: the instance (shut down through the agent, then the VM), disks, stemcells."""
    assert bench("has_vm", vm) is True
    agent.wait_until_ready(timeout=10, delay=0.5)
    agent.run_script("pre-stop", {})
    assert agent.drain("shutdown") == 0  # vm.Drain: a negative wait would be asked again with "status"
    assert _read(guest_root(bench, vm), "/var/vcap/data/greeter/drain.marker") == "job_shutdown\n"
    agent.stop()
    agent.run_script("post-stop", {})
    for cid in agent.list_disk():
        agent.unmount_disk(cid)
    bench("delete_vm", vm)
    bench("delete_disk", disk)
    bench("delete_stemcell", stemcell)


def assert_nothing_left(bench: Bench) -> None:
    """No file in the store but its locks, no guest, no VM running, no agent listening or alive."""
    assert [p for p in bench.store.rglob("*") if p.is_file() and ".locks" not in p.parts] == []
    assert list((bench.home / "guests").iterdir()) == []
    assert [vm.id for vm in SimHome(bench.home).snapshot().vms.values() if vm.power is not Power.OFF] == []
    listed = subprocess.run(
        [str(VMRUN_SIM), "list"],
        env={**os.environ, "VMRUN_SIM_HOME": str(bench.home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert listed.stdout.splitlines()[0] == "Total running VMs: 0"
    assert _refused(bench.mbus.port)
    assert _processes_mentioning(bench.home) == []


def _vmx(bench: Bench, vm: str) -> Path:
    return bench.store / f"vm-{vm}" / f"vm-{vm}.vmx"


def guest_root(bench: Bench, vm: str) -> Path:
    """SimHome.guest_root of the VM (state records are keyed by the .vmx path)."""
    home = SimHome(bench.home)
    return home.guest_root(home.snapshot().vms[vm_key(str(_vmx(bench, vm)))].id)


def _read(root: Path, guest_path: str) -> str:
    """A guest file's text, following symlinks as the guest would (absolute targets inside ``root``)."""
    path, parts, hops = root, [p for p in guest_path.split("/") if p], 0
    while parts:
        path = path / parts.pop(0)
        if path.is_symlink():
            hops += 1
            assert hops < 40, f"symlink loop under {guest_path}"
            target = os.readlink(path)
            parts = [p for p in target.split("/") if p] + parts
            path = root if target.startswith("/") else path.parent
    return path.read_text()


def _names(tgz: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        return tar.getnames()


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True


def _processes_mentioning(home: Path) -> list[str]:
    """Live processes whose command line or environment names the sim home (an agent left behind would)."""
    needle, found = str(home).encode(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + b"\0" + (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's
            continue
        if needle in seen:
            found.append(entry.name + ": " + seen.split(b"\0", 1)[0].decode(errors="replace"))
    return found


def _stop_strays(home: Path) -> None:
    """Power off whatever a failed test left running, so no agent outlives it."""
    env = {**os.environ, "VMRUN_SIM_HOME": str(home)}
    listed = subprocess.run([str(VMRUN_SIM), "list"], env=env, capture_output=True, text=True, timeout=60, check=False)
    for vmx in listed.stdout.splitlines()[1:]:
        subprocess.run([str(VMRUN_SIM), "stop", vmx, "hard"], env=env, capture_output=True, timeout=60, check=False)
