"""``vmtk stemcell``: import a BOSH stemcell (tarball or its ``image``) into a VM.

A thin layer over ``toolkit.stemcell`` (the same import the CPI's
``create_stemcell`` runs): with ovftool when one is given or found, otherwise
ovftool-free (OVF parsed, VMDK converted in pure Python). It must not unpack
archives or parse OVF itself.
"""

from __future__ import annotations

import shutil

import click

from toolkit.cli.app import App, pass_app

OVFTOOL_NAMES = ("ovftool",)


@click.group("stemcell")
def group() -> None:
    """Import BOSH vSphere stemcells as VMware VMs (no ovftool needed)."""


@group.command("import")
@click.argument("source", metavar="IMAGE_OR_STEMCELL_TGZ")
@click.argument("dest_dir", metavar="DEST_DIR")
@click.option("--ovftool", metavar="PATH", help="Use this ovftool (default: 'ovftool' on PATH, else pure Python).")
@click.option("--name", metavar="NAME", help="Name of the VM (default: the name of DEST_DIR).")
@pass_app
def import_(app: App, source: str, dest_dir: str, ovftool: str | None, name: str | None) -> None:
    """Import SOURCE into DEST_DIR/NAME.vmx and print the .vmx path."""
    from toolkit.stemcell import import_image  # tar/OVF/VMDK machinery: only when importing

    host = app.host
    name = name or host.path.basename(host.path.normpath(dest_dir))
    vmx = host.path.join(dest_dir, f"{name}.vmx")
    host.mkdir(dest_dir)
    click.echo(f"Importing {source} ...", err=True)
    import_image(host, source, vmx, name=name, ovftool=_ovftool(app, ovftool))
    click.echo(vmx)


def _ovftool(app: App, path: str | None):  # type: ignore[no-untyped-def]
    found = path or next(filter(None, (shutil.which(n) for n in OVFTOOL_NAMES)), None)
    if found is None:
        return None
    from toolkit.ovftool import Ovftool

    return Ovftool(app.host, found, app.clock)
