"""The store's JSON records on the host: read tolerant of damage, written atomically.

Every record (a disk's, a VM's settings, metadata, MACs) goes through these
two functions and a Runner, so a record is never half-written (the runner
writes a temporary file and renames it) and a damaged one reads as empty
instead of failing a BOSH call. This module knows no paths and no layout.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from toolkit.errors import HostFileNotFound
from toolkit.host.runner import Runner

log = logging.getLogger(__name__)

PRIVATE = 0o600


def read_json(runner: Runner, path: str) -> dict[str, Any]:
    """A JSON record; ``HostFileNotFound`` when absent, ``{}`` when damaged (logged)."""
    data = runner.read_bytes(path)
    try:
        value = json.loads(data)
    except ValueError:
        log.warning("ignoring damaged record %s", path)
        return {}
    return value if isinstance(value, dict) else {}


def read_json_or_empty(runner: Runner, path: str) -> dict[str, Any]:
    try:
        return read_json(runner, path)
    except HostFileNotFound:
        return {}


def write_json(runner: Runner, path: str, value: Any, *, mode: int = PRIVATE) -> None:
    data = json.dumps(value, sort_keys=True, indent=1).encode("utf-8")
    runner.write_bytes(path, data, mode=mode)
