"""The ``vmtk`` command: global options, logging, and the one error edge.

Responsible for building the ``App`` context object from the global options,
configuring logging on stderr, and converting every ``ToolkitError`` (and any
``OSError`` a command let escape) into one ``Error: ...`` line with exit code 1
(in ``VmtkGroup.invoke``, nowhere else).
The noun groups live in their own modules; this one must not grow commands.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from toolkit import __version__
from toolkit.errors import ToolkitError
from toolkit.host.interrupts import Interrupted, signals_raise
from toolkit.vmware.vmrun import HostType
from vmtk_cli.app import App, Settings
from vmtk_cli.failures import to_click
from vmtk_cli.remote import PLATFORMS, SshOptions
from vmtk_cli.seconds import SECONDS

LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)
_HANDLER_NAME = "vmtk-stderr"


class VmtkGroup(click.Group):
    """The root group: the single place toolkit errors become ``Error: ...``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader went away (`vmtk ... | head`): click's main ends quietly
        except (ToolkitError, OSError) as exc:
            # An OSError is the host refusing a file operation (a bad --home, a
            # read-only directory): the user's input, not a bug, so one line too.
            app = ctx.find_object(App)
            raise to_click(exc, verbosity=app.settings.verbosity if app else 0) from exc


@click.group(cls=VmtkGroup, context_settings={"auto_envvar_prefix": "VMTK", "help_option_names": ["-h", "--help"]})
@click.option(
    "--vmrun", "vmrun", metavar="PATH", help="vmrun to use (default: on PATH, else the standard install path)."
)
@click.option(
    "-T", "host_type", type=click.Choice([t.value for t in HostType]), help="VMware product (default: detect Player)."
)
@click.option("--guest-user", metavar="USER", help="Guest account for guest operations.")
@click.option(
    "--guest-password-env",
    metavar="VAR",
    help="Variable holding the guest password (default VMTK_GUEST_PASSWORD; else a prompt on a terminal).",
)
@click.option(
    "-v",
    "--verbose",
    "verbosity",
    count=True,
    envvar="VMTK_VERBOSE",
    help="More logging on stderr (-v info, -vv debug and tracebacks).",
)
@click.option(
    "--ssh", "ssh", metavar="USER@HOST[:PORT]", help="Drive VMware on this host over SSH (paths are then the host's)."
)
@click.option(
    "--ssh-key", metavar="PATH", help="Private key file for --ssh (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)."
)
@click.option(
    "--ssh-host-key", metavar="'TYPE BASE64'", help="The host's public key, pinned (e.g. 'ssh-ed25519 AAAA...')."
)
@click.option(
    "--ssh-platform",
    type=click.Choice(PLATFORMS),
    default="linux",
    show_default=True,
    help="The SSH host's operating system.",
)
@click.option(
    "--ssh-insecure-skip-host-key-check",
    "ssh_insecure",
    is_flag=True,
    envvar="VMTK_SSH_INSECURE_SKIP_HOST_KEY_CHECK",
    help="Accept any host key when none is pinned (only on networks you trust).",
)
@click.option(
    "--progress-interval",
    type=SECONDS,
    metavar="SECONDS",
    help="Off a terminal, how often a long wait says it is still waiting (default 10).",
)
@click.version_option(__version__, prog_name="vmtk")
@click.pass_context
def cli(
    ctx: click.Context,
    vmrun: str | None,
    host_type: str | None,
    guest_user: str | None,
    guest_password_env: str | None,
    verbosity: int,
    ssh: str | None,
    ssh_key: str | None,
    ssh_host_key: str | None,
    ssh_platform: str,
    ssh_insecure: bool,
    progress_interval: float | None,
) -> None:
    """vmtk: drive VMware Workstation, Fusion and Player VMs and their guests.

    Guest passwords are read from an environment variable or a prompt, never
    from the command line. Every option can also be set as VMTK_<OPTION>
    (e.g. VMTK_VMRUN, VMTK_GUEST_USER). Listing commands take --json.

    No VMware? Try the simulator: 'vmtk sim up', then '--vmrun vmrun-sim'.

    Shell completion (bash; use zsh_source/fish_source for zsh/fish):

        eval "$(_VMTK_COMPLETE=bash_source vmtk)"

    A remote VMware host over SSH (every path given is then a path on that
    host, e.g. a Windows path with --ssh-platform windows):

    \b
        export VMTK_SSH=vmware@ws.lan VMTK_SSH_KEY=~/.ssh/id_ed25519
        export VMTK_SSH_HOST_KEY="ssh-ed25519 AAAA..."
        vmtk vm list
    """
    app = ctx.ensure_object(App)
    app.settings.merge(
        vmrun=vmrun,
        host_type=HostType(host_type) if host_type else None,
        guest_user=guest_user,
        guest_password_env=guest_password_env,
        verbosity=verbosity or None,
        ssh=SshOptions(ssh, ssh_key, ssh_host_key, ssh_platform, ssh_insecure) if ssh else None,
        progress_interval=progress_interval,
    )
    configure_logging(app.settings)
    ctx.call_on_close(app.close)


def configure_logging(settings: Settings) -> None:
    """Diagnostics on stderr at WARNING, INFO (-v) or DEBUG (-vv)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = LEVELS[min(settings.verbosity, len(LEVELS) - 1)]
    # The handler's own threshold too: a logger given a level of its own elsewhere in this
    # process (a library user's, or the CPI's) must not bring INFO lines to a quiet vmtk.
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)


def _register() -> None:
    from vmtk_cli import (
        bootstrap,
        demo,
        disk,
        guest,
        iso,
        sim,
        stemcell,
        store,
        vm,
        vmx,
    )

    for command in (
        vm.group,
        guest.group,
        vmx.group,
        iso.group,
        disk.group,
        stemcell.group,
        bootstrap.command,
        sim.group,
        store.group,
        demo.command,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    """The console script: ``Interrupted`` (Ctrl-C, SIGTERM) ends as one line and 128 + the signal."""
    with signals_raise():
        try:
            cli.main(prog_name="vmtk")
        except Interrupted as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
