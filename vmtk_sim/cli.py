"""Console scripts ``vmrun-sim`` and ``ovftool-sim``: the simulator as executables.

Both read ``$VMRUN_SIM_HOME`` (default ``~/.vmrun-sim``), run the shared model on
the real clock and write exactly the tool's bytes to stdout. A hang (soft stop
without Tools) really blocks here, until the caller kills the process.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from toolkit.errors import ConfigError, LockTimeout
from toolkit.host.clock import SystemClock
from vmtk_sim.ovftool_call import run_ovftool_sim
from vmtk_sim.state import SimHome
from vmtk_sim.vmrun_model import run_vmrun

EXIT_SIM_BROKEN = 2  # the simulator itself is misconfigured: never a vmrun answer


def home() -> SimHome:
    return SimHome(os.environ.get("VMRUN_SIM_HOME") or Path.home() / ".vmrun-sim")


def vmrun_main() -> None:
    try:
        code, out = run_vmrun(home(), sys.argv[1:], clock=SystemClock())
    except (ConfigError, LockTimeout) as exc:
        sys.stderr.write(f"vmrun-sim: {exc}\n")
        sys.exit(EXIT_SIM_BROKEN)
    _emit(sys.stdout.buffer, out)
    sys.exit(code)


def ovftool_main() -> None:
    # The model reads packages with the toolkit, which logs what it tolerates (a manifest entry
    # for an absent file); ovftool prints its own warnings on stdout and nothing on stderr.
    logging.getLogger().addHandler(logging.NullHandler())
    shown: list[str] = []

    def show(text: str) -> None:  # progress appears while the import runs, as with ovftool
        shown.append(text)
        _emit(sys.stdout.buffer, text)

    try:
        code, out, err = run_ovftool_sim(home(), sys.argv[1:], clock=SystemClock(), on_output=show)
    except (ConfigError, LockTimeout) as exc:
        sys.stderr.write(f"ovftool-sim: {exc}\n")
        sys.exit(EXIT_SIM_BROKEN)
    printed = "".join(shown)
    _emit(sys.stdout.buffer, out[len(printed) :] if out.startswith(printed) else "")
    _emit(sys.stderr.buffer, err)
    sys.exit(code)


def _emit(stream: object, text: str) -> None:
    stream.write(text.encode("utf-8"))  # type: ignore[attr-defined]
    stream.flush()  # type: ignore[attr-defined]
