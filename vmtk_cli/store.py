"""``vmtk store``: what is in a CPI store (``vm_store_path``), and what no CID owns.

A thin layer: the layout is ``cpi.store.Store``'s and what counts as an orphan
(and how one is removed safely, under its owner's lock) is ``cpi.orphans``'.
``gc`` is a dry run unless ``--delete``. This module must not decide by itself
what is an orphan, nor remove anything except through ``remove_orphan``.
"""

from __future__ import annotations

import contextlib

import click

from cpi.orphans import Orphan, OrphanKind, Unregister, find_orphans, remove_orphan
from cpi.store import Store
from toolkit.errors import NotSupportedError, VmNotFoundError, VmxUnreadableError
from toolkit.vmware.vmrun import StopMode
from vmtk_cli.app import App, pass_app
from vmtk_cli.hostpaths import require_dir_if_present
from vmtk_cli.output import emit_rows

STORE = click.argument("root", metavar="STORE_PATH", envvar="VMTK_STORE")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
LOCK_WAIT = 30.0
STORE_WHAT = "CPI store directory, the CPI's vm_store_path"


@click.group("store")
def group() -> None:
    """Inspect and clean a CPI store (the CPI's vm_store_path)."""


@group.command("list")
@STORE
@JSON
@pass_app
def list_(app: App, root: str, as_json: bool) -> None:
    """List the stemcells, VMs, disks and snapshots in the store."""
    require_dir_if_present(app.host, root, STORE_WHAT)
    store = Store(app.host, root, lock_timeout=LOCK_WAIT)
    rows = [{"kind": "stemcell", "cid": str(c), "path": store.stemcell_dir(c)} for c in store.stemcell_cids()]
    rows += [{"kind": "vm", "cid": str(c), "path": store.vm_dir(c)} for c in store.vm_cids()]
    rows += [{"kind": c.kind, "cid": str(c), "path": path} for c, path in store.recorded_files()]
    emit_rows(rows, ("kind", "cid", "path"), as_json=as_json)


@group.command()
@STORE
@click.option("--delete", is_flag=True, help="Really remove them (default: only list them).")
@JSON
@pass_app
def gc(app: App, root: str, delete: bool, as_json: bool) -> None:
    """List (or with --delete, remove) what no stemcell, VM, disk or snapshot owns.

    Use --delete while no CPI call is under way: a stemcell import or a disk
    creation in progress looks unfinished too. Each entry is checked again
    under its resource's lock just before it is removed.
    """
    require_dir_if_present(app.host, root, STORE_WHAT)
    store = Store(app.host, root, lock_timeout=LOCK_WAIT)
    unregister = _unregister(app) if delete and app.has_vmrun() else None
    found = find_orphans(store)
    rows = [_row(orphan, _act(store, orphan, unregister) if delete else "would remove") for orphan in found]
    if as_json:
        emit_rows(rows, (), as_json=True)
        return
    for row in rows:
        click.echo(f"{row['action']} {row['path']}  ({row['why']})")


def _act(store: Store, orphan: Orphan, unregister: Unregister | None) -> str:
    if orphan.kind is OrphanKind.UNFINISHED_VM and unregister is None:
        return "kept (no vmrun to power it off: give --vmrun)"
    return "removed" if remove_orphan(store, orphan, unregister=unregister) else "kept (in use again)"


def _unregister(app: App) -> Unregister:
    """Power a VM off (hard) and unregister it, as delete_vm does; one VMware no longer knows is fine."""

    def unregister(path: str) -> None:
        vmx = app.absolute(path)  # vmrun lists running VMs by absolute path
        if app.vmrun.is_running(vmx):
            app.vmrun.stop(vmx, StopMode.HARD)
        with contextlib.suppress(VmNotFoundError, VmxUnreadableError, NotSupportedError):
            app.vmrun.delete_vm(vmx)

    return unregister


def _row(orphan: Orphan, action: str) -> dict[str, object]:
    owner = orphan.owner
    return {
        "action": action,
        "kind": orphan.kind.value,
        "path": orphan.path,
        "why": orphan.why,
        "owner": None if owner is None else {"kind": owner.kind, "cid": str(owner)},
    }
