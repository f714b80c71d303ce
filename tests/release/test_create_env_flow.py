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
ListDisk, UnmountDisk each, DeleteVM, then the disks and the stemcell. The release is tiny and built here: one package whose
``packaging`` really runs in the guest, one job with ERB-rendered scripts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
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

from release.build import ROOT
from tests.cpi.client import MANUAL
from tests.release.conftest import RENDER
from tests.release.test_packaging import FIXTURES, call, install_job, installation, local_properties
from tests.support.agent_client import AgentClient, AgentRequestError, BlobRef, DavBlobstore, Mbus
from tests.support.mbus_cert import MbusCert, generate
from toolkit.cpiprocess import reference_image
from toolkit.sim import SimHost
from toolkit.sim.knobs import Knobs
from toolkit.sim.state import Power, SimHome, vm_key

__all__ = ["installation"]  # re-exported: pytest finds the session fixture here too

AGENT_AVAILABLE = "mbus_agent" in Knobs.__dataclass_fields__
pytestmark = [pytest.mark.real_process,
              pytest.mark.skipif(not AGENT_AVAILABLE, reason="the simulator has no mbus agent (sim.json mbus_agent)")]

VMRUN_SIM = ROOT / ".venv" / "bin" / "vmrun-sim"
PACKAGE, JOB, DEPLOYMENT = "greeter", "greeter", "tiny"
GREETING = "hello from create-env"
BLOBSTORES = [{"provider": "local", "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"}}]
PACKAGING = 'set -e\ncp greeter/greeting.txt "$BOSH_INSTALL_TARGET/"\necho "compiled $BOSH_PACKAGE_NAME" > "$BOSH_INSTALL_TARGET/compiled.txt"\n'
PRE_START = ('#!/bin/bash\nset -e\nmkdir -p /var/vcap/data/greeter\n'
             "{ echo '<%= p(\"greeter.greeting\") %>'; cat /var/vcap/packages/greeter/greeting.txt; }"
             " > /var/vcap/data/greeter/pre-start.marker\n")
POST_START = "#!/bin/bash\necho post-start > /var/vcap/data/greeter/post-start.marker\n"
DRAIN = "#!/bin/bash\necho \"$1\" > /var/vcap/data/greeter/drain.marker\necho 0\n"  # 0: stop at once
MONIT = 'check process greeter\n  with pidfile /var/vcap/sys/run/greeter/greeter.pid\n  group vcap\n'


@dataclass(frozen=True)
class Bench:
    """bin/cpi against vmrun-sim with the mbus agent on, and the CLI's view of the agent."""

    cpi: Path
    root: Path
    store: Path
    home: Path
    mbus: Mbus
    cert: MbusCert

    def __call__(self, method: str, *args: Any) -> Any:
        env = {"VMRUN_SIM_HOME": str(self.home)}
        call(self.cpi, self.root, "info", env=env)  # the CLI asks before every call
        return call(self.cpi, self.root, method, *args, env=env)

    def agent(self) -> AgentClient:
        return AgentClient(self.mbus, director_id="d", get_task_delay=0.1)


@pytest.fixture
def bench(installation: Path, tmp_path: Path) -> Iterator[Bench]:
    if not VMRUN_SIM.exists():
        pytest.skip("vmrun-sim is not installed in .venv")
    home, store, port = tmp_path / "sim", tmp_path / "store", _free_port()
    home.mkdir()
    (home / "sim.json").write_text(json.dumps({"mbus_agent": True, "boot_delay": 0}))
    password = f"mbus-Secret-{uuid.uuid4().hex[:12]}"  # call() checks this never leaks
    properties = {**local_properties(store, str(VMRUN_SIM)), "agent": {"mbus": f"https://mbus:{password}@0.0.0.0:{port}"}}
    cpi = install_job(installation, properties, tmp_path)
    cert = generate()  # the CLI's cloud_provider.mbus is https://mbus:PASSWORD@<VM IP>:PORT, checked against the CA
    yield Bench(cpi, installation, store, home, Mbus("127.0.0.1", port, "mbus", password, cert.ca), cert)
    _stop_strays(home)


def test_create_env_then_delete_env_against_the_simulated_agent(bench: Bench, tmp_path: Path) -> None:
    release = build_release(tmp_path)
    stemcell, vm = create_vm(bench, tmp_path, _env(bench.cert))
    agent = bench.agent()
    agent.wait_until_ready(timeout=60, delay=0.2)
    disk = create_and_mount_disk(bench, agent, vm)
    compiled = update_jobs(agent, DavBlobstore(bench.mbus), release)
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
    stemcell, vm = create_vm(bench, tmp_path, _env(bench.cert))
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
    env = _env(bench.cert)
    del env["bosh"]["mbus"]
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
    image = tmp_path / "image"
    image.write_bytes(reference_image(FIXTURES))
    props = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "1.1", "disk": 1024}
    stemcell = bench("create_stemcell", str(image), props)
    vm, _networks = bench("create_vm", str(uuid.uuid4()), stemcell, {"cpu": 1, "ram": 512, "disk": 1024},
                          MANUAL, [], env)
    bench("set_vm_metadata", vm, {"deployment": DEPLOYMENT, "director": "bosh-init", "instance_group": JOB,
                                  "job": JOB, "index": "0", "name": f"{JOB}/0", "created_at": _now()})
    return stemcell, vm


def create_and_mount_disk(bench: Bench, agent: AgentClient, vm: str) -> str:
    """disk_deployer.go then vm.AttachDisk: the CPI attaches, the agent is told the hint and mounts."""
    disk = bench("create_disk", 1024, {}, vm)
    hint = bench("attach_disk", vm, disk)
    bench("set_disk_metadata", disk, {"deployment": DEPLOYMENT, "director": "bosh-init", "instance_group": JOB,
                                      "instance_index": "0", "name": f"{JOB}/0", "attached_at": _now()})
    agent.wait_until_ready(timeout=60, delay=0.2)  # the CPI may have rebooted the VM to attach
    assert hint is not None
    agent.add_persistent_disk(disk, hint)
    agent.mount_disk(disk)
    return str(disk)


def update_jobs(agent: AgentClient, blobs: DavBlobstore, release: TinyRelease) -> BlobRef:
    """instance.UpdateJobs; returns the compiled package's blob."""
    initial = apply_spec(packages={}, jobs=[], archive={"blobstore_id": "", "sha1": ""})
    agent.apply(initial)  # makes the agent load its networking details
    assert "networks" in agent.get_state()
    archive_id = blobs.add(release.rendered_jobs)  # state builder: render first ...
    source_id = blobs.add(release.package)  # ... then compile each package
    source = BlobRef(PACKAGE, release.package_version, _sha1(release.package), source_id)
    compiled = agent.compile_package(source, [])
    full = apply_spec(packages={PACKAGE: compiled.to_json()},
                      jobs=[{"name": JOB, "version": release.job_version, "sha1": "", "blobstore_id": ""}],
                      archive={"blobstore_id": archive_id, "sha1": _sha1(release.rendered_jobs)})
    agent.stop()
    agent.apply(full)
    agent.run_script("pre-start", {})
    agent.start()
    assert agent.wait_to_be_running(max_attempts=30, delay=0.2)["job_state"] == "running"
    agent.run_script("post-start", {})
    return compiled


def apply_spec(packages: dict[str, Any], jobs: list[dict[str, str]], archive: dict[str, str]) -> dict[str, Any]:
    """state.ToApplySpec: what the CLI applies (applyspec.ApplySpec's JSON)."""
    return {"deployment": DEPLOYMENT, "name": JOB, "index": 0, "id": "0", "az": "unknown", "packages": packages,
            "networks": {"default": MANUAL["default"]}, "job": {"name": JOB, "templates": jobs},
            "rendered_templates_archive": archive, "configuration_hash": "unused-configuration-hash"}


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
    listed = subprocess.run([str(VMRUN_SIM), "list"], env={**os.environ, "VMRUN_SIM_HOME": str(bench.home)},
                            capture_output=True, text=True, timeout=60, check=True)
    assert listed.stdout.splitlines()[0] == "Total running VMs: 0"
    assert _refused(bench.mbus.port)
    assert _processes_mentioning(bench.home) == []


@dataclass(frozen=True)
class TinyRelease:
    """A package archive as in a release tarball and the rendered jobs archive the CLI uploads."""

    package: Path
    package_version: str
    job_version: str
    rendered_jobs: Path


def build_release(tmp_path: Path) -> TinyRelease:
    package = tmp_path / f"{PACKAGE}.tgz"
    files = {"packaging": (PACKAGING, 0o644), "greeter/greeting.txt": ("greetings, compiled in the guest\n", 0o644)}
    package.write_bytes(_tgz(files))
    templates = {"bin/pre-start": PRE_START, "bin/post-start": POST_START, "bin/drain": DRAIN}
    rendered = {f"./{JOB}/{dst}": (_render(text, tmp_path), 0o755) for dst, text in templates.items()}
    rendered[f"./{JOB}/monit"] = (MONIT, 0o644)
    jobs = tmp_path / "rendered-jobs.tgz"
    jobs.write_bytes(_tgz(rendered))
    return TinyRelease(package, _fingerprint(files), _fingerprint({**templates, "monit": MONIT}), jobs)


def _render(template: str, tmp_path: Path) -> str:
    """One job template through the same ERB evaluation the vmrun_cpi job's templates get."""
    source, props = tmp_path / "template.erb", tmp_path / "props.json"
    source.write_text(template)
    props.write_text(json.dumps({"greeter": {"greeting": GREETING}}))
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (.ci/run installs it)")
    done = subprocess.run([ruby, str(RENDER), str(source), str(props)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _tgz(files: dict[str, tuple[str, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (text, mode) in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fingerprint(files: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(files, sort_keys=True).encode()).hexdigest()


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


def _env(cert: MbusCert) -> dict[str, Any]:
    """bosh-deployment bosh.yml's resource pool env, as the CLI passes it to create_vm."""
    return {"bosh": {"mbus": {"cert": cert.env_cert()}, "blobstores": BLOBSTORES, "password": "*"}}


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
