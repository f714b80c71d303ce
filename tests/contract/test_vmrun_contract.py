"""The same vmrun expectations against the simulator and, when configured, a real vmrun.

Real runs need ``VMTK_REAL_VMRUN`` (path to vmrun) and ``VMTK_REAL_VMX`` (a
disposable, powered-off VM); guest checks also need ``VMTK_REAL_GUEST_USER`` and
``VMTK_REAL_GUEST_PASSWORD``; ``VMTK_REAL_HOST_TYPE`` defaults to ``ws``. Only
behaviour both can show is asserted: if the simulator passes and real vmrun
does not, the simulator is wrong.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolkit.host.clock import FakeClock, SystemClock, wait_until
from toolkit.host.runner import Completed, LocalRunner, Runner
from vmtk_sim import SimHost

REAL_VMRUN = os.environ.get("VMTK_REAL_VMRUN", "")
REAL_VMX = os.environ.get("VMTK_REAL_VMX", "")
TOOLS_TIMEOUT = 300.0


@dataclass
class Backend:
    runner: Runner
    binary: str
    vmx: str
    host_type: str
    credentials: tuple[str, str] | None
    wait_for_tools: Callable[[], None]

    def vmrun(self, *args: str, timeout: float = 300.0) -> Completed:
        return self.runner.run([self.binary, "-T", self.host_type, *args], timeout=timeout)

    def guest(self, *args: str, timeout: float = 300.0) -> Completed:
        assert self.credentials is not None
        user, password = self.credentials
        return self.vmrun("-gu", user, "-gp", password, *args, timeout=timeout)

    def running(self) -> list[str]:
        lines = self.vmrun("list").stdout.replace("\r\n", "\n").splitlines()
        return [_norm(line) for line in lines[1:] if line.strip()]


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path)) if os.path.exists(path) else posixpath.normpath(path)


def _simulated(tmp_path: Path) -> Backend:
    clock = FakeClock()
    host = SimHost(tmp_path / "sim-home", clock=clock)
    host.configure(boot_delay=20.0)
    vmx = host.make_vm(str(tmp_path / "vms" / "contract" / "contract.vmx"))
    return Backend(host.runner(), "vmrun-sim", vmx, "ws", ("vcap", "c1oudc0w"), lambda: clock.advance(20.0))


def _real() -> Backend:
    user, password = os.environ.get("VMTK_REAL_GUEST_USER"), os.environ.get("VMTK_REAL_GUEST_PASSWORD")
    runner = LocalRunner()
    host_type = os.environ.get("VMTK_REAL_HOST_TYPE", "ws")

    def wait() -> None:
        def probe() -> bool:
            answer = runner.run([REAL_VMRUN, "-T", host_type, "checkToolsState", REAL_VMX], timeout=60)
            return answer.stdout.strip() == "running"

        wait_until(probe, what="VMware Tools", timeout=TOOLS_TIMEOUT, clock=SystemClock(), interval=2.0)

    creds = (user, password) if user is not None and password is not None else None
    return Backend(runner, REAL_VMRUN, REAL_VMX, host_type, creds, wait)


@pytest.fixture(
    params=[
        "sim",
        pytest.param(
            "real",
            marks=[
                pytest.mark.real_vmrun,
                pytest.mark.real_process,
                pytest.mark.skipif(not (REAL_VMRUN and REAL_VMX), reason="VMTK_REAL_VMRUN/VMTK_REAL_VMX not set"),
            ],
        ),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    chosen = _simulated(tmp_path) if request.param == "sim" else _real()
    yield chosen
    if _norm(chosen.vmx) in chosen.running():
        chosen.vmrun("stop", chosen.vmx, "hard")


def test_tools_state_of_a_powered_off_vm_is_unknown(backend: Backend) -> None:
    answer = backend.vmrun("checkToolsState", backend.vmx)
    assert answer.stdout.strip() == "unknown"
    assert answer.exit_code != 0


def test_stopping_a_powered_off_vm_names_it_in_the_error(backend: Backend) -> None:
    answer = backend.vmrun("stop", backend.vmx, "hard")
    assert answer.exit_code != 0
    assert answer.stdout.strip() == f"Error: The virtual machine is not powered on: {backend.vmx}"


def test_start_list_tools_and_hard_stop(backend: Backend) -> None:
    started = backend.vmrun("start", backend.vmx, "nogui")
    assert (started.exit_code, started.stdout.strip()) == (0, "")
    assert _norm(backend.vmx) in backend.running()
    backend.wait_for_tools()
    tools = backend.vmrun("checkToolsState", backend.vmx)
    assert (tools.exit_code, tools.stdout.strip()) == (0, "running")
    assert backend.vmrun("stop", backend.vmx, "hard").exit_code == 0
    assert _norm(backend.vmx) not in backend.running()


@pytest.mark.real_process  # guest programs really run, in the simulator's sandbox too
def test_guest_copy_in_run_and_copy_out(backend: Backend, tmp_path: Path) -> None:
    if backend.credentials is None:
        pytest.skip("VMTK_REAL_GUEST_USER/VMTK_REAL_GUEST_PASSWORD not set")
    if backend.binary == "vmrun-sim":
        from vmtk_sim import sandbox

        if sandbox.unavailable() is not None:
            pytest.skip("no bubblewrap sandbox for guest programs")
    backend.vmrun("start", backend.vmx, "nogui")
    backend.wait_for_tools()
    source = tmp_path / "payload.txt"
    source.write_text("contract\n")
    assert backend.guest("CopyFileFromHostToGuest", backend.vmx, str(source), "/tmp/payload.txt").exit_code == 0
    copied = backend.guest("runProgramInGuest", backend.vmx, "/bin/sh", "-c", "cp /tmp/payload.txt /tmp/echo.txt")
    assert copied.exit_code == 0
    failed = backend.guest("runProgramInGuest", backend.vmx, "/bin/sh", "-c", "exit 3")
    assert failed.exit_code != 0
    assert failed.stdout.strip() == "Guest program exited with non-zero exit code: 3"
    back = tmp_path / "back.txt"
    assert backend.guest("CopyFileFromGuestToHost", backend.vmx, "/tmp/echo.txt", str(back)).exit_code == 0
    assert back.read_text() == "contract\n"
