"""create_vm's optional ``cloud_properties.bootstrap``: a script run in the freshly booted guest.

Runs AFTER the settings ISO and ephemeral disk are in place and the VM has
started (the reference ran it before them), through ``toolkit.vmware.bootstrap``:
wait for the ready process, copy the script, run it with captured output. Each
output line goes to the CPI log at INFO, and so into the response ``log``; a
non-zero exit fails create_vm with the exit code and the tail of the output.
The guest password is never logged (the toolkit redacts it from command lines).
"""

from __future__ import annotations

import logging

from toolkit.host.clock import Clock
from toolkit.vmware.bootstrap import BootstrapSpec, run_bootstrap
from toolkit.vmware.vmrun import Vmrun

log = logging.getLogger(__name__)


def bootstrap(vmrun: Vmrun, vmx: str, spec: BootstrapSpec, *, clock: Clock) -> None:
    def show(stream: str, text: str) -> None:
        for line in text.splitlines():
            log.info("bootstrap %s: %s", stream, line)

    log.info("bootstrap: running %s in %s as %s", spec.script_path, vmx, spec.user)
    result = run_bootstrap(vmrun, vmx, spec, clock=clock, on_output=show)
    log.info("bootstrap: %s exited with code %d", spec.script_path, result.exit_code)
    result.check()
