"""A VM's agent settings on the host: ``env.json`` (source of truth) and ``env.iso``.

Both files live in the VM's directory and are created 0600 (they hold mbus and
blobstore credentials). ``env.json`` is written first: after a crash between
the two writes, the next ``save`` rebuilds the ISO from the JSON. This module
must not edit the .vmx or run vmrun; the ISO image itself comes from
``toolkit.formats.iso``.
"""

from __future__ import annotations

from typing import Any

from cpi.vm import Vm

ENV_JSON = "env.json"
ENV_ISO = "env.iso"


def iso_path(vm: Vm) -> str:
    return vm.file(ENV_ISO)


def load(vm: Vm) -> dict[str, Any]:
    """The settings as last saved (``HostFileNotFound`` when the VM has none)."""
    return vm.read_record(ENV_JSON)


def save(vm: Vm, settings: dict[str, Any]) -> None:
    from toolkit.formats.iso import settings_iso  # pycdlib: only where an image is really built

    vm.write_record(ENV_JSON, settings)
    vm.write_file(ENV_ISO, settings_iso(settings))
