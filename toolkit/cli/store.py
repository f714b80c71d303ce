"""``vmtk store``: what is in a CPI store (``vm_store_path``), and what no CID owns.

Reads the layout through ``cpi.store.Store`` (the one place it is defined) and
the App's runner. ``gc`` is a dry run unless ``--delete``, and it takes the
CPI's own lock before removing anything a CID name could still claim. It must
never touch an entry that a live stemcell, VM, disk or snapshot owns.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from cpi.errors import CpiError
from cpi.ids import Cid, DiskCid, SnapshotCid, StemcellCid, VmCid
from cpi.store import DISKS, LOCKS, SNAPSHOTS, Store
from toolkit.cli.app import App, pass_app
from toolkit.cli.output import emit_rows

STORE = click.argument("root", metavar="STORE_PATH", envvar="VMTK_STORE")
LOCK_WAIT = 30.0
STRUCTURE = frozenset({DISKS, SNAPSHOTS, LOCKS})
PAIRED = {DISKS: DiskCid, SNAPSHOTS: SnapshotCid}


@dataclass(frozen=True, slots=True)
class Orphan:
    path: str
    why: str
    owner: Cid | None = None  # the CID its name claims (locked before removal)


@click.group("store")
def group() -> None:
    """Inspect and clean a CPI store (the CPI's vm_store_path)."""


@group.command("list")
@STORE
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def list_(app: App, root: str, as_json: bool) -> None:
    """List the stemcells, VMs, disks and snapshots in the store."""
    store = Store(app.host, root, lock_timeout=LOCK_WAIT)
    rows = [{"kind": "stemcell", "cid": str(c), "path": store.stemcell_dir(c)} for c in store.stemcell_cids()]
    rows += [{"kind": "vm", "cid": str(c), "path": store.vm_dir(c)} for c in store.vm_cids()]
    for folder, kind in PAIRED.items():
        rows += [{"kind": kind.kind, "cid": str(c), "path": store.join(folder, c.name + ".vmdk")}
                 for c in _paired(store, folder, kind)]
    emit_rows(rows, ("kind", "cid", "path"), as_json=as_json)


@group.command()
@STORE
@click.option("--delete", is_flag=True, help="Really remove them (default: only list them).")
@pass_app
def gc(app: App, root: str, delete: bool) -> None:
    """List (or with --delete, remove) what no stemcell, VM, disk or snapshot owns.

    Use --delete while no CPI call is under way: a stemcell import or a disk
    creation in progress looks unfinished too.
    """
    store = Store(app.host, root, lock_timeout=LOCK_WAIT)
    for orphan in find_orphans(store):
        click.echo(f"{'removed' if delete else 'would remove'} {orphan.path}  ({orphan.why})")
        if delete:
            _remove(store, orphan)


def find_orphans(store: Store) -> list[Orphan]:
    """Entries no CID owns: foreign names, half-created resources, unpaired disk files."""
    found: list[Orphan] = []
    for name in _entries(store, store.root):
        cid = _cid_of(name, (VmCid, StemcellCid))
        vmx = store.join(name, name + ".vmx")
        if name in STRUCTURE:
            continue
        if cid is None:
            found.append(Orphan(store.join(name), "no CID owns this name"))
        elif not store.runner.exists(vmx):
            found.append(Orphan(store.join(name), "no .vmx: an interrupted create", cid))
    for folder, kind in PAIRED.items():
        found += _unpaired(store, folder, kind)
    return found


def _unpaired(store: Store, folder: str, kind: type[Cid]) -> list[Orphan]:
    names = set(_entries(store, store.join(folder)))
    found = []
    for name in sorted(names):
        stem, dot, ext = name.rpartition(".")
        cid = _cid_of(stem, (kind,)) if dot else None
        partner = f"{stem}.{'json' if ext == 'vmdk' else 'vmdk'}"
        if cid is None or ext not in ("vmdk", "json"):
            found.append(Orphan(store.join(folder, name), "no CID owns this name"))
        elif partner not in names:
            found.append(Orphan(store.join(folder, name), f"its {partner} is missing", cid))
    return found


def _paired(store: Store, folder: str, kind: type[Cid]) -> list[Cid]:
    names = set(_entries(store, store.join(folder)))
    stems = sorted(n[: -len(".vmdk")] for n in names if n.endswith(".vmdk"))
    return [c for s in stems if f"{s}.json" in names and (c := _cid_of(s, (kind,))) is not None]


def _cid_of(name: str, kinds: tuple[type[Cid], ...]) -> Cid | None:
    for kind in kinds:
        if name.startswith(kind.prefix):
            try:
                return kind(name[len(kind.prefix):])
            except CpiError:  # a foreign name that only looks like ours
                return None
    return None


def _entries(store: Store, path: str) -> list[str]:
    return store.runner.list_dir(path) if store.runner.is_dir(path) else []


def _remove(store: Store, orphan: Orphan) -> None:
    if orphan.owner is None:
        _remove_path(store, orphan.path)
        return
    # The CPI holds this lock while it creates the resource: never race a create.
    with store.lock_for(orphan.owner):
        if orphan in find_orphans(store):
            _remove_path(store, orphan.path)


def _remove_path(store: Store, path: str) -> None:
    if store.runner.is_dir(path):
        store.runner.remove_tree(path)
    else:
        store.runner.remove(path)
