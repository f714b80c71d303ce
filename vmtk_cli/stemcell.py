"""``vmtk stemcell``: look into and import a BOSH stemcell (tarball or its ``image``).

A thin layer over ``toolkit.formats.stemcell`` (the same import the CPI's
``create_stemcell`` runs): with ovftool when one is given or found, otherwise
ovftool-free (OVF parsed, VMDK converted in pure Python). The stemcell file is
always read on THIS machine; the VM is written on the VMware host (the
``--ssh`` host when given). Progress goes to stderr, results to stdout. It
must not read archives or parse OVF itself (``toolkit.formats.archive`` unpacks a
stemcell tarball to reach its ``image``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from vmtk_cli.app import App, pass_app
from vmtk_cli.output import emit_json

if TYPE_CHECKING:
    from toolkit.vmware.ovftool import Ovftool

OVFTOOL_NAMES = ("ovftool",)
SOURCE = click.argument("source", metavar="IMAGE_OR_STEMCELL_TGZ", type=click.Path(exists=True, dir_okay=False))


@click.group("stemcell")
def group() -> None:
    """Inspect and import BOSH vSphere stemcells as VMware VMs (no ovftool needed)."""


@group.command("import")
@SOURCE
@click.argument("dest_dir", metavar="DEST_DIR")
@click.option("--ovftool", metavar="PATH", help="Use this ovftool (default: 'ovftool' on PATH, else pure Python).")
@click.option("--name", metavar="NAME", help="Name of the VM (default: the name of DEST_DIR).")
@pass_app
def import_(app: App, source: str, dest_dir: str, ovftool: str | None, name: str | None) -> None:
    """Import SOURCE into DEST_DIR/NAME.vmx and print the .vmx path.

    SOURCE is a file on this machine; DEST_DIR is on the VMware host.
    """
    from toolkit.formats.stemcell import (
        import_image,  # tar/OVF/VMDK machinery: only when importing
    )

    host = app.host
    name = name or host.path.basename(host.path.normpath(dest_dir))
    vmx = host.path.join(dest_dir, f"{name}.vmx")
    host.mkdir(dest_dir)
    with image_of(source) as image, progress_bar(f"Importing {click.format_filename(source, shorten=True)}") as bar:
        import_image(host, image, vmx, name=name, ovftool=_ovftool(app, ovftool), progress=bar)
    click.echo(vmx)


@group.command()
@SOURCE
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def inspect(source: str, as_json: bool) -> None:
    """Show what SOURCE holds (name, version, OS, disk size, CPUs, memory) without importing it."""
    from toolkit.formats.stemcell import inspect as inspect_stemcell

    summary = asdict(inspect_stemcell(source))
    if as_json:
        emit_json(summary)
        return
    for key, value in summary.items():
        click.echo(f"{key}: {'-' if value is None else value}")


@contextmanager
def image_of(source: str) -> Iterator[str]:
    """The local ``image`` to import: SOURCE itself, or unpacked from a stemcell tarball."""
    from toolkit.formats import archive
    from toolkit.formats.stemcell import IMAGE_NAME, tarball_manifest

    manifest = tarball_manifest(source)
    if manifest is None:
        yield source
        return
    click.echo(f"Unpacking stemcell {manifest.name} {manifest.version} ...", err=True)
    with tempfile.TemporaryDirectory(prefix="vmtk-stemcell-") as scratch:
        yield os.path.join(archive.extract(source, os.path.join(scratch, "stemcell")), IMAGE_NAME)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int], None]]:
    """A 0-100 % bar on stderr; the callback takes the import's percent (it restarts per disk)."""
    with click.progressbar(length=100, label=label, file=sys.stderr, show_eta=False) as bar:

        def advance(percent: int) -> None:
            bar.update(max(0, min(percent, 100) - bar.pos))  # never backwards: next disk restarts at 0

        yield advance


def _ovftool(app: App, path: str | None) -> Ovftool | None:
    # Over --ssh, this machine's PATH says nothing about the host's: only --ovftool counts.
    local = None if app.settings.ssh else next(filter(None, (shutil.which(n) for n in OVFTOOL_NAMES)), None)
    found = path or local
    if found is None:
        return None
    from toolkit.vmware.ovftool import Ovftool

    return Ovftool(app.host, found, app.clock)
