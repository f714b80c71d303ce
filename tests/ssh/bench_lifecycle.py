"""Benchmark: the CPI lifecycle through ``bosh-vmrun-cpi``, over SSH versus local, against vmrun-sim.

    .venv/bin/python -m tests.ssh.bench_lifecycle [ROUNDS]

Each round runs create_vm, set_vm_metadata, create_disk, attach_disk, get_disks,
detach_disk, delete_vm, delete_disk, delete_stemcell (9 CPI processes) once with
``ssh_tunnel`` pointing at a local OpenSSH server and once without; prints the
median wall time of each and the SSH connections the server accepted per call.
Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.cpi.conftest import ENV, MANUAL, STEMCELL_CDROM
from tests.ssh.conftest import RemoteCpi, _observed_sshd, make_remote
from tests.support.sshd import stop_sshd


def lifecycle(cpi: RemoteCpi) -> float:
    stemcell = str(uuid.uuid4())
    with open(cpi.host.make_vm(str(cpi.store / f"cs-{stemcell}" / f"cs-{stemcell}.vmx")), "a", encoding="utf-8") as vmx:
        vmx.write(STEMCELL_CDROM)
    started = time.monotonic()
    vm, _ = cpi("create_vm", "agent-bench", stemcell, {"disk": 64}, MANUAL, [], ENV)
    cpi("set_vm_metadata", vm, {"name": "bench/0"})
    disk = cpi("create_disk", 256, {}, vm)
    cpi("attach_disk", vm, disk)
    cpi("get_disks", vm)
    cpi("detach_disk", vm, disk)
    cpi("delete_vm", vm)
    cpi("delete_disk", disk)
    cpi("delete_stemcell", stemcell)
    return time.monotonic() - started


CALLS = 9


def main(rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="vmtk-bench-"))
    sshd = _observed_sshd(folder / "sshd")
    try:
        over_ssh, local, connections = [], [], []
        for n in range(rounds):
            remote = make_remote(sshd, folder / f"ssh-{n}")
            before = sshd.accepted()
            over_ssh.append(lifecycle(remote))
            connections.append((sshd.accepted() - before) / CALLS)
            plain = make_remote(sshd, folder / f"local-{n}")
            plain.tunnel = {}
            local.append(lifecycle(plain))
        print(f"rounds: {rounds}, CPI calls per lifecycle: {CALLS}")
        print(f"SSH connections per CPI call: {connections}")
        print(f"lifecycle over SSH: median {statistics.median(over_ssh):.2f} s  {[round(t, 2) for t in over_ssh]}")
        print(f"lifecycle local:    median {statistics.median(local):.2f} s  {[round(t, 2) for t in local]}")
    finally:
        stop_sshd(sshd.server)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
