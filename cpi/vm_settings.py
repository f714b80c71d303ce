"""A VM's agent settings on the host: ``env.json`` (source of truth) and ``env.iso``.

Both files live in the VM's directory and are created 0600 (they hold mbus and
blobstore credentials). ``env.json`` is written first: after a crash between
the two writes, the next ``save`` rebuilds the ISO from the JSON. This module
must not edit the .vmx or run vmrun; the ISO image itself comes from
``toolkit.formats.iso``.
"""

from __future__ import annotations

from typing import Any

from cpi.ids import VmCid
from cpi.store import PRIVATE, Store

ENV_JSON = "env.json"
ENV_ISO = "env.iso"


def iso_path(store: Store, vm: VmCid) -> str:
    return store.vm_file(vm, ENV_ISO)


def load(store: Store, vm: VmCid) -> dict[str, Any]:
    """The settings as last saved (``HostFileNotFound`` when the VM has none)."""
    return store.read_json(store.vm_file(vm, ENV_JSON))


def save(store: Store, vm: VmCid, settings: dict[str, Any]) -> None:
    from toolkit.formats.iso import settings_iso  # pycdlib: only where an image is really built

    store.write_json(store.vm_file(vm, ENV_JSON), settings, mode=PRIVATE)
    store.runner.write_bytes(iso_path(store, vm), settings_iso(settings), mode=PRIVATE)
