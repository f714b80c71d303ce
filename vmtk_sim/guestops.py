"""Guest verbs of the simulated vmrun: files, directories, processes, IP, variables.

Every guest verb first passes the gate real vmrun applies, in its order: powered
on, not paused, Tools running, then guest credentials. File work happens outside
the state lock, on the VM's guest root (``guestfs.py``). Guest programs are in
``programs.py``.
"""

from __future__ import annotations

import secrets
import shutil
import signal
from pathlib import Path

from toolkit.errors import VmrunError
from vmtk_sim import guestfs, sandbox
from vmtk_sim import messages as msg
from vmtk_sim.agent import AGENT_COMMAND
from vmtk_sim.context import Call, Reply, running_vm
from vmtk_sim.state import GuestProc, HostState, Power, VmRecord

BOOT_PROCESSES = (
    GuestProc(1, "root", "/sbin/init"),
    GuestProc(2, "root", "kthreadd"),
    GuestProc(3, "root", "rcu_gp"),
    GuestProc(9, "root", "ksoftirqd/0"),
    GuestProc(412, "root", "/lib/systemd/systemd-journald"),
    GuestProc(598, "root", "/usr/sbin/sshd -D"),
    GuestProc(611, "root", "/usr/bin/vmtoolsd"),
    GuestProc(640, "root", "/usr/sbin/cron -f"),
)
AGENT_PID = 812


def need(call: Call, count: int) -> tuple[str, ...]:
    """The verb's parameters, or vmrun's usage text when some are missing."""
    if len(call.inv.params) < count:
        raise VmrunError(msg.HELP, exit_code=msg.EXIT_ERROR)
    return call.inv.params


def gate(call: Call, state: HostState) -> VmRecord:
    """The VM, if a guest operation may proceed; vmrun's refusal otherwise."""
    path = call.inv.vmx
    vm = running_vm(call, state, path)
    if vm.power is Power.PAUSED:
        raise msg.refusal(msg.PAUSED, vmx=path)
    if not call.tools_running(vm):
        raise msg.refusal(msg.TOOLS_NOT_RUNNING, vmx=path)
    if call.inv.guest_user is None or call.inv.guest_password is None:
        raise msg.refusal(msg.ANONYMOUS)
    if (call.inv.guest_user, call.inv.guest_password) != (call.knobs.guest_user, call.knobs.guest_password):
        raise msg.refusal(msg.BAD_LOGIN)
    return vm


def guest_root(call: Call) -> Path:
    with call.home.transaction() as state:
        vm = gate(call, state)
    return guestfs.ensure_root(call.home.guest_root(vm.id), call.knobs.guest_user)


def copy_to_guest(call: Call) -> Reply:
    _, source, target = need(call, 3)
    root = guest_root(call)
    if not Path(source).is_file():
        raise msg.refusal(msg.FILE_NOT_FOUND)
    destination = guestfs.resolve_writable(root, target)
    if not destination.parent.is_dir() or destination.is_dir():
        raise msg.refusal(msg.FILE_NOT_FOUND)
    _copy(source, destination)
    return Reply()


def copy_from_guest(call: Call) -> Reply:
    _, source, target = need(call, 3)
    found = guestfs.resolve(guest_root(call), source)
    if not found.is_file() or not Path(target).absolute().parent.is_dir():
        raise msg.refusal(msg.FILE_NOT_FOUND)
    _copy(found, Path(target))
    return Reply()


def _copy(source: str | Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
    except PermissionError as exc:
        raise msg.refusal(msg.HOST_PERMISSION) from exc
    except OSError as exc:
        raise msg.refusal(msg.FILE_NOT_FOUND) from exc


def file_exists(call: Call) -> Reply:
    found = guestfs.resolve(guest_root(call), need(call, 2)[1])
    # The "no" answer comes with a non-zero exit too [R]; callers must read the text.
    return Reply(msg.FILE_EXISTS) if found.is_file() else Reply(msg.FILE_NOT_EXISTS, msg.EXIT_ERROR)


def directory_exists(call: Call) -> Reply:
    found = guestfs.resolve(guest_root(call), need(call, 2)[1])
    return Reply(msg.DIR_EXISTS) if found.is_dir() else Reply(msg.DIR_NOT_EXISTS, msg.EXIT_ERROR)


def create_directory(call: Call) -> Reply:
    target = guestfs.resolve_writable(guest_root(call), need(call, 2)[1])
    if target.exists():
        raise msg.refusal(msg.FILE_ALREADY_EXISTS)
    if not target.parent.is_dir():
        # Tools may create parents; callers must not rely on it, so the simulator does not.
        raise msg.refusal(msg.FILE_NOT_FOUND)
    target.mkdir()
    return Reply()


def delete_file(call: Call) -> Reply:
    target = guestfs.resolve_writable(guest_root(call), need(call, 2)[1], follow_last=False)
    if target.is_dir() and not target.is_symlink() or not (target.exists() or target.is_symlink()):
        raise msg.refusal(msg.FILE_NOT_FOUND)
    target.unlink()
    return Reply()


def delete_directory(call: Call) -> Reply:
    target = guestfs.resolve_writable(guest_root(call), need(call, 2)[1], follow_last=False)
    if not target.is_dir() or target.is_symlink():
        raise msg.refusal(msg.FILE_NOT_FOUND)
    shutil.rmtree(target)
    return Reply()


def list_directory(call: Call) -> Reply:
    target = guestfs.resolve(guest_root(call), need(call, 2)[1])
    if not target.is_dir():
        raise msg.refusal(msg.FILE_NOT_FOUND)
    names = sorted(entry.name for entry in target.iterdir())
    return Reply("\n".join([msg.DIRECTORY_HEADER.format(count=len(names)), *names]))


def create_temp_file(call: Call) -> Reply:
    root = guest_root(call)
    name = f"/tmp/vmware{secrets.randbelow(10**6):06d}.tmp"  # [I] the real naming is not captured
    guestfs.resolve_writable(root, name).touch()
    return Reply(name)


def rename_file(call: Call) -> Reply:
    _, old, new = need(call, 3)
    root = guest_root(call)
    source = guestfs.resolve_writable(root, old, follow_last=False)
    target = guestfs.resolve_writable(root, new, follow_last=False)
    if not (source.exists() or source.is_symlink()) or not target.parent.is_dir():
        raise msg.refusal(msg.FILE_NOT_FOUND)
    source.rename(target)
    return Reply()


def list_processes(call: Call) -> Reply:
    with call.home.transaction() as state:
        procs = visible_processes(call, gate(call, state))
    lines = [msg.PROCESS_LINE.format(pid=p.pid, owner=p.owner, cmd=p.cmd) for p in procs]
    return Reply("\n".join([msg.PROCESS_HEADER.format(count=len(lines)), *lines]))


def visible_processes(call: Call, vm: VmRecord) -> list[GuestProc]:
    """What ``ps`` would show: boot processes, the agent once booted, live programs (reaped)."""
    vm.processes = [p for p in vm.processes if sandbox.alive(p.host_pid)]
    boot = list(BOOT_PROCESSES)
    if call.tools_running(vm):  # runit keeps restarting it even while it finds no settings
        boot.append(GuestProc(AGENT_PID, "root", AGENT_COMMAND))
    return [p for p in boot if p.pid not in vm.killed_boot_pids] + vm.processes


def kill_process(call: Call) -> Reply:
    pid_text = need(call, 2)[1]
    with call.home.transaction() as state:
        vm = gate(call, state)
        procs = {p.pid: p for p in visible_processes(call, vm)}
        target = procs.get(int(pid_text)) if pid_text.isdigit() else None
        if target is None:
            raise msg.refusal(msg.NO_SUCH_PROCESS)
        if target.host_pid:
            sandbox.send(target.host_pid, signal.SIGKILL)
            vm.processes = [p for p in vm.processes if p.pid != target.pid]
        else:
            vm.killed_boot_pids.append(target.pid)
    return Reply()
