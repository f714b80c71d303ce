"""vmrun-sim as the VMware host at the far end of the test sshd: the CPI's ``vmrun`` settings for it.

sshd sessions do not inherit the test's environment, so the "remote" host's
``vmrun`` is a generated wrapper that sets ``VMRUN_SIM_HOME`` and execs
``vmrun-sim``. The simulator's files stay on this machine (the server is on
127.0.0.1), so tests still inspect the store and the simulator's state
directly. This module writes the wrapper and the settings; it starts no server
(``tests.support.sshd`` does) and runs no CPI.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tests.support.sshd import Sshd

BIN = Path(sys.executable).parent


def vmrun_wrapper(folder: Path, home: Path) -> Path:
    """``folder/vmrun``: vmrun-sim on the simulator home ``home``, whatever the session's environment."""
    wrapper = folder / "vmrun"
    folder.mkdir(parents=True, exist_ok=True)
    vmrun_sim = shlex.quote(str(BIN / "vmrun-sim"))
    wrapper.write_text(f'#!/bin/sh\nVMRUN_SIM_HOME={shlex.quote(str(home))} exec {vmrun_sim} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def remote_vmrun(server: Sshd, folder: Path, home: Path, **tunnel: object) -> dict[str, object]:
    """The ``vmrun`` properties that reach vmrun-sim on ``home`` through ``server`` (host key pinned)."""
    return {"vmrun_bin_path": str(vmrun_wrapper(folder, home)), "ssh_tunnel": server.ssh_tunnel(**tunnel)}
