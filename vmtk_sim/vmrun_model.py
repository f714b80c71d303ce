"""The simulated vmrun: one command line in, vmrun's stdout and exit status out.

``run_vmrun`` is shared by the ``vmrun-sim`` console script and the in-process
``SimRunner``: it checks the host type against the simulated product, applies
injected faults, dispatches the verb, sleeps the configured latency through the
clock and appends the call to ``calls.jsonl``. It never writes to a terminal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from toolkit.errors import VmrunError
from toolkit.host.clock import Clock
from toolkit.host.runner import redact
from vmtk_sim import clone, guestops, power, programs, snapshots, variables
from vmtk_sim import messages as msg
from vmtk_sim.argv import Invocation, parse
from vmtk_sim.context import Budget, Call, Reply
from vmtk_sim.knobs import Fault, Knobs, Platform, Product
from vmtk_sim.state import SimHome

log = logging.getLogger(__name__)

Handler = Callable[[Call], Reply]
HANDLERS: dict[str, Handler] = {
    "list": power.list_running,
    "start": power.start,
    "stop": power.stop,
    "reset": power.reset,
    "suspend": power.suspend,
    "pause": power.pause,
    "unpause": power.unpause,
    "checktoolsstate": power.check_tools_state,
    "getguestipaddress": variables.guest_ip,
    "readvariable": variables.read_variable,
    "writevariable": variables.write_variable,
    "runprograminguest": programs.run_program,
    "runscriptinguest": programs.run_script,
    "copyfilefromhosttoguest": guestops.copy_to_guest,
    "copyfilefromguesttohost": guestops.copy_from_guest,
    "listprocessesinguest": guestops.list_processes,
    "killprocessinguest": guestops.kill_process,
    "fileexistsinguest": guestops.file_exists,
    "directoryexistsinguest": guestops.directory_exists,
    "createdirectoryinguest": guestops.create_directory,
    "deletefileinguest": guestops.delete_file,
    "deletedirectoryinguest": guestops.delete_directory,
    "listdirectoryinguest": guestops.list_directory,
    "createtempfileinguest": guestops.create_temp_file,
    "renamefileinguest": guestops.rename_file,
    "snapshot": snapshots.snapshot,
    "listsnapshots": snapshots.list_snapshots,
    "deletesnapshot": snapshots.delete_snapshot,
    "reverttosnapshot": snapshots.revert,
    "clone": clone.clone,
    "deletevm": clone.delete_vm,
}
# Player has no snapshots and no clones: "Error: The operation is not supported".
NOT_ON_PLAYER = frozenset({"snapshot", "listsnapshots", "deletesnapshot", "reverttosnapshot", "clone"})
NEEDS_NO_VMX = frozenset({"list"})


def run_vmrun(
    home: SimHome,
    argv: Sequence[str],
    *,
    clock: Clock,
    timeout: float | None = None,
) -> tuple[int, str]:
    """Answer one vmrun command line: ``(exit_code, stdout)``; ``CommandTimeout`` past ``timeout``."""
    started = clock.monotonic()
    knobs = home.knobs()
    exit_code: int | None = None
    try:
        reply = _answer(home, knobs, tuple(argv), clock, timeout)
        exit_code = reply.exit_code
    finally:
        home.append_call(call_entry("vmrun", argv, exit_code, clock.monotonic() - started, clock))
    return reply.exit_code, render(reply.text, knobs.platform)


def _answer(home: SimHome, knobs: Knobs, argv: tuple[str, ...], clock: Clock, timeout: float | None) -> Reply:
    inv = parse(argv)
    call = Call(home, knobs, clock, Budget(clock, timeout, ("vmrun", *argv)), inv)
    try:
        reply = _dispatch(call)
    except VmrunError as refusal:
        reply = Reply(refusal.message, refusal.exit_code or msg.EXIT_ERROR)
    call.budget.sleep(knobs.latency_of(inv.verb or "default"))
    return reply


def _dispatch(call: Call) -> Reply:
    inv = call.inv
    if not inv.verb or (inv.verb not in NEEDS_NO_VMX and not inv.params):
        return Reply(msg.HELP, msg.EXIT_ERROR)
    _check_host_type(call.knobs.product, inv)
    fault = consume_fault(call.home, call.knobs, inv.verb)
    if fault is not None:
        if fault.hang:
            call.budget.hang()
        return Reply(fault.output, fault.exit_code)
    if inv.verb in NOT_ON_PLAYER and call.player:
        raise msg.refusal(msg.NOT_SUPPORTED)
    return HANDLERS[inv.verb](call)


def _check_host_type(product: Product, inv: Invocation) -> None:
    """vmrun's answer when ``-T`` names a product this host does not have."""
    asked = (inv.host_type or "ws").lower()
    if asked not in ("ws", "fusion", "player"):
        raise msg.refusal(msg.INVALID_HOST_TYPE, host_type=inv.host_type)
    if product is Product.FUSION and asked == "player":
        raise msg.refusal(msg.INVALID_HOST_TYPE, host_type=inv.host_type)
    if product is Product.PLAYER and asked != "player":
        service = "WORKSTATION" if asked == "ws" else "FUSION"
        raise msg.refusal(msg.SERVICE_NOT_INSTALLED, service=service)
    if product is Product.WORKSTATION and asked == "fusion":
        raise msg.refusal(msg.SERVICE_NOT_INSTALLED, service="FUSION")  # [I]


def consume_fault(home: SimHome, knobs: Knobs, verb: str) -> Fault | None:
    """Count this call of ``verb``; the configured fault for this count, used once.

    Counts run from the home's first call, whatever the fault list. Used faults are
    remembered by their index in the list, so a new list starts with none used
    (its faults name later counts than any already reached, so none fires twice).
    """
    plan = repr(knobs.faults)
    with home.transaction() as state:
        if state.fault_plan != plan:
            state.fault_plan, state.faults_used = plan, []
        count = state.verb_counts.get(verb, 0) + 1
        state.verb_counts[verb] = count
        for index, fault in enumerate(knobs.faults):
            if fault.verb == verb and fault.nth == count and index not in state.faults_used:
                state.faults_used.append(index)
                return fault
    return None


def render(text: str, platform: Platform) -> str:
    """vmrun's stdout: lines ending in a newline, CRLF on Windows hosts."""
    if not text:
        return ""
    out = text + "\n"  # a message ending in "\n" (Invalid snapshot name) prints an empty line
    return out.replace("\n", "\r\n") if platform is Platform.WINDOWS else out


def call_entry(tool: str, argv: Sequence[str], code: int | None, duration: float, clock: Clock) -> dict[str, object]:
    """One line of ``calls.jsonl`` (secrets masked; ``exit_code`` null when the caller timed out)."""
    return {
        "tool": tool,
        "argv": list(redact(argv)),
        "exit_code": code,
        "duration": round(duration, 6),
        "time": clock.time(),
    }
