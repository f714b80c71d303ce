"""The package compiled as the bosh CLI compiles it, offline, and the CPI run through bin/cpi."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from release.build import ROOT
from tests.release.conftest import call, compile_package, install_job

pytestmark = [pytest.mark.real_process, pytest.mark.slow]

FIXTURES = ROOT / "fixtures" / "reference"
MBUS = "https://mbus:mbus-Secret-58aa@0.0.0.0:6868"


def local_properties(store: Path, vmrun: str) -> dict[str, Any]:
    return {
        "vmrun": {"vm_store_path": str(store), "vmrun_bin_path": vmrun},
        "agent": {"mbus": MBUS},
        "blobstore": {"provider": "local", "path": "/var/vcap/micro_bosh/data/cache"},
    }


def test_packaging_installs_offline_into_a_venv(installation: Path) -> None:
    target = installation / "packages" / "vmrun_cpi"
    python = target / "venv" / "bin" / "python"
    probe = "import yaml, paramiko, pycdlib, filelock, cpi.__main__; print(yaml.__with_libyaml__)"
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr  # pure-Python yaml
    assert (target / "python-version").read_text().startswith("Python 3.")


def test_info_through_the_rendered_bin_cpi(installation: Path, tmp_path: Path) -> None:
    cpi = install_job(installation, local_properties(tmp_path / "store", "/usr/bin/vmrun"), tmp_path)
    assert call(cpi, installation, "info")["api_version"] == 2


def test_packaging_refuses_an_old_python_in_one_line(unpacked: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("uname", "ls", "env"):
        if shutil.which(tool):
            (fake / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    # An old python3: fails the version check, reports 3.8.10 when asked.
    (fake / "python3").write_text('#!/bin/sh\ncase "$2" in *exit*) exit 1;; esac\necho 3.8.10\n')
    (fake / "python3").chmod(0o755)
    done = compile_package(unpacked, tmp_path, {"PATH": str(fake)})
    assert done.returncode == 1
    messages = [line for line in done.stderr.splitlines() if line.startswith("vmrun_cpi:")]
    assert messages == ["vmrun_cpi: needs python3 >= 3.10 (with its venv module) on PATH, found python3: 3.8.10"]
    assert not (tmp_path / "packages" / "vmrun_cpi" / "venv").exists()


def _stemcell_image(tmp_path: Path) -> Path:
    """A vSphere stemcell's ``image``: VMware's OVF and streamOptimized VMDK, and a manifest
    of their SHA1s (the reference's image.mf fixture names other files)."""
    names = ("image.ovf", "image.vmdk")
    digests = "".join(f"SHA1({n})= {hashlib.sha1((FIXTURES / n).read_bytes()).hexdigest()}\n" for n in names)
    (tmp_path / "image.mf").write_text(digests)
    image = tmp_path / "image"
    with tarfile.open(image, "w:gz") as tar:
        for name in names:
            tar.add(FIXTURES / name, arcname=name)
        tar.add(tmp_path / "image.mf", arcname="image.mf")
    return image


@pytest.fixture
def sim(installation: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """bin/cpi configured for ``vmrun-sim``: (bin/cpi, vm store, environment)."""
    from vmtk_sim import SimHost

    vmrun_sim = ROOT / ".venv" / "bin" / "vmrun-sim"
    if not vmrun_sim.exists():
        pytest.skip("vmrun-sim is not installed in .venv")
    SimHost(tmp_path / "sim").configure(boot_delay=0)
    store = tmp_path / "store"
    cpi = install_job(installation, local_properties(store, str(vmrun_sim)), tmp_path)
    return cpi, store, {"VMRUN_SIM_HOME": str(tmp_path / "sim")}


def lifecycle(installation: Path, sim: tuple[Path, Path, dict[str, str]], stemcell: str) -> None:
    from tests.cpi.conftest import ENV, MANUAL
    from vmtk_sim import SimHost

    cpi, store, env = sim
    vm, _networks = call(cpi, installation, "create_vm", "agent-1", stemcell, {"disk": 128}, MANUAL, [], ENV, env=env)
    host = SimHost(Path(env["VMRUN_SIM_HOME"]))
    assert host.vm(str(store / f"vm-{vm}" / f"vm-{vm}.vmx")).agent.status.value == "running"
    disk = call(cpi, installation, "create_disk", 512, {}, vm, env=env)
    assert call(cpi, installation, "attach_disk", vm, disk, env=env)
    call(cpi, installation, "delete_vm", vm, env=env)
    call(cpi, installation, "delete_disk", disk, env=env)
    call(cpi, installation, "delete_stemcell", stemcell, env=env)
    assert not [p.name for p in store.iterdir() if p.name.startswith(("vm-", "cs-"))]


def test_lifecycle_through_bin_cpi_against_vmrun_sim(
    installation: Path, sim: tuple[Path, Path, dict[str, str]]
) -> None:
    from tests.cpi.conftest import STEMCELL_CDROM
    from vmtk_sim import SimHost

    _cpi, store, env = sim
    stemcell = "5a5a5a5a-0000-4000-8000-0000000000aa"  # a stemcell template already imported
    template = SimHost(Path(env["VMRUN_SIM_HOME"])).make_vm(str(store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx"))
    with open(template, "a", encoding="utf-8") as handle:
        handle.write(STEMCELL_CDROM)
    lifecycle(installation, sim, stemcell)


def test_create_stemcell_then_lifecycle_through_bin_cpi(
    installation: Path, sim: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    pytest.importorskip("toolkit.formats.stemcell", reason="create_stemcell needs the stemcell importer")
    cpi, _store, env = sim
    props = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "1.1", "disk": 1024}
    stemcell = call(cpi, installation, "create_stemcell", str(_stemcell_image(tmp_path)), props, env=env)
    lifecycle(installation, sim, stemcell)


def test_bin_cpi_appends_stderr_to_the_job_log_when_its_directory_exists(installation: Path, tmp_path: Path) -> None:
    cpi = install_job(installation, local_properties(tmp_path / "store", "/usr/bin/vmrun"), tmp_path)
    log_dir = tmp_path / "sys-log"  # stands in for /var/vcap/sys/log/vmrun_cpi
    log_dir.mkdir()
    cpi.write_text(cpi.read_text().replace("log_dir=/var/vcap/sys/log/vmrun_cpi", f"log_dir={log_dir}"))
    request = json.dumps({"method": "info", "arguments": [], "context": {"director_uuid": "d"}})
    env = {
        "PATH": "/usr/bin:/bin",
        "BOSH_PACKAGES_DIR": str(installation / "packages"),
        "BOSH_JOBS_DIR": str(installation / "jobs"),
    }
    done = subprocess.run([str(cpi)], input=request, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout)["result"]["api_version"] == 2
    logged = (log_dir / "cpi.stderr.log").read_text()
    assert "info" in logged and logged.strip() and done.stderr.strip()
