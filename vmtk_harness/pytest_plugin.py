"""pytest plugin ``vmtk``: throwaway VMs whose guests tests drive.

Fixtures: ``vmtk_host`` (session: the ``Lab``), ``vm`` (a booted clone of the
template, parametrisable with indirect parameters such as
``{"memory": 1024, "cpus": 2}``) and ``vm_factory`` (several VMs in one test).
Every guest operation is recorded; when a test fails the record is added to its
report as a section. Registered through the ``pytest11`` entry point; it is
inactive unless used: importing it adds options only, and the toolkit modules
are imported when a fixture is first requested. Environment variables are read
here, at the edge, and handed to ``vmtk_harness.harness`` as a ``LabConfig``. It must
not know vmrun, clones or templates (that is ``vmtk_harness.harness``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from vmtk_harness.guest import Transcript
    from vmtk_harness.harness import Lab, LabConfig, LabVm

VMRUN_ENV = "VMTK_VMRUN"
PASSWORD_ENV = "VMTK_GUEST_PASSWORD"
SIM_PASSWORD = "c1oudc0w"
SECTION = "vmtk guest operations"
KEPT_NOTE = "this test's VMs are kept for inspection (--vmtk-keep)"
# Defaults live here, not only in addoption: registered late (from a conftest, after the
# command line was parsed) the plugin still works, with these values.
DEFAULTS: dict[str, object] = {
    "vmtk_vmrun": None,
    "vmtk_template": None,
    "vmtk_guest_user": "vcap",
    "vmtk_keep": False,
    "vmtk_workdir": None,
    "vmtk_host_type": None,
    "vmtk_boot_timeout": 300.0,
}
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_TRANSCRIPTS = pytest.StashKey[list["Transcript"]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vmtk", "vmtk: throwaway VMs for tests that drive guest commands")
    group.addoption(
        "--vmtk-vmrun",
        metavar="PATH",
        default=DEFAULTS["vmtk_vmrun"],
        help=f"vmrun of a real VMware host (default: ${VMRUN_ENV}; unset: the simulator).",
    )
    group.addoption(
        "--vmtk-template",
        metavar="VMX_OR_STEMCELL",
        default=DEFAULTS["vmtk_template"],
        help="A powered-off .vmx, or a stemcell/image imported once per session "
        "(default on the simulator: the fixture stemcell).",
    )
    group.addoption(
        "--vmtk-guest-user",
        metavar="USER",
        default=DEFAULTS["vmtk_guest_user"],
        help=f"Guest user (default: vcap); the password comes from ${PASSWORD_ENV}.",
    )
    group.addoption(
        "--vmtk-keep",
        action="store_true",
        default=DEFAULTS["vmtk_keep"],
        help="Keep the VMs of failed tests for inspection.",
    )
    group.addoption(
        "--vmtk-workdir",
        metavar="DIR",
        default=DEFAULTS["vmtk_workdir"],
        help="Where clones and imported templates go (default: the session's temporary "
        "directory on the simulator, 'vmtk-pytest' beside the template otherwise).",
    )
    group.addoption(
        "--vmtk-host-type",
        choices=("ws", "fusion", "player"),
        default=DEFAULTS["vmtk_host_type"],
        help="vmrun -T value (default: detected).",
    )
    group.addoption(
        "--vmtk-boot-timeout",
        metavar="SECONDS",
        type=float,
        default=DEFAULTS["vmtk_boot_timeout"],
        help="How long to wait for VMware Tools in a new VM (default: 300).",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    transcripts = item.stash.get(_TRANSCRIPTS, [])
    if report.failed and transcripts:
        report.sections.append((f"{SECTION} ({report.when})", _render(item.config, transcripts)))
    return report


def _render(config: pytest.Config, transcripts: list[Transcript]) -> str:
    parts = [transcript.render() for transcript in transcripts]
    if option(config, "vmtk_keep"):
        parts.append(KEPT_NOTE)
    return "\n\n".join(parts)


@pytest.fixture(scope="session")
def vmtk_host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """The lab: the configured VMware host (or simulator) and its template."""
    from vmtk_harness.harness import Lab

    return Lab.open(lab_config(request.config, tmp_path_factory))


@pytest.fixture
def vm_factory(vmtk_host: Lab, request: pytest.FixtureRequest) -> Iterator[Callable[..., LabVm]]:
    """``vm_factory(memory=1024, cpus=2)``: booted VMs, all finished when the test ends."""
    from vmtk_harness.harness import VmSpec

    made: list[LabVm] = []
    transcripts = request.node.stash.setdefault(_TRANSCRIPTS, [])

    def make(**settings: object) -> LabVm:
        vm = vmtk_host.clone(VmSpec.from_params(settings), label=request.node.name)
        made.append(vm)
        transcripts.append(vm.transcript)
        vmtk_host.boot(vm)
        return vm

    yield make
    _finish_all(vmtk_host, made, failed=_failed(request.node))


@pytest.fixture
def vm(vm_factory: Callable[..., LabVm], request: pytest.FixtureRequest) -> LabVm:
    """A booted clone of the template; ``indirect`` parameters are its settings."""
    settings = getattr(request, "param", None) or {}
    return vm_factory(**settings)


def _finish_all(lab: Lab, made: list[LabVm], *, failed: bool) -> None:
    """Finish every VM even when one of them cannot be destroyed; then report the first error."""
    errors: list[Exception] = []
    for machine in made:
        try:
            lab.finish(machine, failed=failed)
        except Exception as exc:  # noqa: BLE001 - the others must still be destroyed
            errors.append(exc)
    if errors:
        raise errors[0]


def _failed(item: pytest.Item) -> bool:
    return any(report.failed for report in item.stash.get(_REPORTS, {}).values())


def lab_config(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> LabConfig:
    """The lab's settings from the options and the environment."""
    from toolkit.vmware.vmrun import HostType
    from vmtk_harness.harness import LabConfig

    vmrun = option(config, "vmtk_vmrun") or os.environ.get(VMRUN_ENV) or None
    template = option(config, "vmtk_template")
    host_type = option(config, "vmtk_host_type")
    if vmrun is not None and template is None:
        raise pytest.UsageError("--vmtk-template is required with a real vmrun")
    return LabConfig(
        workdir=_workdir(config, tmp_path_factory, vmrun, template),
        vmrun=vmrun,
        template=template,
        guest_user=option(config, "vmtk_guest_user"),
        guest_password=_password(vmrun),
        host_type=HostType(host_type) if host_type else None,
        worker=worker_id(config),
        keep_failed=option(config, "vmtk_keep"),
        boot_timeout=option(config, "vmtk_boot_timeout"),
    )


def _password(vmrun: str | None) -> str:
    # Never an option: other users of the machine can read process arguments.
    password = os.environ.get(PASSWORD_ENV)
    if password is not None:
        return password
    if vmrun is not None:
        raise pytest.UsageError(f"set {PASSWORD_ENV} to the guest password of the template")
    return SIM_PASSWORD


def _workdir(
    config: pytest.Config, tmp_path_factory: pytest.TempPathFactory, vmrun: str | None, template: str | None
) -> str:
    given = option(config, "vmtk_workdir")
    if given:
        return str(Path(given).resolve())
    if vmrun is None:
        base = tmp_path_factory.getbasetemp()
        # xdist workers' temp dirs share a parent: one simulated host for the whole run.
        return str((base.parent if worker_id(config) != "main" else base) / "vmtk")
    return _beside_template(template or "")


def _beside_template(template: str) -> str:
    """``vmtk-pytest`` next to the template's VM directory (or next to the stemcell)."""
    beside = Path(template).resolve().parent
    return str((beside.parent if template.lower().endswith(".vmx") else beside) / "vmtk-pytest")


def option(config: pytest.Config, name: str) -> Any:
    return config.getoption(name, DEFAULTS[name])


def worker_id(config: pytest.Config) -> str:
    """The pytest-xdist worker id (``gw0``...), ``main`` without xdist."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"
