"""Variables and the guest's address: getGuestIPAddress, readVariable, writeVariable.

``guestVar`` values are the running VM's ``guestinfo.*`` (from the .vmx read at
power-on, then whatever ``writeVariable`` set); ``runtimeConfig`` is VMware's
in-memory copy of the .vmx, which reaches the file only at power-off.
"""

from __future__ import annotations

from vmtk_sim import messages as msg
from vmtk_sim.context import Call, Reply, running_vm
from vmtk_sim.guestops import need
from vmtk_sim.state import Power, VmRecord
from vmtk_sim.vmfiles import decode_config, encode_config


def guest_ip(call: Call) -> Reply:
    """One IPv4 once the guest's DHCP lease exists (``ip_delay`` after Tools came up)."""
    with call.home.transaction() as state:
        vm = running_vm(call, state, call.inv.vmx)
        if vm.power is Power.PAUSED:
            raise msg.refusal(msg.PAUSED, vmx=call.inv.vmx)
        if not call.tools_running(vm):
            raise msg.refusal(msg.TOOLS_NOT_RUNNING, vmx=call.inv.vmx)
    ready_at = (vm.started_at or 0.0) + call.knobs.boot_delay + call.knobs.ip_delay
    if call.now() < ready_at:
        if "-wait" not in (p.lower() for p in call.inv.params[1:]):
            raise msg.refusal(msg.NO_IP)
        call.budget.sleep(ready_at - call.now())
    return Reply(dhcp_address(vm.id))


def dhcp_address(vm_id: str) -> str:
    """The address the simulated DHCP server leases to VM ``vm_id`` (stable per VM)."""
    return f"192.168.80.{128 + int(vm_id.rsplit('-', 1)[-1]) % 120}"


def read_variable(call: Call) -> Reply:
    _, kind, name = need(call, 3)
    with call.home.transaction() as state:
        vm = running_vm(call, state, call.inv.vmx)
    return Reply(_variables(vm, kind.lower()).get(name.lower(), ""))


def write_variable(call: Call) -> Reply:
    _, kind, name, value = need(call, 4)
    with call.home.transaction() as state:
        vm = running_vm(call, state, call.inv.vmx)
        if kind.lower() == "runtimeconfig":
            _set_runtime_config(vm, name, value)
        else:
            vm.guest_vars[f"{kind.lower()}:{name.lower()}"] = value
    return Reply()


def _variables(vm: VmRecord, kind: str) -> dict[str, str]:
    config = decode_config(vm.config or "")
    if kind == "runtimeconfig":
        return {key.lower(): value for key, value in config.items()}
    values = {}
    if kind == "guestvar":
        values = {k[len("guestinfo.") :].lower(): v for k, v in config.items() if k.lower().startswith("guestinfo.")}
    prefix = f"{kind}:"
    values.update({k[len(prefix) :]: v for k, v in vm.guest_vars.items() if k.startswith(prefix)})
    return values


def _set_runtime_config(vm: VmRecord, name: str, value: str) -> None:
    """``runtimeConfig`` edits VMware's in-memory .vmx: it reaches the file at power-off."""
    config = decode_config(vm.config or "")
    config.set(name, value)
    vm.config = encode_config(config)
