"""``vmtk bootstrap``: run a provisioning script in a stemcell VM like the CPI does.

Only option parsing and output: the procedure is ``toolkit.bootstrap``, the
same one the CPI's ``cloud_properties.bootstrap`` runs. It must not re-implement
any of its steps, and never takes the password from argv.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

import click

from toolkit.host.interrupts import Interrupted
from toolkit.vmware.bootstrap import BootstrapSpec, Step, run_bootstrap
from vmtk_cli.app import App, pass_app, vmx_path
from vmtk_cli.guest import echo_stream
from vmtk_cli.seconds import SECONDS
from vmtk_cli.vm import power_off_quietly


@click.command("bootstrap")
@click.argument("vmx", metavar="VMX", callback=vmx_path)
@click.option(
    "--script",
    type=click.File("r", encoding="utf-8"),
    required=True,
    metavar="FILE",
    help="The script to run ('-' reads standard input).",
)
@click.option(
    "--interpreter", default="/bin/bash", show_default=True, metavar="PATH", help="Guest program that runs the script."
)
@click.option(
    "--script-path",
    default="/tmp/bootstrap.sh",
    show_default=True,
    metavar="GUEST_PATH",
    help="Where the script is copied in the guest.",
)
@click.option("--user", metavar="U", help="Guest user (default: --guest-user).")
@click.option(
    "--password-env", metavar="VAR", help="Variable holding the guest password (default: --guest-password-env)."
)
@click.option(
    "--ready-process",
    metavar="NAME",
    help="Guest process whose presence means the guest is ready (e.g. bosh-agent). "
    "Default: ready once VMware Tools answer guest operations.",
)
@click.option(
    "--min-wait",
    type=SECONDS,
    default=0.0,
    show_default=True,
    metavar="S",
    help="Seconds to wait before the first readiness check.",
)
@click.option(
    "--max-wait",
    type=SECONDS,
    default=600.0,
    show_default=True,
    metavar="S",
    help="Seconds to wait at most for the guest to be ready.",
)
@pass_app
@click.pass_context
def command(
    ctx: click.Context,
    app: App,
    vmx: str,
    script: IO[str],
    interpreter: str,
    script_path: str,
    user: str | None,
    password_env: str | None,
    ready_process: str | None,
    min_wait: float,
    max_wait: float,
) -> None:
    """Start VMX if needed, wait until the guest is ready, copy the script in and run it.

    Prints the script's output as it comes back and exits with its exit code.
    Interrupted (Ctrl-C), it stops the script in the guest, and powers the VM
    off again if this command powered it on.
    """
    credentials = app.credentials(user, password_env)
    spec = BootstrapSpec(
        script=script.read(),
        script_path=script_path,
        interpreter=interpreter,
        user=credentials.user,
        password=credentials.password,
        ready_process=ready_process,
        min_wait=min_wait,
        max_wait=max_wait,
    )
    started: list[Step] = []
    with app.waiting() as display, powered_off_if_interrupted(app, vmx, started):

        def on_step(step: Step) -> None:
            started.append(step)
            display.step(_what(step, vmx, spec), limit=max_wait if step is Step.WAIT else None)
            if step is Step.RUN:
                display.pause()  # the script's own output follows

        result = run_bootstrap(app.vmrun, vmx, spec, clock=app.clock, on_output=echo_stream, on_step=on_step)
    ctx.exit(result.exit_code)


def _what(step: Step, vmx: str, spec: BootstrapSpec) -> str:
    ready = f"process {spec.ready_process!r}" if spec.ready_process else "VMware Tools"
    return {
        Step.START: f"Starting {vmx}",
        Step.WAIT: f"Waiting for {ready} in {vmx}",
        Step.COPY: f"Copying the script to {spec.script_path}",
        Step.RUN: f"Running {spec.script_path}",
    }[step]


@contextlib.contextmanager
def powered_off_if_interrupted(app: App, vmx: str, started: list[Step]) -> Iterator[None]:
    """Undo the power-on this command did itself when it is interrupted."""
    try:
        yield
    except Interrupted:
        if Step.START in started:
            power_off_quietly(app, vmx)
        raise
