"""Every Runner implementation offers exactly the Runner protocol's methods and parameters.

A caller written against ``Runner`` must work unchanged with the local, SSH and
simulated runners; a parameter missing from one of them would only fail at run
time on that host.
"""

from __future__ import annotations

import inspect

import pytest

from toolkit.host.runner import LocalRunner, Runner
from toolkit.host.ssh.runner import SshRunner
from vmtk_sim.host import SimRunner

METHODS = sorted(name for name, member in vars(Runner).items() if callable(member) and not name.startswith("_"))


def _parameters(cls: type, name: str) -> list[tuple[str, object]]:
    signature = inspect.signature(getattr(cls, name))
    return [(p.name, p.kind) for p in signature.parameters.values()]


@pytest.mark.parametrize("implementation", [LocalRunner, SshRunner, SimRunner])
@pytest.mark.parametrize("method", METHODS)
def test_implementation_matches_the_protocol(implementation: type, method: str) -> None:
    assert _parameters(implementation, method) == _parameters(Runner, method)


@pytest.mark.parametrize("implementation", [LocalRunner, SshRunner, SimRunner])
def test_implementation_has_the_path_flavour(implementation: type) -> None:
    assert isinstance(inspect.getattr_static(implementation, "path"), property)


def test_the_protocol_covers_programs_and_files() -> None:
    assert {"run", "read_bytes", "write_bytes", "open_read", "open_write", "lock", "rename"} <= set(METHODS)


class _Recorder:
    """A stand-in host that only records how vmrun was asked to run."""

    path = __import__("posixpath")

    def __init__(self) -> None:
        self.detached: list[tuple[str, bool]] = []

    def absolute(self, path: str) -> str:
        return path

    def run(self, argv, *, timeout, stdin=None, on_output=None, detach=False):  # type: ignore[no-untyped-def]
        from toolkit.host.runner import Completed

        verb = next(a for a in argv[3:] if not a.startswith("-"))
        self.detached.append((verb, detach))
        return Completed(tuple(argv), 0, "Total running VMs: 0\n" if verb == "list" else "", "")


def test_vmrun_asks_only_start_to_outlive_the_session() -> None:
    from toolkit.host.clock import FakeClock
    from toolkit.vmware.vmrun import HostType, StopMode, Vmrun

    host = _Recorder()
    vmrun = Vmrun(host, binary="vmrun", host_type=HostType.WORKSTATION, clock=FakeClock())  # type: ignore[arg-type]
    vmrun.start("/v/a.vmx")
    vmrun.stop("/v/a.vmx", StopMode.HARD)
    vmrun.list_running()
    assert host.detached == [("start", True), ("stop", False), ("list", False)]
