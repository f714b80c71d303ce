"""Static MAC addresses for VM NICs, unique among this store's VMs.

VMware reserves ``00:50:56:00:00:00``-``00:50:56:3f:ff:ff`` for manually set
addresses (22 bits; the reference drew only 15 and never checked collisions).
Each VM's MACs are recorded in ``vm-<uuid>/macs.json`` while holding the store's
``macs`` lock, so two parallel create_vm calls can never pick the same one, and
deleting the VM directory frees them. The agent matches networks to NICs by the
lower-case address, so MACs are always lower-case here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from cpi.ids import VmCid
from cpi.store import Store
from toolkit.errors import HostFileNotFound

MACS_FILE = "macs.json"
MAC_SPACE = 1 << 22
MAX_TRIES = 1000


def format_mac(n: int) -> str:
    """The ``n``-th address of VMware's manual range."""
    if not 0 <= n < MAC_SPACE:
        raise ValueError(f"MAC index {n} outside 0..{MAC_SPACE - 1}")
    return f"00:50:56:{n >> 16:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"


def allocate(store: Store, vm: VmCid, count: int, *, draw: Callable[[int], int] = secrets.randbelow) -> list[str]:
    """Reserve ``count`` fresh MACs for ``vm`` (recorded in its directory)."""
    if count == 0:
        return []
    with store.lock("macs"):
        taken = used(store)
        chosen: list[str] = []
        for _ in range(MAX_TRIES * count):
            mac = format_mac(draw(MAC_SPACE))
            if mac not in taken and mac not in chosen:
                chosen.append(mac)
            if len(chosen) == count:
                store.vm(vm).write_record(MACS_FILE, {"macs": chosen})
                return chosen
    raise RuntimeError("no free MAC address found in 00:50:56:00:00:00-00:50:56:3f:ff:ff")


def used(store: Store) -> set[str]:
    """Every MAC reserved by a VM of this store."""
    taken: set[str] = set()
    for cid in store.vm_cids():
        try:
            record = store.vm(cid).read_record(MACS_FILE)
        except HostFileNotFound:
            continue
        taken.update(str(m).lower() for m in record.get("macs", []))
    return taken
