"""A request's cpi-config properties: which VMware host, store and agent settings this one call is for.

With a cpi-config the director runs the same ``bin/cpi`` for every entry and
tells them apart only through the request: it merges the entry's
``properties`` into ``context`` at the top level, next to its own
``director_uuid``, ``request_id`` and ``vm`` (bosh-director
``lib/cloud/external_cpi.rb``). Those properties have the job's shape:
``vmrun`` and ``agent``, each overriding the rendered config key by key (a
key's value is replaced whole, so ``ssh_tunnel`` is one host's host, user, key
and pin together, never a mix of two hosts). The result is validated by
``CpiConfig`` exactly as the config file is, naming the context's keys as
``context.vmrun.<key>``. Unlike the config file, a key the CPI does not read is
refused: a misspelt key silently ignored would put VMs on the wrong host. This
module only merges and validates; it never logs a value (the context carries
private keys and passwords) and never touches a host.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cpi.config import AGENT_KEYS, VMRUN_KEYS, CpiConfig
from cpi.errors import CpiError
from toolkit.host.ssh.target import SETTINGS as TUNNEL_KEYS

log = logging.getLogger(__name__)

# The context's other keys are the director's own (director_uuid, request_id, vm, and any it adds later): left alone.
SECTIONS: Mapping[str, frozenset[str]] = {"vmrun": VMRUN_KEYS, "agent": AGENT_KEYS}
SUBJECT = "CPI configuration with this request's cpi-config properties"


def for_request(config: CpiConfig, context: Mapping[str, Any]) -> CpiConfig:
    """``config`` with the context's cpi-config properties applied; itself when there are none."""
    overrides = properties_of(context)
    if not overrides:
        return config
    merged = {**config.properties}
    for section, values in overrides.items():
        base = merged.get(section)
        merged[section] = {**(base if isinstance(base, Mapping) else {}), **values}
    given = {f"{section}.{key}" for section, values in overrides.items() for key in values}
    log.info("cpi-config properties in the context: %s", ", ".join(sorted(given)))  # names only, never values
    return CpiConfig.from_properties(merged, name=_namer(given), subject=SUBJECT)  # ConfigError: a CpiError


def properties_of(context: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The ``vmrun``/``agent`` sections of ``context``; ``CpiError`` naming every key the CPI does not read."""
    problems = [_misplaced(key) for key in context if key not in SECTIONS and key in _ALL_KEYS]
    found: dict[str, Mapping[str, Any]] = {}
    for section, known in SECTIONS.items():
        if section not in context:
            continue
        values = context[section]
        if not isinstance(values, Mapping):
            problems.append(f"context.{section} must be an object")
            continue
        problems.extend(_unknown(section, key, known) for key in values if key not in known)
        problems.extend(_tunnel_problems(values.get("ssh_tunnel")) if section == "vmrun" else [])
        found[section] = values
    if problems:
        raise CpiError(f"invalid {SUBJECT}: " + "; ".join(problems))
    return found


_ALL_KEYS = frozenset().union(*SECTIONS.values())


def _misplaced(key: str) -> str:
    section = next(name for name, known in SECTIONS.items() if key in known)
    return f"context.{key} is not read at the top level: put it under '{section}' in the cpi-config's properties"


def _unknown(section: str, key: str, known: frozenset[str]) -> str:
    return f"context.{section}.{key} is not a property of this CPI (known: {', '.join(sorted(known))})"


def _tunnel_problems(tunnel: object) -> list[str]:
    if not isinstance(tunnel, Mapping):
        return []  # absent, or not an object: CpiConfig says so
    return [_unknown("vmrun.ssh_tunnel", key, TUNNEL_KEYS) for key in tunnel if key not in TUNNEL_KEYS]


def _namer(given: set[str]) -> Callable[[str], str]:
    def name(key: str) -> str:
        return f"context.{key}" if key in given else f"cloud.properties.{key}"

    return name
