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
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from toolkit.host.runner import Runner
from vmtk_cli.app import App, pass_app
from vmtk_cli.hostpaths import require_parent_dir
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
@click.option("--force", is_flag=True, help="Replace what DEST_DIR holds (never a VM that is running).")
@pass_app
def import_(app: App, source: str, dest_dir: str, ovftool: str | None, name: str | None, force: bool) -> None:
    """Import SOURCE into DEST_DIR/NAME.vmx and print the .vmx path.

    SOURCE is a file on this machine; DEST_DIR is on the VMware host. DEST_DIR
    must be new or empty unless --force; its parent directory must exist. With
    --force the new VM replaces the old one only once it is complete.
    """
    host = app.host
    dest_dir = host.path.normpath(dest_dir)
    name = name or host.path.basename(dest_dir)
    require_parent_dir(host, dest_dir)
    held = _contents(host, dest_dir)
    if held and not force:
        raise click.ClickException(
            f"{dest_dir} is not empty (it holds {_shown(held)}): give another DEST_DIR, or --force to replace it"
        )
    if held:
        _refuse_running(app, dest_dir, held)
    target = _staging(host, dest_dir) if held else dest_dir
    try:
        with image_of(source) as image, app.waiting() as display:
            display.step(f"Importing {click.format_filename(source, shorten=True)} into {dest_dir}")
            _import(app, image, host.path.join(target, f"{name}.vmx"), name, ovftool, display.percent)
        if held:
            _swap(host, target, dest_dir)
    except BaseException:
        if held:  # the old VM stays as it was; the new one is dropped (the import removed its own files)
            host.remove_tree(target)
        raise
    click.echo(host.path.join(dest_dir, f"{name}.vmx"))


def _import(app: App, image: str, vmx: str, name: str, ovftool: str | None, progress: Callable[[int], None]) -> None:
    from toolkit.formats.stemcell import (
        import_image,  # tar/OVF/VMDK machinery: only when importing
    )

    import_image(app.host, image, vmx, name=name, ovftool=_ovftool(app, ovftool), progress=progress)


def _contents(host: Runner, directory: str) -> list[str]:
    if host.exists(directory) and not host.is_dir(directory):
        raise click.ClickException(f"{directory} is a file (DEST_DIR must be a directory)")
    return sorted(host.list_dir(directory)) if host.exists(directory) else []


def _shown(names: list[str]) -> str:
    vmx = [n for n in names if n.lower().endswith(".vmx")]
    picked = vmx or names
    return ", ".join(picked[:3]) + (", ..." if len(picked) > 3 else "")


def _refuse_running(app: App, directory: str, names: list[str]) -> None:
    """Never replace a VM VMware has open: running per ``vmrun list``, or holding its ``.lck``."""
    for vmx in (app.host.path.join(directory, n) for n in names if n.lower().endswith(".vmx")):
        if app.host.exists(f"{vmx}.lck") or (app.has_vmrun() and app.vmrun.is_running(app.absolute(vmx))):
            raise click.ClickException(f"{vmx} is running or open in VMware: stop it first (vmtk vm stop VMX)")


def _staging(host: Runner, dest_dir: str) -> str:
    """Where a replacing import is built: next to DEST_DIR (same file system), removed if it fails."""
    return f"{dest_dir}.vmtk-import-{secrets.token_hex(4)}"


def _swap(host: Runner, staged: str, dest_dir: str) -> None:
    """Put the complete new VM in place of the old one; the old one goes only then."""
    old = f"{dest_dir}.vmtk-replaced-{secrets.token_hex(4)}"
    try:
        host.rename(dest_dir, old)
        host.rename(staged, dest_dir)
        host.remove_tree(old)
    except BaseException:  # interrupted: finish if the new VM is in place, else put the old one back
        if host.exists(dest_dir):
            host.remove_tree(old)
        elif host.exists(old):
            host.rename(old, dest_dir)
        raise


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


def _ovftool(app: App, path: str | None) -> Ovftool | None:
    # Over --ssh, this machine's PATH says nothing about the host's: only --ovftool counts.
    local = None if app.settings.ssh else next(filter(None, (shutil.which(n) for n in OVFTOOL_NAMES)), None)
    found = path or local
    if found is None:
        return None
    from toolkit.vmware.ovftool import Ovftool

    return Ovftool(app.host, found, app.clock)
