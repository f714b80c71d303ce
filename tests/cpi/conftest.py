"""A CPI driven through its JSON layer against the in-process VMware host simulator.

``make_cpi``/``cpi`` always use the simulator. ``make_host_cpi`` is parametrised
over the simulator, the simulator reached over SSH (skipped without sshd or
paramiko), the ``bosh-vmrun-cpi`` executable over ``vmrun-sim`` processes and,
when configured, a real VMware host (``tests/cpi/hosts.py``
documents all four and the ``VMTK_REAL_*`` variables); tests using
simulator-only powers carry ``@pytest.mark.needs_sim(reason)`` and are skipped
on the real host (over SSH the simulator has them all). Tests marked
``@pytest.mark.not_remote(reason)`` are skipped over SSH, where every vmrun run
is an SSH exec of a fresh vmrun-sim: the reason names the test that covers the
same path over SSH, so every CPI method still runs there. Likewise tests
marked ``@pytest.mark.not_spawned(reason)`` are skipped on the exe variant,
where every request is a ``bosh-vmrun-cpi`` process of its own: the reason
names the test that covers the same path through the executable.

Marker names never contain a variant's id (``sim``, ``ssh``, ``exe``,
``real``), because ``-k`` matches marker names too: ``-k "not exe"`` must not
drop a test for carrying some marker. That is also why the exe variant gets
its ``real_process`` mark only after ``-k``/``-m`` selection (see
``pytest_collection_modifyitems``): ``-k real`` keeps meaning the real host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cpi.client import ENV, MANUAL, MBUS, STEMCELL_CDROM, Cpi, make_config
from tests.cpi.hosts import (
    EXE_MISSING,
    NOT_CONFIGURED,
    RealSettings,
    exe_cpi,
    exe_installed,
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
    config.pluginmanager.register(_SlowVariants(), "vmtk-slow-variants")
    config.addinivalue_line(
        "markers", "needs_sim(reason): uses simulator-only powers; skipped on a real VMware host, with the reason"
    )
    config.addinivalue_line(
        "markers",
        "not_remote(reason): skipped on the ssh host variant (a remote host), the reason naming what covers it there",
    )
    config.addinivalue_line(
        "markers",
        "not_spawned(reason): skipped on the exe host variant (a CPI process per request),"
        " the reason naming what covers it there",
    )


@pytest.hookimpl(trylast=True)  # after -k/-m selection
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The exe variant is real_process: it starts bosh-vmrun-cpi, which starts vmrun-sim.

    Not a ``pytest.param`` mark, nor added before selection: ``-k`` matches
    every marker name, so ``-k real`` (the real-host variant, as README says)
    would select the exe variant too. The price: ``-m real_process`` does not
    select it; ``-k exe`` does.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("vmware_host") == "exe":
            item.add_marker(pytest.mark.real_process)


class _SlowVariants:
    """Over SSH and through the executable every call costs processes: those variants are slow.

    Marked before ``-m`` selection (``make test-fast`` runs ``-m "not slow"``);
    the marker's name contains no variant id, so ``-k`` is not affected.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and callspec.params.get("vmware_host") in ("ssh", "exe"):
                item.add_marker(pytest.mark.slow)


REAL_HOST = pytest.param(
    "real",
    id="real",
    marks=[
        pytest.mark.real_vmrun,
        pytest.mark.real_process,
        pytest.mark.skipif(RealSettings.from_env() is None, reason=NOT_CONFIGURED),
    ],
)


# Not real_process, on purpose: sshd runs vmrun-sim, this process spawns nothing (the
# sshd fixture starts its server itself), so a vmrun run that missed SSH fails loudly.
SSH_HOST = pytest.param("ssh", id="ssh")
EXE_HOST = pytest.param("exe", id="exe", marks=[pytest.mark.skipif(not exe_installed(), reason=EXE_MISSING)])


@pytest.fixture(params=[pytest.param("sim", id="sim"), SSH_HOST, EXE_HOST, REAL_HOST])
def vmware_host(request: pytest.FixtureRequest) -> str:
    """Which host this run of the test uses; needs_sim skips the real one, not_remote ssh, not_spawned exe."""
    needs_sim = request.node.get_closest_marker("needs_sim")
    if request.param == "real" and needs_sim is not None:
        pytest.skip(f"simulator only: {needs_sim.args[0] if needs_sim.args else 'simulator powers'}")
    not_remote = request.node.get_closest_marker("not_remote")
    if request.param == "ssh" and not_remote is not None:
        pytest.skip(f"not over SSH: {not_remote.args[0] if not_remote.args else 'covered elsewhere'}")
    not_spawned = request.node.get_closest_marker("not_spawned")
    if request.param == "exe" and not_spawned is not None:
        pytest.skip(f"not through the executable: {not_spawned.args[0] if not_spawned.args else 'covered elsewhere'}")
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
    if vmware_host == "exe":
        assert request.node.get_closest_marker("real_process") is not None, "pytest_collection_modifyitems missed it"
        yield lambda **vmrun: exe_cpi(tmp_path, **vmrun)
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
