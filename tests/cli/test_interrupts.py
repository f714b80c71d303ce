"""Ctrl-C and SIGTERM during ``vmtk`` commands: stopped, undone, one line, 130 or 143.

In process, ``InterruptingRunner`` interrupts a command at each of its host
operations in turn (before it, and just after it): whatever the point, the
command ends with ``Interrupted`` and leaves nothing half-made (no temporary
file, no partial VM, disk or image, no guest program still running). Out of
process, real signals reach the installed ``vmtk`` mid-wait or mid-program: it
prints ``Error: interrupted by SIGINT`` (or SIGTERM) and nothing else, and exits
130 (143).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.conftest import SIM_PASSWORD, SIM_USER
from tests.support.interrupting import InterruptingRunner
from toolkit.host.interrupts import Interrupted
from vmtk_cli.app import App, Settings
from vmtk_cli.main import cli
from vmtk_sim import SimHost
from vmtk_sim.state import Power

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
IMAGE = FIXTURES / "stemcell" / "image"
BIN = Path(sys.executable).parent
MAX_POINTS = 300

Command = Callable[[Path, str], list[str]]  # (work dir, a stopped VM's .vmx) -> vmtk arguments


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "sim-home" not in p.parts}


def _every_point(sim: SimHost, tmp_path: Path, args: list[str], check: Callable[[], None]) -> int:
    """Run ``vmtk ARGS`` interrupted at each host operation; ``check`` after each. How many were interrupted."""
    interrupted = 0
    for at in range(1, MAX_POINTS):
        for before in (True, False):
            runner = InterruptingRunner(sim.runner(), at=at, before=before)
            app = App(
                runner=runner,
                clock=sim.clock,
                settings=Settings(vmrun="vmrun-sim", guest_user=SIM_USER),
                environ={"VMTK_GUEST_PASSWORD": SIM_PASSWORD},
            )
            result = CliRunner().invoke(cli, args, obj=app)
            if runner.fired:
                assert isinstance(result.exception, Interrupted), (at, before, result.stderr, result.exception)
                interrupted += 1
            else:
                assert result.exit_code == 0, (result.stderr, result.exception)
            check()
        if not runner.fired:
            return interrupted
    raise AssertionError("the command never ran to its end")


def _no_temp_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.tmp-*"))


def test_writes_are_whole_or_absent_at_every_point(sim: SimHost, tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"agent_id": "a1"}')
    commands = [
        (["iso", "build", str(tmp_path / "settings.json"), str(tmp_path / "env.iso")], tmp_path / "env.iso"),
        (["disk", "create", str(tmp_path / "d.vmdk"), "--size-mb", "64"], tmp_path / "d.vmdk"),
    ]
    for args, output in commands:

        def check(output: Path = output) -> None:
            assert _no_temp_files(tmp_path) == []
            output.unlink(missing_ok=True)  # whole (the command finished) or absent

        assert _every_point(sim, tmp_path, args, check) >= 1


def test_a_vmx_edit_is_whole_or_not_made_at_every_point(sim: SimHost, vmx: str, tmp_path: Path) -> None:
    original = Path(vmx).read_bytes()

    def check() -> None:
        assert _no_temp_files(tmp_path) == []
        data = Path(vmx).read_bytes()
        assert data == original or b'memsize = "1024"' in data
        Path(vmx).write_bytes(original)

    assert _every_point(sim, tmp_path, ["vmx", "set", vmx, "memsize", "1024"], check) >= 1


def test_an_interrupted_stemcell_import_leaves_no_vm(sim: SimHost, tmp_path: Path) -> None:
    dest = tmp_path / "vms" / "p"
    dest.parent.mkdir()

    def check() -> None:
        assert _no_temp_files(tmp_path) == []
        if dest.exists():  # the import finished: whole, then removed for the next point
            assert sorted(p.name for p in dest.iterdir()) == ["p-disk1.vmdk", "p.vmx"]
            for child in dest.iterdir():
                child.unlink()
            dest.rmdir()
        assert list(dest.parent.iterdir()) == []

    assert _every_point(sim, tmp_path, ["stemcell", "import", str(IMAGE), str(dest)], check) >= 3


def test_an_interrupted_forced_import_keeps_the_old_vm_or_puts_the_new_one(sim: SimHost, tmp_path: Path) -> None:
    dest = tmp_path / "vms" / "p"
    dest.mkdir(parents=True)
    (dest / "p.vmx").write_text('.encoding = "UTF-8"\ndisplayName = "old"\n')

    def check() -> None:
        assert _no_temp_files(tmp_path) == []
        assert sorted(p.name for p in (tmp_path / "vms").iterdir()) == ["p"]  # no staging or replaced dir left
        names = sorted(p.name for p in dest.iterdir())
        assert names in (["p.vmx"], ["p-disk1.vmdk", "p.vmx"]), names
        if names != ["p.vmx"]:
            (dest / "p-disk1.vmdk").unlink()
            (dest / "p.vmx").write_text('.encoding = "UTF-8"\ndisplayName = "old"\n')

    assert _every_point(sim, tmp_path, ["stemcell", "import", str(IMAGE), str(dest), "--force"], check) >= 3


def test_an_interrupted_clone_leaves_no_directory_without_its_vmx(sim: SimHost, vmx: str, tmp_path: Path) -> None:
    clones = tmp_path / "clones"
    clones.mkdir()

    def check() -> None:
        # A clone cut short is VMware's to finish or not; a folder without its .vmx must not stay.
        assert all((d / "c.vmx").exists() for d in clones.iterdir()), list(clones.rglob("*"))
        for directory in list(clones.iterdir()):
            directory.rename(tmp_path / f"done-{len(list(tmp_path.iterdir()))}")

    _every_point(sim, tmp_path, ["vm", "clone", vmx, str(clones / "c" / "c.vmx")], check)


# --- real signals to the installed command --------------------------------------------------------


def _vmtk(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMTK_")}
    env.update(
        {
            "VMRUN_SIM_HOME": str(home),
            "VMTK_VMRUN": str(BIN / "vmrun-sim"),
            "VMTK_GUEST_USER": SIM_USER,
            "VMTK_GUEST_PASSWORD": SIM_PASSWORD,
            "VMTK_PROGRESS_INTERVAL": "0.2",
        }
    )
    return subprocess.Popen(
        [str(BIN / "vmtk"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _signal_when(proc: subprocess.Popen[str], needle: str, sig: int, *, group: bool) -> tuple[int, str, str]:
    """Send ``sig`` once stderr shows ``needle`` (a progress line: the command is waiting); its end."""
    assert proc.stderr is not None and proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while needle not in seen:
        line = proc.stderr.readline()
        assert line and time.monotonic() < deadline, f"never saw {needle!r}: {seen!r}"
        seen += line
    (os.killpg if group else os.kill)(proc.pid, sig)
    with proc.stdout, proc.stderr:
        out, rest = proc.stdout.read(), proc.stderr.read()
    return proc.wait(timeout=60), out, rest


SIGNALS = pytest.mark.parametrize(
    ("sig", "group"), [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["SIGINT-group", "SIGTERM"]
)


def _interrupted(code: int, rest: str, sig: int) -> None:
    assert code == 128 + sig
    assert rest.strip().splitlines()[-1:] == [f"Error: interrupted by {signal.Signals(sig).name}"], rest
    assert "Traceback" not in rest and "Aborted" not in rest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "sim-home"
    SimHost(path).configure(boot_delay=0)
    return path


@pytest.mark.real_process
@SIGNALS
def test_a_guest_program_is_killed_when_guest_run_is_interrupted(
    home: Path, tmp_path: Path, sig: int, group: bool
) -> None:
    sim = SimHost(home)
    vmx = sim.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    assert (
        subprocess.run(
            [str(BIN / "vmrun-sim"), "start", vmx], env={**os.environ, "VMRUN_SIM_HOME": str(home)}, capture_output=True
        ).returncode
        == 0
    )
    proc = _vmtk("guest", "run", vmx, "/bin/sh", "-c", "echo started >&2; exec sleep 60", home=home)
    code, out, rest = _signal_when(proc, "started", sig, group=group)
    _interrupted(code, rest, sig)
    listed = subprocess.run(
        [str(BIN / "vmrun-sim"), "-gu", SIM_USER, "-gp", SIM_PASSWORD, "listProcessesInGuest", vmx],
        env={**os.environ, "VMRUN_SIM_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0 and "sleep" not in listed.stdout and "run-captured" not in listed.stdout


@pytest.mark.real_process
@SIGNALS
def test_a_vm_powered_on_by_an_interrupted_bootstrap_is_powered_off(
    home: Path, tmp_path: Path, sig: int, group: bool
) -> None:
    sim = SimHost(home)
    sim.configure(boot_delay=30)  # Tools never come while the test waits
    vmx = sim.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    script = tmp_path / "s.sh"
    script.write_text("echo hi\n")
    proc = _vmtk("bootstrap", vmx, "--script", str(script), home=home)
    code, out, rest = _signal_when(proc, "Waiting for VMware Tools", sig, group=group)
    _interrupted(code, rest, sig)
    assert SimHost(home).vm(vmx).power is Power.OFF


@pytest.mark.real_process
@SIGNALS
def test_an_interrupted_vm_start_powers_the_vm_off_again(home: Path, tmp_path: Path, sig: int, group: bool) -> None:
    sim = SimHost(home)
    sim.configure(latency={"start": 30.0})
    vmx = sim.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    proc = _vmtk("vm", "start", vmx, home=home)
    code, out, rest = _signal_when(proc, "Starting", sig, group=group)
    _interrupted(code, rest, sig)
    assert SimHost(home).vm(vmx).power is Power.OFF


@pytest.mark.real_process
@SIGNALS
def test_an_interrupted_guest_wait_stops_at_once(home: Path, tmp_path: Path, sig: int, group: bool) -> None:
    sim = SimHost(home)
    sim.configure(boot_delay=60)
    vmx = sim.make_vm(str(tmp_path / "vms" / "a" / "a.vmx"))
    env = {**os.environ, "VMRUN_SIM_HOME": str(home)}
    subprocess.run([str(BIN / "vmrun-sim"), "start", vmx], env=env, check=True, capture_output=True)
    proc = _vmtk("guest", "wait", vmx, home=home)
    code, out, rest = _signal_when(proc, "Waiting for VMware Tools", sig, group=group)
    _interrupted(code, rest, sig)


def _session_processes(sid: int) -> list[str]:
    """Processes still alive in session ``sid`` (Linux /proc): what an interrupted command left running."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return found


@pytest.mark.real_process
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads sessions from Linux /proc")
@SIGNALS
def test_an_interrupted_demo_removes_its_workspace_and_leaves_no_process(tmp_path: Path, sig: int, group: bool) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMTK_")}
    proc = subprocess.Popen(
        [str(BIN / "vmtk"), "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # "vmtk demo: ... in /tmp/vmtk-demo-xxxx"
    workspace = Path(first.rsplit(" in ", 1)[1].strip())
    while (line := proc.stdout.readline()) and "create_stemcell" not in line:
        pass
    (os.killpg if group else os.kill)(proc.pid, sig)
    with proc.stdout, proc.stderr:
        proc.stdout.read()
        rest = proc.stderr.read()
    _interrupted(proc.wait(timeout=120), rest, sig)
    assert not workspace.exists()
    assert _session_processes(proc.pid) == []


def test_an_interrupted_disk_resize_leaves_the_old_or_the_new_disk(sim: SimHost, tmp_path: Path) -> None:
    from toolkit.formats.vmdk import create_disk, info
    from toolkit.host.runner import LocalRunner

    disk = tmp_path / "d.vmdk"
    create_disk(LocalRunner(), str(disk), 64)
    original = disk.read_bytes()

    def check() -> None:
        assert _no_temp_files(tmp_path) == []
        with disk.open("rb") as handle:
            assert info(handle).capacity_bytes in (64 << 20, 128 << 20)  # whole, old or new
        disk.write_bytes(original)

    assert _every_point(sim, tmp_path, ["disk", "resize", str(disk), "--size-mb", "128"], check) >= 1


def test_an_interrupted_store_gc_removes_whole_orphans_only(sim: SimHost, tmp_path: Path) -> None:
    store = tmp_path / "store"
    lone = store / "disks" / "disk-7d444840-9dc0-11d1-b245-5ffdce74fad2.json"
    half = store / "vm-1b4e28ba-2fa1-11d2-883f-0016d3cca427"

    def make() -> None:
        lone.parent.mkdir(parents=True, exist_ok=True)
        lone.write_text("{}")
        half.mkdir(exist_ok=True)
        (half / "env.json").write_text("{}")

    def check() -> None:
        assert not half.exists() or (half / "env.json").exists()  # removed whole, or not yet
        assert _no_temp_files(tmp_path) == []
        make()

    make()
    assert _every_point(sim, tmp_path, ["store", "gc", str(store), "--delete"], check) >= 1


@pytest.mark.real_process
def test_an_interrupted_copy_out_of_the_guest_leaves_no_partial_file(
    sim: SimHost, running_vmx: str, tmp_path: Path
) -> None:
    sim.clock.advance(5)
    (sim.vm(running_vmx).guest_root / "tmp" / "big").write_bytes(b"x" * 100_000)
    dest = tmp_path / "copied"

    def check() -> None:
        assert not dest.exists() or dest.read_bytes() == b"x" * 100_000
        dest.unlink(missing_ok=True)

    assert _every_point(sim, tmp_path, ["guest", "cp", f"{running_vmx}:/tmp/big", str(dest)], check) >= 1
