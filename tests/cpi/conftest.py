"""A CPI driven through its JSON layer against the in-process VMware host simulator.

``make_cpi``/``cpi`` always use the simulator. ``make_host_cpi`` is parametrised
over the simulator, the simulator reached over SSH (skipped without sshd or
paramiko) and, when configured, a real VMware host (``tests/cpi/hosts.py``
documents all three and the ``VMTK_REAL_*`` variables); tests using
simulator-only powers carry ``@pytest.mark.needs_sim(reason)`` and are skipped
on the real host (over SSH the simulator has them all). Tests marked
``@pytest.mark.not_remote(reason)`` are skipped over SSH, where every vmrun run
is an SSH exec of a fresh vmrun-sim: the reason names the test that covers the
same path over SSH, so every CPI method still runs there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cpi.client import ENV, MANUAL, MBUS, STEMCELL_CDROM, Cpi, make_config
from tests.cpi.hosts import (
    NOT_CONFIGURED,
    RealSettings,
    real_cpi,
    real_store,
    remove_everything,
    simulated_cpi,
    ssh_cpi,
    stemcell_image,
)

# The suite's modules import these from here.
__all__ = ["ENV", "MANUAL", "MBUS", "STEMCELL_CDROM", "Cpi", "make_config"]


@pytest.fixture
def make_cpi(tmp_path: Path) -> Callable[..., Cpi]:
    def make(clock: Any = None, **vmrun: Any) -> Cpi:
        return simulated_cpi(tmp_path, clock, **vmrun)

    return make


@pytest.fixture
def cpi(make_cpi: Callable[..., Cpi]) -> Cpi:
    return make_cpi()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_sim(reason): uses simulator-only powers; skipped on a real VMware host, with the reason"
    )
    config.addinivalue_line(
        "markers", "not_remote(reason): skipped on the ssh host variant (a remote host), the reason naming what covers it there"
    )


REAL_HOST = pytest.param("real", id="real", marks=[
    pytest.mark.real_vmrun, pytest.mark.real_process,
    pytest.mark.skipif(RealSettings.from_env() is None, reason=NOT_CONFIGURED),
])


# Not real_process, on purpose: sshd runs vmrun-sim, this process spawns nothing (the
# sshd fixture starts its server itself), so a vmrun run that missed SSH fails loudly.
SSH_HOST = pytest.param("ssh", id="ssh")


@pytest.fixture(params=[pytest.param("sim", id="sim"), SSH_HOST, REAL_HOST])
def vmware_host(request: pytest.FixtureRequest) -> str:
    """Which host this run of the test uses; needs_sim skips the real one, not_remote the ssh one."""
    needs_sim = request.node.get_closest_marker("needs_sim")
    if request.param == "real" and needs_sim is not None:
        pytest.skip(f"simulator only: {needs_sim.args[0] if needs_sim.args else 'simulator powers'}")
    not_remote = request.node.get_closest_marker("not_remote")
    if request.param == "ssh" and not_remote is not None:
        pytest.skip(f"not over SSH: {not_remote.args[0] if not_remote.args else 'covered elsewhere'}")
    return str(request.param)


@pytest.fixture(scope="session")
def real_stemcell_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The real stemcell's image, unpacked once per session when a full tarball was given."""
    settings = RealSettings.from_env()
    assert settings is not None
    return stemcell_image(settings.stemcell, tmp_path_factory.mktemp("real-stemcell"))


@pytest.fixture
def make_host_cpi(vmware_host: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Cpi]]:
    """``make(**vmrun)``: a Cpi on this run's host; on a real host everything it made is deleted after."""
    if vmware_host == "ssh":
        pytest.importorskip("paramiko", reason="the ssh variant needs paramiko (the ssh extra)")
        server = request.getfixturevalue("sshd")  # tests/conftest.py: skips when no sshd is installed
        yield lambda **vmrun: ssh_cpi(tmp_path, server, **vmrun)
        return
    settings = RealSettings.from_env()
    if vmware_host == "sim" or settings is None:
        yield lambda **vmrun: simulated_cpi(tmp_path, **vmrun)
        return
    image = request.getfixturevalue("real_stemcell_image")
    made: list[Cpi] = []

    def make(**vmrun: Any) -> Cpi:
        made.append(real_cpi(settings, image, real_store(settings, tmp_path), **vmrun))
        return made[-1]

    yield make
    for cpi in made:
        remove_everything(cpi)
