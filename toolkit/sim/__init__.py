"""The VMware host simulator: ``vmrun-sim``, ``ovftool-sim`` and the in-process ``SimHost``.

No machine here has VMware, so everything above the Runner is tested against
this package. It must be faithful: every message, exit code and file effect
comes from captured real behaviour (``fixtures/outputs/``,
``vmware-tools-behaviour.md``). Unlike the rest of the toolkit it touches host
files directly: it *is* the VMware host.
"""

from __future__ import annotations

from toolkit.sim.host import (
    AgentStatus,
    AgentView,
    ProcessView,
    SimHost,
    SimRunner,
    VmView,
)
from toolkit.sim.knobs import Platform, Product, SoftStop
from toolkit.sim.state import Power

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
