"""``vmtk vm``: power, clones, snapshots and addresses of whole VMs.

A thin layer over ``toolkit.vmware.vmrun.Vmrun``: parses options into its Python
calls and prints results. It must not know vmrun's verbs or messages.
"""

from __future__ import annotations

import logging

import click

from toolkit.errors import ToolkitError
from toolkit.host.clock import wait_until
from toolkit.host.interrupts import Interrupted
from toolkit.vmware.vmrun import CloneKind, StopMode
from vmtk_cli.app import App, pass_app, vmx_path
from vmtk_cli.hostpaths import require_parent_dir
from vmtk_cli.output import emit_lines, emit_rows
from vmtk_cli.seconds import SECONDS

log = logging.getLogger(__name__)

VMX = click.argument("vmx", metavar="VMX", callback=vmx_path)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
HARD = click.option("--hard", is_flag=True, help="Power off/reset without asking the guest OS.")


@click.group("vm")
def group() -> None:
    """Start, stop, clone and snapshot VMs (VMX is the path of the .vmx file)."""


@group.command("list")
@JSON
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the running VMs."""
    emit_lines(app.vmrun.list_running(), as_json=as_json)


@group.command()
@VMX
@click.option("--gui", is_flag=True, help="Open a console window (default: headless).")
@pass_app
def start(app: App, vmx: str, gui: bool) -> None:
    """Power on VMX (interrupted, a VM this command powered on is powered off again)."""
    was_running = app.vmrun.is_running(vmx)
    try:
        with app.waiting() as display:
            display.step(f"Starting {vmx}")
            app.vmrun.start(vmx, gui=gui)
    except Interrupted:
        if not was_running:
            power_off_quietly(app, vmx)
        raise


def power_off_quietly(app: App, vmx: str) -> None:
    """After an interrupt: hard power-off if the VM runs; what failed is logged, not raised."""
    try:
        if app.vmrun.is_running(vmx):
            app.vmrun.stop(vmx, StopMode.HARD)
    except ToolkitError as exc:
        log.warning("could not power %s off again: %s", vmx, exc)


@group.command()
@VMX
@HARD
@pass_app
def stop(app: App, vmx: str, hard: bool) -> None:
    """Shut VMX down (soft: through VMware Tools; --hard: power off)."""
    app.vmrun.stop(vmx, StopMode.HARD if hard else StopMode.SOFT)


@group.command()
@VMX
@HARD
@pass_app
def reset(app: App, vmx: str, hard: bool) -> None:
    """Restart VMX (soft: through VMware Tools; --hard: reset)."""
    app.vmrun.reset(vmx, StopMode.HARD if hard else StopMode.SOFT)


@group.command()
@click.argument("source", metavar="SOURCE_VMX")
@click.argument("dest", metavar="DEST_VMX")
@click.option("--linked", is_flag=True, help="Share the source's disks (needs --snapshot or makes one).")
@click.option("--snapshot", metavar="NAME", help="Clone from this snapshot of SOURCE_VMX.")
@click.option("--name", metavar="NAME", help="Display name of the clone.")
@pass_app
def clone(app: App, source: str, dest: str, linked: bool, snapshot: str | None, name: str | None) -> None:
    """Clone SOURCE_VMX to DEST_VMX (full copy unless --linked); DEST_VMX's folder may be new, not its parent."""
    require_parent_dir(app.host, app.host.path.dirname(dest) or ".")
    kind = CloneKind.LINKED if linked else CloneKind.FULL
    app.vmrun.clone(source, dest, kind, snapshot=snapshot, name=name)


@group.command()
@VMX
@pass_app
def delete(app: App, vmx: str) -> None:
    """Delete VMX and all its files (it must be powered off)."""
    app.vmrun.delete_vm(vmx)


@group.command()
@VMX
@click.argument("name")
@click.option("--delete", "remove", is_flag=True, help="Delete the snapshot NAME instead.")
@pass_app
def snapshot(app: App, vmx: str, name: str, remove: bool) -> None:
    """Take (or with --delete, remove) the snapshot NAME of VMX."""
    if remove:
        app.vmrun.delete_snapshot(vmx, name)
    else:
        app.vmrun.snapshot(vmx, name)


@group.command()
@VMX
@JSON
@pass_app
def snapshots(app: App, vmx: str, as_json: bool) -> None:
    """List the snapshots of VMX (DEPTH: 0 for a root snapshot)."""
    rows = [{"name": s.name, "depth": s.depth} for s in app.vmrun.list_snapshots(vmx)]
    emit_rows(rows, ("name", "depth"), as_json=as_json)


@group.command()
@VMX
@click.argument("name")
@pass_app
def revert(app: App, vmx: str, name: str) -> None:
    """Revert VMX to its snapshot NAME."""
    app.vmrun.revert_to_snapshot(vmx, name)


@group.command()
@VMX
@click.option(
    "--wait", "wait", type=SECONDS, default=0.0, metavar="SECONDS", help="Wait up to this long for an address."
)
@pass_app
def ip(app: App, vmx: str, wait: float) -> None:
    """Print the guest's IP address (needs VMware Tools in the guest)."""
    if wait <= 0:
        address = app.vmrun.guest_ip(vmx)
    else:
        address = wait_until(
            lambda: app.vmrun.guest_ip(vmx),
            what=f"an IP address for {vmx}",
            timeout=wait,
            clock=app.clock,
            interval=2.0,
        )
    if address is None:
        raise click.ClickException(f"{vmx} has no IP address yet (it may still be booting: use --wait SECONDS)")
    click.echo(address)
