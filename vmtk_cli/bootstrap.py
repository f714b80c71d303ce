"""``vmtk bootstrap``: run a provisioning script in a stemcell VM like the CPI does.

Only option parsing and output: the procedure is ``toolkit.vmware.bootstrap``, the
same one the CPI's ``cloud_properties.bootstrap`` runs. It must not re-implement
any of its steps, and never takes the password from argv.
"""

from __future__ import annotations

from typing import IO

import click

from toolkit.vmware.bootstrap import BootstrapSpec, run_bootstrap
from vmtk_cli.app import App, pass_app
from vmtk_cli.guest import echo_stream
from vmtk_cli.seconds import SECONDS


@click.command("bootstrap")
@click.argument("vmx", metavar="VMX")
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
    default="bosh-agent",
    show_default=True,
    metavar="NAME",
    help="Guest process whose presence means the guest is ready.",
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
    help="Seconds to wait at most for the ready process.",
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
    ready_process: str,
    min_wait: float,
    max_wait: float,
) -> None:
    """Start VMX if needed, wait for the ready process, copy the script in and run it.

    Prints the script's output as it comes back and exits with its exit code.
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
    result = run_bootstrap(app.vmrun, vmx, spec, clock=app.clock, on_output=echo_stream)
    ctx.exit(result.exit_code)
