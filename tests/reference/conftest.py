"""The Go reference CPI (bosh-vmrun-cpi-release 3.1.0), unchanged, as a client of ``vmrun-sim``/``ovftool-sim``.

It was written and tested by others against real Workstation, Fusion and
Player, so whatever it does there the simulator must accept. The executable is
found through ``VMRUN_CPI_REFERENCE`` (``.ci/run`` sets it when
``../shared/tools/vmrun-cpi-reference/cpi`` exists); it is a Linux x86-64
binary, so elsewhere these tests are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.versus import reference_config
from vmtk_sim import AgentStatus, Product, SimHost

REFERENCE = os.environ.get("VMRUN_CPI_REFERENCE", "")
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
BOOT_DELAY = 0.3
CALL_TIMEOUT = 120.0
TEST_TIMEOUT = 600
NETWORKS = {
    "default": {
        "cloud_properties": {"name": "VMnet8"},
        "default": ["dns", "gateway"],
        "dns": ["10.0.0.2"],
        "gateway": "10.0.0.1",
        "ip": "10.0.0.3",
        "netmask": "255.255.255.0",
        "type": "manual",
    }
}


def _missing() -> str | None:
    if not REFERENCE:
        return "VMRUN_CPI_REFERENCE is not set (path of the Go reference CPI; .ci/run sets it from ../shared/tools)"
    if not os.access(REFERENCE, os.X_OK):
        return f"VMRUN_CPI_REFERENCE={REFERENCE} is not an executable file"
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"the reference CPI is a Linux x86-64 binary (this is {sys.platform}/{platform.machine()})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here runs real processes, and is skipped (saying why) without the reference."""
    missing = _missing()
    for item in items:
        if Path(str(item.path)).parent == HERE:
            item.add_marker(pytest.mark.real_process)
            if item.get_closest_marker("timeout") is None:  # one Go process and several sim runs per call
                item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))
            if missing:
                item.add_marker(pytest.mark.skip(reason=missing))


@dataclass
class Answer:
    """One run of the reference: its exit code, its JSON answer (``None`` if it printed none), stderr."""

    code: int
    response: dict[str, Any] | None
    stderr: str

    @property
    def result(self) -> Any:
        assert self.code == 0 and self.response is not None, (self.code, self.stderr[-3000:])
        assert self.response["error"] is None, self.response["error"]
        return self.response["result"]


class ReferenceCpi:
    """The reference executable configured for one simulated host and VM store."""

    def __init__(self, root: Path, product: Product, *, human_names: bool = True) -> None:
        self.home, self.store, self.config = root / "sim", root / "store", root / "cpi.json"
        self.host = SimHost(self.home)
        self.host.configure(product=product, boot_delay=BOOT_DELAY)
        config = reference_config(
            self.store,
            vmrun=BIN / "vmrun-sim",
            ovftool=BIN / "ovftool-sim",
            mbus="https://mbus:mbus-password@0.0.0.0:6868",
            ntp=(),
            start_wait=30,
            soft_stop_wait=5,
            human_names=human_names,
        )
        self.config.write_text(json.dumps(config))

    def run(self, method: str, *arguments: object) -> Answer:
        request = json.dumps({"method": method, "arguments": list(arguments), "context": {"director_uuid": "d"}})
        env = {
            **os.environ,
            "VMRUN_SIM_HOME": str(self.home),
            "BOSH_LOG_LEVEL": "error",
            "TMPDIR": str(self.store.parent),
        }
        done = subprocess.run(
            [REFERENCE, "-configPath", str(self.config)],
            input=request.encode(),
            capture_output=True,
            timeout=CALL_TIMEOUT,
            env=env,
            check=False,
        )
        out = done.stdout.decode()
        return Answer(done.returncode, json.loads(out) if out.strip() else None, done.stderr.decode())

    def call(self, method: str, *arguments: object) -> Any:
        return self.run(method, *arguments).result

    def vmx(self, name: str) -> Path:
        return self.store / name / f"{name}.vmx"

    def wait_for_agent(self, name: str, deadline: float = 30.0) -> AgentStatus:
        """The simulated agent's status once the guest has booted (real clock: the executable's own)."""
        until = time.monotonic() + deadline
        while True:
            status = self.host.vm(str(self.vmx(name))).agent
            if status.status is not AgentStatus.BOOTING or time.monotonic() > until:
                assert status.status is not AgentStatus.FAILED, status.reason
                return status.status
            time.sleep(0.1)


@pytest.fixture(params=[Product.WORKSTATION, Product.FUSION, Product.PLAYER], ids=lambda p: p.value)
def product(request: pytest.FixtureRequest) -> Product:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def reference(tmp_path: Path, product: Product) -> ReferenceCpi:
    return ReferenceCpi(tmp_path, product)


@pytest.fixture
def stemcell_image() -> Path:
    """Our fixture stemcell's ``image`` (a tgz of image.ovf, image.mf, image-disk1.vmdk)."""
    return Path(__file__).resolve().parents[2] / "fixtures" / "stemcell" / "image"


def reference_fixture_image(directory: Path) -> Path:
    """The reference's own test fixtures (image.ovf, image.vmdk, image.mf) packed as a stemcell ``image``."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
    image = directory / "reference-image.tgz"
    with tarfile.open(image, "w:gz") as tar:
        for name in ("image.ovf", "image.vmdk", "image.mf"):
            tar.add(fixtures / name, arcname=name)
    return image
