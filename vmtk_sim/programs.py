"""runProgramInGuest and runScriptInGuest: real programs in the VM's sandbox.

vmrun blocks until the guest program exits (unless ``-noWait``), returns none of
its output and reports a failure only as ``Guest program exited with non-zero
exit code: N`` with its own exit status 1. The state lock is held only to
register and forget the process, never while it runs.
"""

from __future__ import annotations

import secrets
import signal
import subprocess

from toolkit.errors import VmrunError
from vmtk_sim import guestfs, sandbox
from vmtk_sim import messages as msg
from vmtk_sim.argv import split_options
from vmtk_sim.context import Call, Reply
from vmtk_sim.guestops import gate, guest_root, need
from vmtk_sim.state import GuestProc, Power, vm_key

OPTIONS = frozenset({"-nowait", "-activewindow", "-interactive"})


def run_program(call: Call) -> Reply:
    flags, rest = split_options(need(call, 2)[1:], OPTIONS)
    if not rest:
        raise VmrunError(msg.HELP, exit_code=msg.EXIT_ERROR)
    return _run(call, rest, wait="-nowait" not in flags)


def run_script(call: Call) -> Reply:
    """The script text goes to a temp file in the guest, run by the interpreter."""
    flags, rest = split_options(need(call, 3)[1:], OPTIONS)
    if len(rest) < 2:
        raise VmrunError(msg.HELP, exit_code=msg.EXIT_ERROR)
    interpreter, text = rest[0], rest[1]
    script = f"/tmp/vmware-script-{secrets.token_hex(4)}"
    host_script = guestfs.resolve_writable(guest_root(call), script)
    host_script.write_text(text, encoding="utf-8")
    wait = "-nowait" not in flags
    try:
        return _run(call, [interpreter, script], wait=wait)
    finally:
        if wait:
            host_script.unlink(missing_ok=True)


def _run(call: Call, argv: list[str], *, wait: bool) -> Reply:
    reason = sandbox.unavailable()
    if reason is not None:
        raise msg.refusal(msg.NO_SANDBOX, reason=reason)
    host_pid, started_at = _start(call, argv, wait=wait)
    if not wait:
        return Reply()
    code = _wait(call, host_pid)
    with call.home.transaction() as state:
        vm = state.record(vm_key(call.inv.vmx))
        vm.processes = [p for p in vm.processes if p.host_pid != host_pid]
        powered_off = vm.power is Power.OFF or vm.started_at != started_at
    if powered_off:
        raise msg.refusal(msg.NOT_POWERED_ON, vmx=call.inv.vmx)
    if code:
        return Reply(msg.GUEST_EXIT_NONZERO.format(code=code), msg.EXIT_GUEST_NONZERO)
    return Reply()


def _start(call: Call, argv: list[str], *, wait: bool) -> tuple[int, float | None]:
    """Check the program exists in the guest, start it, list it as a guest process."""
    user = call.knobs.guest_user
    with call.home.transaction() as state:
        vm = gate(call, state)
        root = guestfs.ensure_root(call.home.guest_root(vm.id), user)
        program = guestfs.resolve(root, argv[0])
        if not program.is_file():
            raise msg.refusal(msg.FILE_NOT_FOUND)
        env = {"PATH": sandbox.GUEST_PATH, "HOME": f"/home/{user}", "USER": user, "LOGNAME": user}
        uid = 0 if user == "root" else guestfs.USER_ID  # Tools run programs as the logged-in user
        host_pid = sandbox.start(root, argv, env, detached=not wait, uid=uid)
        vm.processes.append(GuestProc(vm.next_pid, user, " ".join(argv), host_pid))
        vm.next_pid += 1
        return host_pid, vm.started_at


def _wait(call: Call, host_pid: int) -> int:
    """The program's exit code; past the caller's timeout it is killed (vmrun would be)."""
    try:
        return sandbox.wait(host_pid, call.budget.remaining())
    except subprocess.TimeoutExpired:
        sandbox.send(host_pid, signal.SIGKILL)
        with call.home.transaction() as state:
            vm = state.record(vm_key(call.inv.vmx))
            vm.processes = [p for p in vm.processes if p.host_pid != host_pid]
        call.budget.expire()
        raise AssertionError("unreachable") from None
