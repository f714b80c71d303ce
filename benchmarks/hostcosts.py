"""What one program run costs a real VMware host, as simulator knobs.

Typical figures from Workstation 17 / Fusion 13 on a laptop-class host (see
BENCHMARKS.md): every vmrun run pays process start-up and a VIX connection
(~300 ms) before doing anything; power and clone verbs pay their real work on
top. ``scaled`` multiplies every host cost by one factor so that ``make bench``
fits its time budget; the CPIs' own poll intervals are code, not host costs,
and stay as they are. This module only describes costs: it never runs anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HostCosts:
    """Seconds per program run (and the guest's boot time), before scaling."""

    vmrun: float = 0.3  # any vmrun verb not listed below: list, checkToolsState, deleteVM...
    start: float = 2.0
    stop: float = 1.5
    clone: float = 1.0
    boot: float = 5.0  # power-on until VMware Tools answer in the guest
    ovftool_version: float = 0.5  # ovftool -v
    ovftool_import: float = 10.0  # a stemcell's OVF with a few hundred MB of disk
    ovftool_makedisk: float = 2.0  # the reference's empty-disk OVF round trip
    factor: float = 1.0

    def scaled(self, factor: float) -> HostCosts:
        fields = {f.name: getattr(self, f.name) * factor for f in dataclasses.fields(self) if f.name != "factor"}
        return HostCosts(**fields, factor=self.factor * factor)

    def latency(self) -> dict[str, float]:
        """``sim.json`` latency per verb; ovftool's one knob is set per call by the replay."""
        return {
            "default": self.vmrun,
            "start": self.start,
            "stop": self.stop,
            "clone": self.clone,
            "ovftool": self.ovftool_version,
        }

    def sim_knobs(self) -> dict[str, object]:
        return {"boot_delay": self.boot, "latency": self.latency()}

    def table(self) -> list[tuple[str, str]]:
        """(what, seconds) rows for the report, unscaled and as used."""
        unit = self.factor or 1.0
        return [
            (f.name, f"{getattr(self, f.name) / unit:g} s -> {getattr(self, f.name):g} s")
            for f in dataclasses.fields(self)
            if f.name != "factor"
        ]


REAL_HOST = HostCosts()
NO_COSTS = HostCosts(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
