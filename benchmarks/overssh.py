"""Benchmark 6: the create-env sequence through ``bosh-vmrun-cpi`` over SSH, next to the same run locally.

A real OpenSSH server on 127.0.0.1 (``benchmarks.sshd``, VERBOSE log) stands in
for the VMware host's: the CPI's ``ssh_tunnel`` points at it and the host's
vmrun is ``vmrun-sim`` with the same cost model as the local run. For each
call the recorded count is the SSH connections the server accepted (its log,
not the CPI's word). ``lifecycle`` interleaves these runs with the local ones so
ratios are taken within one run. This module measures; ``report`` judges.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.errors import NoSshServerError
from benchmarks.hostcosts import HostCosts
from benchmarks.sequence import Step, create_env
from benchmarks.sshd import Sshd, start_sshd, stop_sshd
from benchmarks.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Remote:
    """The SSH server the runs go through, or why there is none (the figure is then not measured)."""

    server: Sshd | None
    missing: str = ""


NO_REMOTE = Remote(None, "not asked")


@contextmanager
def remote(folder: Path) -> Iterator[Remote]:
    """An observed sshd for the whole benchmark run, stopped at the end."""
    try:
        server = start_sshd(folder / "keys", log=folder / "sshd.log")
    except NoSshServerError as exc:
        yield Remote(None, f"not measured: no OpenSSH server ({exc})")
        return
    try:
        yield Remote(server)
    finally:
        stop_sshd(server)


def run_over_ssh(root: Path, costs: HostCosts, image: Path, server: Sshd) -> list[Step]:
    """The create-env sequence with each step's ``runs`` = SSH connections accepted during the call."""
    space = Workspace.create(root, costs, tunnel=server.ssh_tunnel())
    return create_env(space.call, server.accepted, image=str(image), make_template=space.make_template)
