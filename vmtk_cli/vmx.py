"""``vmtk vmx``: read and edit a VM's .vmx settings file.

A thin layer over ``toolkit.vmware.vmx``: values are shown decoded, and an edit
rewrites only the line it changes (the parser is lossless). It refuses to edit
a running VM unless ``--force``, because VMware rewrites the .vmx from its own
copy at power-off and the edit is lost.
"""

from __future__ import annotations

import logging

import click

from toolkit.vmware.vmx import Vmx, read_vmx, write_vmx
from vmtk_cli.app import App, pass_app
from vmtk_cli.output import emit_json

log = logging.getLogger(__name__)

VMX = click.argument("vmx", metavar="VMX")
FORCE = click.option("--force", is_flag=True, help="Edit even while the VM runs (VMware discards the edit).")


@click.group("vmx")
def group() -> None:
    """Show and edit .vmx settings (keys are case-insensitive)."""


@group.command()
@VMX
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object for scripts.")
@pass_app
def show(app: App, vmx: str, as_json: bool) -> None:
    """Print every setting of VMX as 'key = "value"' (decoded)."""
    items = read_vmx(app.host, vmx).items()
    if as_json:
        emit_json(dict(items))
        return
    for key, value in items:
        click.echo(f'{key} = "{value}"')


@group.command()
@VMX
@click.argument("key")
@pass_app
def get(app: App, vmx: str, key: str) -> None:
    """Print the decoded value of KEY."""
    value = read_vmx(app.host, vmx).get(key)
    if value is None:
        raise click.ClickException(f"{key!r} is not set in {vmx} (list the keys: vmtk vmx show VMX)")
    click.echo(value)


@group.command("set")
@VMX
@click.argument("key")
@click.argument("value")
@FORCE
@pass_app
def set_(app: App, vmx: str, key: str, value: str, force: bool) -> None:
    """Set KEY to VALUE; every other byte of the file stays as it is."""
    document = _editable(app, vmx, force)
    document.set(key, value)
    write_vmx(app.host, vmx, document)


@group.command()
@VMX
@click.argument("key")
@FORCE
@pass_app
def unset(app: App, vmx: str, key: str, force: bool) -> None:
    """Remove KEY (a missing key is not an error)."""
    document = _editable(app, vmx, force)
    if document.unset(key):
        write_vmx(app.host, vmx, document)


def _editable(app: App, vmx: str, force: bool) -> Vmx:
    document = read_vmx(app.host, vmx)
    if not force and _is_running(app, vmx):
        raise click.ClickException(
            f"{vmx} is running and VMware discards .vmx edits made while it runs "
            "(stop it first: vmtk vm stop VMX, or pass --force)"
        )
    return document


def _is_running(app: App, vmx: str) -> bool:
    if not app.has_vmrun():
        log.warning("vmrun not found: cannot check whether %s is running", vmx)
        return False
    return app.vmrun.is_running(vmx)
