"""Power verbs of the simulated vmrun: list, start, stop, reset, suspend, pause, unpause.

Each verb changes the VM's record inside one short state transaction and does
the file effects VMware does (see ``vmfiles.py``). Waits (a soft stop without
Tools hangs) happen after the transaction, through the call's ``Budget``.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path

from toolkit.vmware.devices import cdroms
from toolkit.vmware.vmx import Vmx
from vmtk_sim import agent, guestfs, sandbox
from vmtk_sim import messages as msg
from vmtk_sim.context import Call, Reply, disk_path, open_vm, read_vmx, running_vm
from vmtk_sim.knobs import SoftStop
from vmtk_sim.state import HostState, Power, VmRecord, vm_key
from vmtk_sim.vmfiles import (
    apply_power_on_keys,
    decode_config,
    encode_config,
    power_on_problems,
    refuse_if_locked,
    release_locks,
    take_locks,
    write_failure_log,
    write_vmx_file,
)

AGENT_END_SECONDS = 15.0  # the agent process needs up to 10 s to see its mbus port closed


def list_running(call: Call) -> Reply:
    with call.home.transaction() as state:
        running = [vm for vm in state.vms.values() if vm.power in (Power.RUNNING, Power.PAUSED)]
    running.sort(key=lambda vm: vm.started_at or 0.0)
    lines = [msg.LIST_HEADER.format(count=len(running))] + [vm.spelling for vm in running]
    return Reply("\n".join(lines))


def start(call: Call) -> Reply:
    path = call.inv.vmx
    with call.home.transaction() as state:
        vm = _power_on(call, state, path)
    # After the commit: on a real host the vmware-vmx process takes the locks, and killing
    # vmrun cannot undo that. Taken before it, a killed vmrun-sim left a VM that is off and
    # locked, which a real host shows only after VMware itself crashed.
    take_locks(path, decode_config(vm.config or ""), vm.id)
    if call.knobs.power_on_hook:
        _run_hook(call, vm, path)
    if call.knobs.mbus_agent and vm.agent_reason is None and not vm.agent_pid:
        _start_agent(call, path)
    return Reply()


def _power_on(call: Call, state: HostState, path: str) -> VmRecord:
    vmx = read_vmx(path)
    vm = open_vm(state, path)
    if vm.power in (Power.RUNNING, Power.PAUSED):
        raise msg.refusal(msg.ALREADY_RUNNING)
    refuse_if_locked(path, vmx)
    problems = power_on_problems(path, vmx)
    if problems:
        write_failure_log(path, problems)
        raise msg.refusal(msg.CANCELED)
    resuming = vm.power is Power.SUSPENDED
    if resuming:
        _drop_checkpoint(path, vmx)
    apply_power_on_keys(path, vmx)
    write_vmx_file(path, vmx)
    guestfs.ensure_root(call.home.guest_root(vm.id), call.knobs.guest_user)
    vm.config, vm.spelling, vm.power = encode_config(vmx), _listed(path), Power.RUNNING
    vm.changed_since_snapshot = True
    vm.agent_reason = agent.check(path, vmx)
    if resuming:
        _signal_programs(vm, signal.SIGCONT)
        return vm
    vm.started_at, vm.processes, vm.killed_boot_pids = call.now(), [], []
    return vm


def _drop_checkpoint(path: str, vmx: Vmx) -> None:
    """Resuming deletes the suspend state file and its keys."""
    state_file = vmx.get("checkpoint.vmState")
    if state_file:
        Path(os.path.dirname(path), state_file).unlink(missing_ok=True)
    vmx.unset_prefix("checkpoint.vmState")


def _run_hook(call: Call, vm: VmRecord, path: str) -> None:
    """Start the configured power-on hook with the .vmx and first CD-ROM image appended."""
    vmx = decode_config(vm.config or "")
    drives = [d for d in cdroms(vmx) if d.file_name]
    iso = disk_path(path, drives[0].file_name) if drives else ""
    env = {"VMRUN_SIM_HOME": str(call.home.root), "VMRUN_SIM_GUEST_ROOT": str(call.home.guest_root(vm.id))}
    pid = sandbox.start_unconfined([*(call.knobs.power_on_hook or ()), path, iso], env)
    with call.home.transaction() as state:
        state.record(vm_key(path)).hook_pid = pid


def _listed(path: str) -> str:
    """How ``list`` will print the VM: as spelled, but never relative (vmrun resolves it) [V absolute]."""
    return path if os.path.isabs(path) else os.path.abspath(path)


def _start_agent(call: Call, path: str) -> None:
    """The simulated agent's mbus process (``vmtk_sim.mbus``); it ends with this power-on."""
    argv = [sys.executable, "-m", "vmtk_sim.mbus", path]
    pid = sandbox.start_unconfined(argv, {"VMRUN_SIM_HOME": str(call.home.root)})
    with call.home.transaction() as state:
        state.record(vm_key(path)).agent_pid = pid


def stop(call: Call) -> Reply:
    path = call.inv.vmx
    soft = _mode(call) != "hard"
    with call.home.transaction() as state:
        vm = running_vm(call, state, path)
        waiting = soft and not call.tools_running(vm)
        if waiting and call.knobs.soft_stop_without_tools is SoftStop.ERROR:
            raise msg.refusal(msg.TOOLS_NOT_RUNNING, vmx=path)
        ended = 0 if waiting else power_off(vm, path, clean=soft)
    await_end(ended)
    if waiting:
        # Real vmrun asks Tools to shut the guest down and waits; without Tools it never returns.
        call.budget.hang()
    return Reply()


def _mode(call: Call) -> str:
    return call.inv.params[1].lower() if len(call.inv.params) > 1 else "soft"


def power_off(vm: VmRecord, path: str, *, clean: bool) -> int:
    """Kill the guest's programs, rewrite the .vmx from VMware's in-memory copy, drop locks.

    Returns the agent process told to end (0: none): callers ``await_end`` it once the
    state transaction is over (the agent process reads that state while it ends).
    """
    ended = vm.agent_pid
    _signal_programs(vm, signal.SIGKILL, agent=False)
    for helper in (vm.hook_pid, vm.agent_pid):
        if helper:
            _tell_to_end(helper)
    vmx = decode_config(vm.config or "")
    vmx.set("cleanShutdown", "TRUE" if clean else "FALSE")
    vmx.set("softPowerOff", "TRUE" if clean else "FALSE")
    if os.path.isdir(os.path.dirname(os.path.abspath(path))):  # gone if its dir was removed meanwhile
        write_vmx_file(path, vmx)
    release_locks(path, vmx)
    vm.power, vm.started_at, vm.processes, vm.hook_pid, vm.agent_pid = Power.OFF, None, [], 0, 0
    return ended


def _tell_to_end(helper_pid: int) -> None:
    """SIGTERM, after SIGCONT: a paused VM's helper is stopped and would not act on it."""
    sandbox.send(helper_pid, signal.SIGCONT)
    sandbox.send(helper_pid, signal.SIGTERM)


def await_end(agent_pid: int) -> None:
    """Wait until the agent process has ended (it stops its agent first), killing it past the wait.

    A powered-off, reset or deleted VM's agent must never answer the mbus of the VM that
    comes next on the same port.
    """
    # Real time, whatever clock the simulated host runs on: this waits for a real process.
    deadline = time.monotonic() + AGENT_END_SECONDS
    while agent_pid and sandbox.alive(agent_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if agent_pid and sandbox.alive(agent_pid):
        sandbox.send(agent_pid, signal.SIGKILL)


def _signal_programs(vm: VmRecord, sig: int, *, agent: bool = True) -> None:
    """Guest programs and the agent freeze, thaw or die with the guest."""
    for pid in [proc.host_pid for proc in vm.processes] + ([vm.agent_pid] if agent else []):
        if pid:
            sandbox.send(pid, sig)


def reset(call: Call) -> Reply:
    path = call.inv.vmx
    with call.home.transaction() as state:
        vm = running_vm(call, state, path)
        if _mode(call) == "soft" and not call.tools_running(vm):
            raise msg.refusal(msg.TOOLS_NOT_RUNNING, vmx=path)
        _signal_programs(vm, signal.SIGKILL, agent=False)
        ended = vm.agent_pid
        if ended:
            _tell_to_end(ended)
        vm.power, vm.started_at, vm.processes, vm.killed_boot_pids = Power.RUNNING, call.now(), [], []
        vm.agent_pid = 0
    await_end(ended)
    if call.knobs.mbus_agent and vm.agent_reason is None:
        _start_agent(call, path)  # the guest reboots: a fresh agent
    return Reply()


def suspend(call: Call) -> Reply:
    """Freeze the guest's programs and write the suspend state (``checkpoint.vmState``)."""
    path = call.inv.vmx
    with call.home.transaction() as state:
        vm = running_vm(call, state, path)
        _signal_programs(vm, signal.SIGSTOP)
        vmx = decode_config(vm.config or "")
        state_file = f"{Path(path).stem}-{secrets.token_hex(4)}.vmss"
        Path(os.path.dirname(path), state_file).write_bytes(b"\0" * 512)
        vmx.set("checkpoint.vmState", state_file)
        write_vmx_file(path, vmx)
        release_locks(path, vmx)
        vm.power = Power.SUSPENDED
    return Reply()


def pause(call: Call) -> Reply:
    return _pause(call, Power.PAUSED, signal.SIGSTOP)


def unpause(call: Call) -> Reply:
    return _pause(call, Power.RUNNING, signal.SIGCONT)


def _pause(call: Call, power: Power, sig: int) -> Reply:
    with call.home.transaction() as state:
        vm = running_vm(call, state, call.inv.vmx)
        _signal_programs(vm, sig)
        vm.power = power
    return Reply()


def check_tools_state(call: Call) -> Reply:
    with call.home.transaction() as state:
        vm = open_vm(state, call.inv.vmx)
    if call.tools_running(vm):
        return Reply("running")
    return Reply("unknown", msg.EXIT_TOOLS_UNKNOWN)
