"""The VMware host simulator: ``vmrun-sim``, ``ovftool-sim`` and the in-process ``SimHost``.

No machine here has VMware, so everything above the Runner is tested against
this package. It must be faithful: every message, exit code and file effect
comes from captured real behaviour (``fixtures/outputs/``,
``vmware-tools-behaviour.md``). Unlike the rest of the toolkit it touches host
files directly: it *is* the VMware host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmtk_sim.knobs import Platform, Product, SoftStop
from vmtk_sim.state import Power

if TYPE_CHECKING:
    from vmtk_sim.host import AgentStatus, AgentView, ProcessView, SimHost, SimRunner, VmView

# The host model (and pycdlib under it) loads on first use, so that a program that only
# needs the knobs' names (``vmtk``'s option choices) does not pay for it at start-up.
_FROM_HOST = frozenset({"AgentStatus", "AgentView", "ProcessView", "SimHost", "SimRunner", "VmView"})


def __getattr__(name: str) -> Any:
    if name in _FROM_HOST:
        from vmtk_sim import host

        return getattr(host, name)
    raise AttributeError(f"module 'vmtk_sim' has no attribute {name!r}")


__all__ = [
    "AgentStatus",
    "AgentView",
    "Platform",
    "Power",
    "ProcessView",
    "Product",
    "SimHost",
    "SimRunner",
    "SoftStop",
    "VmView",
]
