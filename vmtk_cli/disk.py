"""``vmtk disk``: create, grow and inspect VMDK disks in pure Python.

A thin layer over ``toolkit.formats.vmdk``; host files go through the App's runner.
It must not parse or write VMDK structures itself.
"""

from __future__ import annotations

import click

from toolkit.errors import DiskError
from toolkit.formats.vmdk import create_disk, grow_disk
from toolkit.formats.vmdk import info as disk_info
from vmtk_cli.app import App, pass_app
from vmtk_cli.hostpaths import require_parent_dir
from vmtk_cli.output import emit_json

SIZE = click.option("--size-mb", "size_mb", type=click.IntRange(min=1), required=True, metavar="N", help="Size in MiB.")


@click.group("disk")
def group() -> None:
    """Create, grow and inspect VMDK disks (no VMware needed)."""


@group.command()
@click.argument("path")
@SIZE
@pass_app
def create(app: App, path: str, size_mb: int) -> None:
    """Create the sparse disk PATH of N MiB (takes almost no host space)."""
    if app.host.exists(path):
        raise click.ClickException(f"{path} already exists (choose another path or remove it)")
    require_parent_dir(app.host, path)
    create_disk(app.host, path, size_mb)


@group.command()
@click.argument("path")
@SIZE
@pass_app
def resize(app: App, path: str, size_mb: int) -> None:
    """Grow the disk PATH to N MiB (disks never shrink; data is kept)."""
    try:
        grow_disk(app.host, path, size_mb)
    except DiskError as exc:
        raise DiskError(f"cannot resize {path!r}") from exc


@group.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def info(app: App, path: str, as_json: bool) -> None:
    """Show the size and format of the disk PATH."""
    with app.host.open_read(path) as handle:
        try:
            found = disk_info(handle)
        except DiskError as exc:  # the format's message cannot name the file it read
            raise DiskError(f"cannot read {path!r} as a VMDK disk") from exc
    fields = {
        "capacity_mb": found.capacity_bytes // (1 << 20),
        "capacity_bytes": found.capacity_bytes,
        "create_type": found.create_type,
        "adapter_type": found.adapter_type,
        "parent_hint": found.parent_hint,
        "allocated_bytes": found.allocated_bytes,
    }
    if as_json:
        emit_json(fields)
        return
    for key, value in fields.items():
        click.echo(f"{key}: {'-' if value is None else value}")
